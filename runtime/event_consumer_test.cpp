#include "runtime/event_consumer.hpp"

#include <gtest/gtest.h>

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

TEST(PermanentEventError, IsAnInvalidArgument) {
    const PermanentEventError error("no amount");
    EXPECT_EQ(error.Code(), ErrorCode::kInvalidArgument);
    EXPECT_STREQ(error.what(), "no amount");
}

}  // namespace
}  // namespace sagapay
