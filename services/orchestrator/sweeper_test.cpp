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

TEST(Sweeper, NeverTouchesReviewsOrFinalStates) {
    for (const S status : {S::kRiskReview, S::kSettled, S::kFailed, S::kReversed}) {
        EXPECT_FALSE(IsStuck(status, kMoved, kMoved + 24h, 30s)) << ToString(status);
    }
}

}  // namespace
}  // namespace sagapay::orchestrator
