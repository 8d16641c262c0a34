#include "services/psp_sandbox/psp_ledger.hpp"

#include <gtest/gtest.h>

#include "testing/fake_clock.hpp"

namespace sagapay::psp {
namespace {

AuthorizeRequest Request(std::string key, std::string customer, std::int64_t amount = 1500) {
    return AuthorizeRequest{std::move(key), "p-" + customer, std::move(customer), amount, "USD"};
}

TEST(PspLedger, SameKeyReturnsTheSameAuthorizationAndChargesOnce) {
    PspLedger psp(1);

    const auto first = psp.Authorize(Request("auth-1", "force-slow-cust"));
    const auto again = psp.Authorize(Request("auth-1", "force-slow-cust"));

    EXPECT_EQ(first.http_status, 200);
    EXPECT_EQ(again.body.at("authorization_id"), first.body.at("authorization_id"));
    EXPECT_EQ(psp.Records().size(), 1U);
    EXPECT_EQ(psp.Records()[0].at("authorizations"), 1);
}

TEST(PspLedger, ForcedBehavioursFollowTheCustomerPrefix) {
    PspLedger psp(1);

    EXPECT_EQ(psp.Authorize(Request("k-timeout", "FORCE-TIMEOUT-1")).http_status, 504);
    EXPECT_EQ(psp.Find("k-timeout").http_status, 404);  // never processed
    EXPECT_EQ(psp.Authorize(Request("k-decline", "force-decline-1")).http_status, 402);
    EXPECT_EQ(psp.Find("k-decline").body.at("status"), "DECLINED");
    EXPECT_EQ(psp.Authorize(Request("k-lost", "force-lost-response-1")).http_status, 504);
    EXPECT_EQ(psp.Find("k-lost").body.at("status"), "AUTHORIZED");  // charged, answer lost
    EXPECT_EQ(psp.Authorize(Request("k-plain", "cust-1")).http_status, 200);
}

TEST(PspLedger, RandomBehaviourDrawsPerAttemptUntilProcessed) {
    PspLedger psp(42, Behaviour::kRandom);
    int processed = 0;
    for (int i = 0; i < 200; ++i) {
        const std::string key = "k-" + std::to_string(i);
        for (int attempt = 0; attempt < 10 && psp.Find(key).http_status == 404; ++attempt) {
            psp.Authorize(Request(key, "cust-" + std::to_string(i)));
        }
        processed += psp.Find(key).http_status == 200 ? 1 : 0;
    }
    EXPECT_EQ(processed, 200);  // a timeout is not processed, so a later attempt draws again
    EXPECT_EQ(BehaviourFor("Force-Random-x"), Behaviour::kRandom);
    EXPECT_EQ(BehaviourFor("cust-1", Behaviour::kRandom), Behaviour::kRandom);
}

TEST(PspLedger, CapturesOnceAndRefusesASecondCaptureKey) {
    PspLedger psp(1);
    ASSERT_EQ(psp.Authorize(Request("auth-2", "force-slow")).http_status, 200);

    EXPECT_EQ(psp.Capture("auth-2", "cap-2").http_status, 200);
    EXPECT_EQ(psp.Capture("auth-2", "cap-2").http_status, 200);
    EXPECT_EQ(psp.Capture("auth-2", "cap-other").http_status, 409);
    EXPECT_EQ(psp.Find("auth-2").body.at("captures"), 1);
    EXPECT_EQ(psp.Void("auth-2").http_status, 409);
}

TEST(PspLedger, VoidReleasesAnUncapturedAuthorization) {
    PspLedger psp(1);
    ASSERT_EQ(psp.Authorize(Request("k-lost", "force-lost-response")).http_status, 504);

    EXPECT_EQ(psp.Void("k-lost").http_status, 200);
    EXPECT_EQ(psp.Find("k-lost").body.at("status"), "VOIDED");
    EXPECT_EQ(psp.Capture("k-lost", "cap").http_status, 409);
    EXPECT_EQ(psp.Void("never-seen").http_status, 404);
}

TEST(PspLedger, SeededDrawKeepsTheSeedsWeights) {
    int success = 0;
    int timeout = 0;
    int decline = 0;
    for (int i = 0; i < 10000; ++i) {
        switch (Draw(42, "key-" + std::to_string(i), 0)) {
            case Outcome::kAuthorized:
                ++success;
                break;
            case Outcome::kTimeout:
                ++timeout;
                break;
            case Outcome::kDeclined:
                ++decline;
                break;
        }
    }
    EXPECT_NEAR(success, 7000, 300);
    EXPECT_NEAR(timeout, 2000, 300);
    EXPECT_NEAR(decline, 1000, 300);
    EXPECT_EQ(Draw(42, "key-1", 0), Draw(42, "key-1", 0));
}

TEST(PspLedger, RefusesTheSameKeyForAnotherAmount) {
    PspLedger psp(1);
    ASSERT_EQ(psp.Authorize(Request("auth-3", "force-slow", 100)).http_status, 200);

    EXPECT_EQ(psp.Authorize(Request("auth-3", "force-slow", 999)).http_status, 409);
}

TEST(PspLedger, ForceLateAnswersATimeoutAndAuthorizesSecondsLater) {
    testing::FakeClock clock;
    PspLedger psp(1, Behaviour::kApprove, clock, std::chrono::seconds(5));

    EXPECT_EQ(psp.Authorize(Request("k-late", "force-late-1")).http_status, 504);
    EXPECT_EQ(psp.Find("k-late").http_status, 404);  // the inquiry: nothing processed
    EXPECT_EQ(psp.Void("k-late").http_status, 404);  // the void: nothing to void
    EXPECT_EQ(psp.Authorize(Request("k-late", "force-late-1")).http_status, 504);
    clock.Advance(std::chrono::seconds(5));

    const auto found = psp.Find("k-late");
    ASSERT_EQ(found.http_status, 200);
    EXPECT_EQ(found.body.at("status"), "AUTHORIZED");  // held after all
    EXPECT_EQ(found.body.at("authorizations"), 1);
    EXPECT_EQ(psp.Void("k-late").body.at("status"), "VOIDED");
}

TEST(PspLedger, RefundsACaptureOnceUnderItsKey) {
    PspLedger psp(1);
    ASSERT_EQ(psp.Authorize(Request("auth-4", "c")).http_status, 200);
    EXPECT_EQ(psp.Refund("auth-4", "refund-4").http_status, 409);  // not captured
    ASSERT_EQ(psp.Capture("auth-4", "cap-4").http_status, 200);

    EXPECT_EQ(psp.Refund("auth-4", "refund-4").http_status, 200);
    EXPECT_EQ(psp.Refund("auth-4", "refund-4").http_status, 200);  // the same call again
    EXPECT_EQ(psp.Refund("auth-4", "refund-other").http_status, 409);
    EXPECT_EQ(psp.Find("auth-4").body.at("status"), "REFUNDED");
    EXPECT_EQ(psp.Refund("never", "r").http_status, 404);
}

}  // namespace
}  // namespace sagapay::psp
