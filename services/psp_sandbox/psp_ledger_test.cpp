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

TEST(PspLedger, ForceErrorAnswers503UnprocessedOr500ProcessedAndConvergesOnRetry) {
    EXPECT_EQ(BehaviourFor("Force-Error-7"), Behaviour::kError);
    PspLedger psp(7);
    int unprocessed = 0;
    int processed_500 = 0;
    int answered = 0;
    for (int i = 0; i < 200; ++i) {
        const std::string key = "auth-e" + std::to_string(i);
        const auto first = psp.Authorize(Request(key, "force-error-" + std::to_string(i)));
        if (first.http_status == 503) {
            ++unprocessed;
            EXPECT_EQ(psp.Find(key).http_status, 404) << "a 503 leaves nothing behind";
        } else if (first.http_status == 500) {
            ++processed_500;
            EXPECT_EQ(psp.Find(key).body.at("status"), "AUTHORIZED") << "a 500 was processed";
        } else {
            ++answered;
            EXPECT_EQ(first.http_status, 200);
        }
        // The caller retries under the same key: it ends authorized, once.
        int status = first.http_status;
        for (int attempt = 0; attempt < 30 && status != 200; ++attempt) {
            status = psp.Authorize(Request(key, "force-error-" + std::to_string(i))).http_status;
        }
        EXPECT_EQ(status, 200) << key;
        EXPECT_EQ(psp.Find(key).body.at("authorizations"), 1);
    }
    // The seeded shares: 35 % / 35 % / 30 %.
    EXPECT_GT(unprocessed, 45);
    EXPECT_GT(processed_500, 45);
    EXPECT_GT(answered, 35);
}

TEST(PspLedger, ForceErrorCapturesAtMostOnceWhateverItAnswers) {
    PspLedger psp(11);
    int captured_behind_500 = 0;
    for (int i = 0; i < 100; ++i) {
        const std::string key = "auth-c" + std::to_string(i);
        const auto request = Request(key, "force-error-c");
        for (int attempt = 0; attempt < 30 && psp.Authorize(request).http_status != 200;
             ++attempt) {
        }
        const std::string capture_key = "cap-c" + std::to_string(i);
        int status = psp.Capture(key, capture_key).http_status;
        if (status == 500) {
            EXPECT_EQ(psp.Find(key).body.at("status"), "CAPTURED");
            ++captured_behind_500;
        } else if (status == 503) {
            EXPECT_EQ(psp.Find(key).body.at("status"), "AUTHORIZED");
        }
        for (int attempt = 0; attempt < 30 && status != 200; ++attempt) {
            status = psp.Capture(key, capture_key).http_status;
        }
        EXPECT_EQ(status, 200);
        EXPECT_EQ(psp.Find(key).body.at("captures"), 1);
    }
    EXPECT_GT(captured_behind_500, 15);
    // Deterministic for a seed, different across seeds.
    int same = 0;
    for (int call = 0; call < 50; ++call) {
        EXPECT_EQ(DrawError(3, "k", "capture", call), DrawError(3, "k", "capture", call));
        same += DrawError(3, "k", "capture", call) == DrawError(4, "k", "capture", call) ? 1 : 0;
    }
    EXPECT_LT(same, 50);
}

}  // namespace
}  // namespace sagapay::psp
