#include "runtime/event_consumer.hpp"

#include <gtest/gtest.h>

#include "testing/fake_clock.hpp"

namespace sagapay {
namespace {

TEST(ActionForFailure, RetryableCodesAreRetriedAtOnce) {
    EXPECT_EQ(ActionForFailure(ErrorCode::kAborted), FailureAction::kRetryNow);
    EXPECT_EQ(ActionForFailure(ErrorCode::kUnavailable), FailureAction::kRetryNow);
}

TEST(ActionForFailure, AnEventThatCanNeverSucceedIsParkedAtOnce) {
    EXPECT_EQ(ActionForFailure(ErrorCode::kInvalidArgument), FailureAction::kDeadLetterNow);
    EXPECT_EQ(ActionForFailure(ErrorCode::kFailedPrecondition), FailureAction::kDeadLetterNow);
    EXPECT_EQ(ActionForFailure(ErrorCode::kNotFound), FailureAction::kDeadLetterNow);
}

TEST(ActionForFailure, UnknownOutcomesAndBugsWaitForRedelivery) {
    // A duplicate key is not retried on the spot (the consumer used to): it only repeats.
    EXPECT_EQ(ActionForFailure(ErrorCode::kAlreadyExists), FailureAction::kRedeliverLater);
    EXPECT_EQ(ActionForFailure(ErrorCode::kDeadlineExceeded), FailureAction::kRedeliverLater);
    EXPECT_EQ(ActionForFailure(ErrorCode::kInternal), FailureAction::kRedeliverLater);
}

TEST(RedeliveryPolicy, DelaysDoubleFromTheInitialDelayUpToTheCap) {
    using namespace std::chrono_literals;
    const RedeliveryPolicy policy{15s, 5min, 30min};

    EXPECT_EQ(policy.DelayAfter(1), 15s);
    EXPECT_EQ(policy.DelayAfter(2), 30s);
    EXPECT_EQ(policy.DelayAfter(3), 60s);
    EXPECT_EQ(policy.DelayAfter(4), 120s);
    EXPECT_EQ(policy.DelayAfter(5), 240s);
    EXPECT_EQ(policy.DelayAfter(6), 5min);
    EXPECT_EQ(policy.DelayAfter(1'000'000), 5min);  // no overflow
}

TEST(RedeliveryPolicy, DefaultsBackOffAndParkOnlyAfterHalfAnHour) {
    using namespace std::chrono_literals;
    const RedeliveryPolicy policy;
    EXPECT_GE(policy.park_after, 30min);
    EXPECT_GT(policy.DelayAfter(3), policy.DelayAfter(1));
}

TEST(RedeliveryPolicy, ParksOnlyOnceTheHorizonSinceTheFirstFailureHasPassed) {
    using namespace std::chrono_literals;
    const RedeliveryPolicy policy{15s, 5min, 30min};
    testing::FakeClock clock;
    const auto first_failure = clock.Now();

    // What the old consumer did: 5 deliveries x 15 s, then parked. Not any more.
    clock.Advance(75s);
    EXPECT_FALSE(policy.ParkNow(first_failure, clock.Now()));
    // Failing all along, each retry after its delay: still not parked before 30 min.
    clock.Set(first_failure);
    std::int64_t failures = 1;
    while (clock.Now() + policy.DelayAfter(failures) - first_failure < 30min) {
        clock.Advance(policy.DelayAfter(failures));
        ++failures;
        EXPECT_FALSE(policy.ParkNow(first_failure, clock.Now())) << failures;
    }
    EXPECT_LE(failures, 12);  // 15+30+60+120+240 s, then every 5 min
    clock.Advance(policy.DelayAfter(failures));
    EXPECT_TRUE(policy.ParkNow(first_failure, clock.Now()));
}

TEST(PermanentEventError, IsAnInvalidArgument) {
    const PermanentEventError error("no amount");
    EXPECT_EQ(error.Code(), ErrorCode::kInvalidArgument);
    EXPECT_STREQ(error.what(), "no amount");
}

}  // namespace
}  // namespace sagapay
