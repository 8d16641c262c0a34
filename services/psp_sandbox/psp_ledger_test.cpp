#include "services/psp_sandbox/psp_ledger.hpp"

#include <cstdint>
#include <optional>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

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

// --- Partial capture, partial and multiple refunds (issue 18) --------------------------------

/// An authorization of `amount` for an approved customer, captured for `captured` (0: all).
void AuthorizeAndCapture(
    PspLedger& psp, const std::string& key, std::int64_t amount, std::int64_t captured = 0
) {
    ASSERT_EQ(psp.Authorize(Request(key, "cust-" + key, amount)).http_status, 200);
    const auto answer = psp.Capture(
        key, "cap-" + key, captured == 0 ? std::nullopt : std::optional<std::int64_t>(captured)
    );
    ASSERT_EQ(answer.http_status, 200) << answer.body.dump();
}

TEST(PspLedger, CapturesPartOfAnAuthorizationOnceAndRecordsTheAmount) {
    PspLedger psp(1);
    ASSERT_EQ(psp.Authorize(Request("auth-p", "c", 1500)).http_status, 200);

    const auto captured = psp.Capture("auth-p", "cap-p", 600);

    ASSERT_EQ(captured.http_status, 200);
    EXPECT_EQ(captured.body.at("status"), "CAPTURED");
    EXPECT_EQ(captured.body.at("captured_amount_cents"), 600);
    EXPECT_EQ(captured.body.at("amount_cents"), 1500);  // what was authorized, unchanged
    EXPECT_EQ(captured.body.at("refunded_amount_cents"), 0);
    EXPECT_EQ(captured.body.at("refunds"), nlohmann::json::array());
    // A capture is one event: its key replays for its amount, nothing else captures.
    EXPECT_EQ(psp.Capture("auth-p", "cap-p", 600).http_status, 200);
    EXPECT_EQ(psp.Capture("auth-p", "cap-p", 700).body.at("error"), "idempotency_key_reused");
    EXPECT_EQ(psp.Capture("auth-p", "cap-p").http_status, 409);  // all is another amount
    EXPECT_EQ(psp.Capture("auth-p", "cap-other", 100).body.at("error"), "already_captured");
    const auto found = psp.Find("auth-p").body;
    EXPECT_EQ(found.at("captures"), 1);
    EXPECT_EQ(found.at("captured_amount_cents"), 600);
}

TEST(PspLedger, CaptureOutsideOneToTheAuthorizedAmountIs422AndCapturesNothing) {
    PspLedger psp(1);
    ASSERT_EQ(psp.Authorize(Request("auth-x", "c", 1500)).http_status, 200);

    for (const std::int64_t amount : {std::int64_t{1501}, std::int64_t{0}, std::int64_t{-5}}) {
        const auto answer = psp.Capture("auth-x", "cap-x", amount);
        EXPECT_EQ(answer.http_status, 422) << amount;
        EXPECT_EQ(answer.body.at("error"), "invalid_amount");
        EXPECT_TRUE(answer.body.at("message").is_string());
    }
    EXPECT_EQ(psp.Find("auth-x").body.at("status"), "AUTHORIZED");
    EXPECT_EQ(psp.Find("auth-x").body.at("captures"), 0);

    const auto whole = psp.Capture("auth-x", "cap-x");  // no amount: all of it, as before
    EXPECT_EQ(whole.http_status, 200);
    EXPECT_EQ(whole.body.at("captured_amount_cents"), 1500);
    EXPECT_EQ(psp.Capture("auth-x", "cap-x", 1500).http_status, 200);  // the same amount
    EXPECT_EQ(psp.Capture("never", "cap", 1).http_status, 404);
}

TEST(PspLedger, PartialRefundsAddUpToTheCaptureAndNoFurther) {
    PspLedger psp(1);
    AuthorizeAndCapture(psp, "auth-r", 1500, 1000);

    const auto first = psp.Refund("auth-r", "refund-a", 300);
    ASSERT_EQ(first.http_status, 200);
    EXPECT_EQ(first.body.at("status"), "CAPTURED");  // partly refunded is still captured
    EXPECT_EQ(first.body.at("refunded_amount_cents"), 300);
    const auto second = psp.Refund("auth-r", "refund-b", 500);
    ASSERT_EQ(second.http_status, 200);
    EXPECT_EQ(second.body.at("status"), "CAPTURED");
    EXPECT_EQ(second.body.at("refunded_amount_cents"), 800);

    const auto third = psp.Refund("auth-r", "refund-c", 300);  // 200 left of the 1000
    EXPECT_EQ(third.http_status, 409);
    EXPECT_EQ(third.body.at("error"), "refund_exceeds_captured");

    const auto record = psp.Find("auth-r").body;
    EXPECT_EQ(record.at("status"), "CAPTURED");
    EXPECT_EQ(record.at("refunded_amount_cents"), 800);
    EXPECT_EQ(
        record.at("refunds"),
        nlohmann::json::parse(R"([{"refund_key":"refund-a","amount_cents":300},)"
                              R"({"refund_key":"refund-b","amount_cents":500}])")
    );
    EXPECT_EQ(psp.FindRefund("auth-r", "refund-c").http_status, 404);  // refused: not made
    EXPECT_EQ(psp.Refund("auth-r", "refund-c", 0).http_status, 422);
    EXPECT_EQ(psp.Refund("auth-r", "refund-c", -1).http_status, 422);
    EXPECT_EQ(psp.Records()[0].at("refunds").size(), 2U);
}

TEST(PspLedger, TheSameRefundKeyReplaysItsRefundAndIsRefusedForAnotherAmount) {
    PspLedger psp(1);
    AuthorizeAndCapture(psp, "auth-k", 1000);
    ASSERT_EQ(psp.Refund("auth-k", "refund-1", 300).http_status, 200);

    EXPECT_EQ(psp.Refund("auth-k", "refund-1", 300).http_status, 200);
    EXPECT_EQ(psp.Refund("auth-k", "refund-1").http_status, 200);  // no amount: the same refund
    const auto other = psp.Refund("auth-k", "refund-1", 400);
    EXPECT_EQ(other.http_status, 409);
    EXPECT_EQ(other.body.at("error"), "idempotency_key_reused");

    const auto record = psp.Find("auth-k").body;
    EXPECT_EQ(record.at("refunded_amount_cents"), 300) << "refunded once";
    EXPECT_EQ(record.at("refunds").size(), 1U);
    EXPECT_EQ(record.at("status"), "CAPTURED");
}

TEST(PspLedger, ARefundWithoutAmountRefundsTheRestAndOnlyAFullRefundIsRefunded) {
    PspLedger psp(1);
    AuthorizeAndCapture(psp, "auth-f", 1500);
    ASSERT_EQ(psp.Refund("auth-f", "refund-1", 500).http_status, 200);
    EXPECT_EQ(psp.Find("auth-f").body.at("status"), "CAPTURED");

    const auto rest = psp.Refund("auth-f", "refund-all");

    ASSERT_EQ(rest.http_status, 200);
    EXPECT_EQ(rest.body.at("status"), "REFUNDED");
    EXPECT_EQ(rest.body.at("refunded_amount_cents"), 1500);
    EXPECT_EQ(psp.FindRefund("auth-f", "refund-all").body.at("amount_cents"), 1000);
    EXPECT_EQ(psp.Refund("auth-f", "refund-all").http_status, 200);  // replayed
    EXPECT_EQ(psp.Refund("auth-f", "refund-more").body.at("error"), "already_refunded");
    EXPECT_EQ(psp.Refund("auth-f", "refund-more", 1).body.at("error"), "refund_exceeds_captured");
    EXPECT_EQ(psp.Find("auth-f").body.at("refunded_amount_cents"), 1500);

    // Partials that reach the capture exactly make it REFUNDED as well.
    AuthorizeAndCapture(psp, "auth-g", 1500, 1000);
    ASSERT_EQ(psp.Refund("auth-g", "refund-1", 400).body.at("status"), "CAPTURED");
    EXPECT_EQ(psp.Refund("auth-g", "refund-2", 600).body.at("status"), "REFUNDED");
    EXPECT_EQ(psp.Refund("auth-g", "refund-3").http_status, 409);
}

TEST(PspLedger, RefundInquiryFindsARefundByItsKey) {
    PspLedger psp(1);
    AuthorizeAndCapture(psp, "auth-i", 900);
    ASSERT_EQ(psp.Refund("auth-i", "refund-1", 250).http_status, 200);

    const auto found = psp.FindRefund("auth-i", "refund-1");
    EXPECT_EQ(found.http_status, 200);
    EXPECT_EQ(
        found.body,
        nlohmann::json::parse(R"({"refund_key":"refund-1","amount_cents":250,"status":"SUCCEEDED"})"
        )
    );
    EXPECT_EQ(psp.FindRefund("auth-i", "refund-2").http_status, 404);
    EXPECT_EQ(psp.FindRefund("auth-i", "refund-2").body.at("error"), "not_found");
    EXPECT_EQ(psp.FindRefund("never", "refund-1").http_status, 404);
}

TEST(PspLedger, ForceErrorRefundsDrawTheirOwnSeededErrorsAndRefundAtMostOnce) {
    constexpr std::uint64_t kSeed = 13;
    PspLedger psp(kSeed);
    int refunded_behind_500 = 0;
    int unprocessed = 0;
    for (int i = 0; i < 100; ++i) {
        const std::string key = "auth-e" + std::to_string(i);
        const auto request = Request(key, "force-error-r", 1000);
        for (int attempt = 0; attempt < 30 && psp.Authorize(request).http_status != 200;
             ++attempt) {
        }
        for (int attempt = 0; attempt < 30 && psp.Capture(key, "cap", 800).http_status != 200;
             ++attempt) {
        }
        ASSERT_EQ(psp.Find(key).body.at("status"), "CAPTURED");
        const std::string refund_key = "refund-" + std::to_string(i);

        int status = psp.Refund(key, refund_key, 300).http_status;

        // The first refund call under this key answers the sandbox's seeded draw for "refund".
        switch (DrawError(kSeed, key, "refund", 0)) {
            case ErrorDraw::kUnprocessed503:
                EXPECT_EQ(status, 503);
                EXPECT_EQ(psp.FindRefund(key, refund_key).http_status, 404) << "nothing done";
                EXPECT_EQ(psp.Find(key).body.at("refunded_amount_cents"), 0);
                ++unprocessed;
                break;
            case ErrorDraw::kProcessed500:
                EXPECT_EQ(status, 500);
                EXPECT_EQ(psp.FindRefund(key, refund_key).http_status, 200) << "refunded";
                ++refunded_behind_500;
                break;
            case ErrorDraw::kNone:
                EXPECT_EQ(status, 200);
                break;
        }
        for (int attempt = 0; attempt < 30 && status != 200; ++attempt) {
            status = psp.Refund(key, refund_key, 300).http_status;
        }
        EXPECT_EQ(status, 200);
        const auto record = psp.Find(key).body;
        EXPECT_EQ(record.at("refunded_amount_cents"), 300) << "refunded once";
        EXPECT_EQ(record.at("refunds").size(), 1U);
    }
    EXPECT_GT(refunded_behind_500, 15);
    EXPECT_GT(unprocessed, 15);
    // A customer without force-error never gets one.
    AuthorizeAndCapture(psp, "auth-plain", 100);
    for (int i = 0; i < 20; ++i) {
        EXPECT_EQ(psp.Refund("auth-plain", "refund-plain", 10).http_status, 200);
    }
}

}  // namespace
}  // namespace sagapay::psp
