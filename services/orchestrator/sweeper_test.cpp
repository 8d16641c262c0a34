#include "services/orchestrator/sweeper.hpp"

#include <gtest/gtest.h>

namespace sagapay::orchestrator {
namespace {

using namespace std::chrono_literals;
using S = PaymentStatus;

const Clock::TimePoint kMoved = Clock::TimePoint(std::chrono::seconds(1'800'000'000));

TEST(Sweeper, FindsPaymentsWaitingOnAServiceTooLong) {
    for (const S status : {S::kCreated, S::kApproved, S::kAuthorized, S::kCaptured}) {
        EXPECT_TRUE(IsStuck(status, kMoved, kMoved + 31s, 30s)) << ToString(status);
        EXPECT_FALSE(IsStuck(status, kMoved, kMoved + 30s, 30s)) << ToString(status);
        EXPECT_FALSE(IsStuck(status, kMoved, kMoved + 1s, 30s)) << ToString(status);
    }
}

TEST(Sweeper, EachRedriveDoublesTheWaitBeforeTheNextUpToACap) {
    EXPECT_FALSE(IsStuck(S::kApproved, kMoved, kMoved + 59s, 30s, 1));
    EXPECT_TRUE(IsStuck(S::kApproved, kMoved, kMoved + 61s, 30s, 1));
    EXPECT_FALSE(IsStuck(S::kApproved, kMoved, kMoved + 119s, 30s, 2));
    EXPECT_TRUE(IsStuck(S::kApproved, kMoved, kMoved + 121s, 30s, 2));
    // Capped at 2^6: a payment re-driven 100 times still gets a try every 32 minutes.
    EXPECT_FALSE(IsStuck(S::kCaptured, kMoved, kMoved + 1919s, 30s, 100));
    EXPECT_TRUE(IsStuck(S::kCaptured, kMoved, kMoved + 1921s, 30s, 100));
    EXPECT_TRUE(IsStuck(S::kCaptured, kMoved, kMoved + 31s, 30s, -1));  // treated as 0
}

TEST(Sweeper, NeverTouchesFinalStates) {
    for (const S status : {S::kSettled, S::kFailed, S::kReversed}) {
        EXPECT_FALSE(IsStuck(status, kMoved, kMoved + 24h, 30s)) << ToString(status);
    }
}

TEST(Sweeper, ReDrivesAReviewWhoseDecisionMayHaveBeenLost) {
    EXPECT_TRUE(IsStuck(S::kRiskReview, kMoved, kMoved + 31s, 30s));
}

}  // namespace
}  // namespace sagapay::orchestrator
