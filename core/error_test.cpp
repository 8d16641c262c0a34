#include "core/error.hpp"

#include <gtest/gtest.h>

namespace sagapay {
namespace {

TEST(ErrorCode, OnlyUnavailableAndAbortedAreRetryable) {
    for (const ErrorCode code :
         {ErrorCode::kInvalidArgument,
          ErrorCode::kNotFound,
          ErrorCode::kAlreadyExists,
          ErrorCode::kFailedPrecondition,
          ErrorCode::kDeadlineExceeded,
          ErrorCode::kInternal}) {
        EXPECT_FALSE(IsRetryable(code)) << ToString(code);
    }
    EXPECT_TRUE(IsRetryable(ErrorCode::kUnavailable));
    EXPECT_TRUE(IsRetryable(ErrorCode::kAborted));
}

TEST(ErrorCode, HasAStableName) {
    EXPECT_STREQ(ToString(ErrorCode::kInvalidArgument), "invalid_argument");
    EXPECT_STREQ(ToString(ErrorCode::kNotFound), "not_found");
    EXPECT_STREQ(ToString(ErrorCode::kAlreadyExists), "already_exists");
    EXPECT_STREQ(ToString(ErrorCode::kFailedPrecondition), "failed_precondition");
    EXPECT_STREQ(ToString(ErrorCode::kAborted), "aborted");
    EXPECT_STREQ(ToString(ErrorCode::kUnavailable), "unavailable");
    EXPECT_STREQ(ToString(ErrorCode::kDeadlineExceeded), "deadline_exceeded");
    EXPECT_STREQ(ToString(ErrorCode::kInternal), "internal");
}

TEST(Exception, CarriesItsCodeAndMessage) {
    const Exception e(Error{ErrorCode::kAborted, "conflict", "", ""});
    EXPECT_EQ(e.Code(), ErrorCode::kAborted);
    EXPECT_STREQ(e.what(), "conflict");
}

}  // namespace
}  // namespace sagapay
