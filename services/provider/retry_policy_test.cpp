#include "services/provider/retry_policy.hpp"

#include <gtest/gtest.h>

namespace sagapay::provider {
namespace {

using namespace std::chrono_literals;
const Clock::TimePoint kNow = Clock::TimePoint(std::chrono::seconds(1'800'000'000));

TEST(RetryPolicy, TimeoutSchedulesAnInquiryWithTheSeedsBackoff) {
    const RetryPolicy seed;

    EXPECT_EQ(AfterAuthorize(1, PspOutcome::kUnknown, kNow, seed).at, kNow + 1s);
    EXPECT_EQ(AfterAuthorize(2, PspOutcome::kUnknown, kNow, seed).at, kNow + 2s);
    EXPECT_EQ(AfterAuthorize(3, PspOutcome::kUnknown, kNow, seed).at, kNow + 4s);
    EXPECT_EQ(AfterAuthorize(3, PspOutcome::kUnknown, kNow, seed).kind, ActionKind::kRetryLater);
}

TEST(RetryPolicy, SuccessAndDeclineEndAtOnce) {
    const RetryPolicy seed;

    EXPECT_EQ(AfterAuthorize(1, PspOutcome::kAuthorized, kNow, seed).kind, ActionKind::kAuthorized);
    EXPECT_EQ(AfterAuthorize(2, PspOutcome::kDeclined, kNow, seed).kind, ActionKind::kDeclined);
}

TEST(RetryPolicy, InquiryThatFindsTheChargeNeverAuthorizesAgain) {
    const RetryPolicy seed;

    EXPECT_EQ(AfterInquiry(1, PspOutcome::kAuthorized, kNow, seed).kind, ActionKind::kAuthorized);
    EXPECT_EQ(AfterInquiry(3, PspOutcome::kAuthorized, kNow, seed).kind, ActionKind::kAuthorized);
    EXPECT_EQ(AfterInquiry(2, PspOutcome::kDeclined, kNow, seed).kind, ActionKind::kDeclined);
}

TEST(RetryPolicy, AVoidedOrRefundedKeyIsNeverReadAsAuthorized) {
    const RetryPolicy seed;

    EXPECT_EQ(AfterInquiry(1, PspOutcome::kVoided, kNow, seed).kind, ActionKind::kGiveUp);
    EXPECT_EQ(AfterInquiry(1, PspOutcome::kRefunded, kNow, seed).kind, ActionKind::kGiveUp);
    EXPECT_EQ(AfterAuthorize(2, PspOutcome::kVoided, kNow, seed).kind, ActionKind::kGiveUp);
    EXPECT_EQ(AfterInquiry(1, PspOutcome::kCaptured, kNow, seed).kind, ActionKind::kAuthorized);
}

TEST(RetryPolicy, StepRetriesBackOffExponentiallyUpToTheCap) {
    const RetryPolicy policy{{100ms}, {}, 1s};

    EXPECT_EQ(StepRetryDelay(0, policy), 100ms);
    EXPECT_EQ(StepRetryDelay(1, policy), 200ms);
    EXPECT_EQ(StepRetryDelay(3, policy), 800ms);
    EXPECT_EQ(StepRetryDelay(4, policy), 1s);
    EXPECT_EQ(StepRetryDelay(400, policy), 1s);
}

TEST(RetryPolicy, JanitorChecksFollowTheScheduleThenStop) {
    const RetryPolicy policy{{1s}, {30s, 5min}, 60s};

    EXPECT_EQ(NextJanitorCheck(0, kNow, policy), kNow + 30s);
    EXPECT_EQ(NextJanitorCheck(1, kNow, policy), kNow + 5min);
    EXPECT_EQ(NextJanitorCheck(2, kNow, policy), std::nullopt);
}

TEST(RetryPolicy, RetriesOnlyWhatTheInquiryProvedNeverHappened) {
    const RetryPolicy seed;

    const Action second = AfterInquiry(1, PspOutcome::kNotFound, kNow, seed);
    EXPECT_EQ(second.kind, ActionKind::kAuthorizeNow);
    EXPECT_EQ(second.attempt, 2);
    EXPECT_EQ(AfterInquiry(3, PspOutcome::kNotFound, kNow, seed).kind, ActionKind::kGiveUp);
}

TEST(RetryPolicy, UnansweredInquiryAsksAgainThenGivesUp) {
    const RetryPolicy seed;

    const Action again = AfterInquiry(1, PspOutcome::kUnknown, kNow, seed);
    EXPECT_EQ(again.kind, ActionKind::kRetryLater);
    EXPECT_EQ(again.at, kNow + 1s);
    EXPECT_EQ(AfterInquiry(3, PspOutcome::kUnknown, kNow, seed).kind, ActionKind::kGiveUp);
}

TEST(RetryPolicy, FollowsAConfiguredBackoff) {
    const RetryPolicy fast{{10ms, 20ms}};

    EXPECT_EQ(AfterAuthorize(1, PspOutcome::kUnknown, kNow, fast).at, kNow + 10ms);
    EXPECT_EQ(AfterInquiry(1, PspOutcome::kNotFound, kNow, fast).kind, ActionKind::kAuthorizeNow);
    EXPECT_EQ(AfterInquiry(2, PspOutcome::kNotFound, kNow, fast).kind, ActionKind::kGiveUp);
}

}  // namespace
}  // namespace sagapay::provider
