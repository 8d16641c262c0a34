#include "adapters/postgres/sql_error.hpp"

#include <gtest/gtest.h>

namespace sagapay::postgres {
namespace {

TEST(ErrorCodeFromSqlStateTest, FollowsTheDocumentedTable) {
    EXPECT_EQ(ErrorCodeFromSqlState("40001"), ErrorCode::kAborted);  // serialization_failure
    EXPECT_EQ(ErrorCodeFromSqlState("40P01"), ErrorCode::kAborted);  // deadlock_detected
    EXPECT_EQ(ErrorCodeFromSqlState("23505"), ErrorCode::kAlreadyExists);
    EXPECT_EQ(ErrorCodeFromSqlState("57014"), ErrorCode::kDeadlineExceeded);  // query_canceled
    EXPECT_EQ(ErrorCodeFromSqlState("55P03"), ErrorCode::kAborted);           // lock_timeout
    EXPECT_EQ(ErrorCodeFromSqlState("08000"), ErrorCode::kUnavailable);
    EXPECT_EQ(ErrorCodeFromSqlState("08006"), ErrorCode::kUnavailable);
    EXPECT_EQ(ErrorCodeFromSqlState("08P01"), ErrorCode::kUnavailable);
    EXPECT_EQ(ErrorCodeFromSqlState("22001"), ErrorCode::kInvalidArgument);
    EXPECT_EQ(ErrorCodeFromSqlState("22P02"), ErrorCode::kInvalidArgument);
    EXPECT_EQ(ErrorCodeFromSqlState("23502"), ErrorCode::kInvalidArgument);  // not_null
    EXPECT_EQ(ErrorCodeFromSqlState("23503"), ErrorCode::kInvalidArgument);  // foreign_key
    EXPECT_EQ(ErrorCodeFromSqlState("23514"), ErrorCode::kInvalidArgument);  // check
    EXPECT_EQ(ErrorCodeFromSqlState("40000"), ErrorCode::kInternal);
    EXPECT_EQ(ErrorCodeFromSqlState("42601"), ErrorCode::kInternal);  // syntax_error
    EXPECT_EQ(ErrorCodeFromSqlState("42P01"), ErrorCode::kInternal);  // undefined_table
    EXPECT_EQ(ErrorCodeFromSqlState("57P01"), ErrorCode::kInternal);
    EXPECT_EQ(ErrorCodeFromSqlState("XX000"), ErrorCode::kInternal);
    EXPECT_EQ(ErrorCodeFromSqlState(""), ErrorCode::kInternal);
    EXPECT_EQ(ErrorCodeFromSqlState("08"), ErrorCode::kInternal);
}

TEST(SqlErrorTest, CarriesCodeSqlStateAndMessage) {
    const SqlError error(ErrorCode::kAlreadyExists, "23505", "INSERT INTO t: duplicate key");
    EXPECT_EQ(error.Code(), ErrorCode::kAlreadyExists);
    EXPECT_EQ(error.SqlState(), "23505");
    EXPECT_STREQ(error.what(), "INSERT INTO t: duplicate key");
}

}  // namespace
}  // namespace sagapay::postgres
