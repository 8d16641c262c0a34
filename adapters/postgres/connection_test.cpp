#include "adapters/postgres/connection.hpp"

#include <optional>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace sagapay::postgres {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(TextArrayTest, QuotesEveryElementEscapesQuotesAndBackslashesAndWritesNull) {
    const std::vector<std::optional<std::string>> values = {
        "plain", std::nullopt, "with \"quote\"", "back\\slash", "", "NULL"};
    EXPECT_EQ(
        TextArray(values), "{\"plain\",NULL,\"with \\\"quote\\\"\",\"back\\\\slash\",\"\",\"NULL\"}"
    );
    const std::vector<std::string> strings = {"a,b", "{c}"};
    EXPECT_EQ(TextArray(strings), "{\"a,b\",\"{c}\"}");
    EXPECT_EQ(TextArray(std::vector<std::string>{}), "{}");
}

TEST(NormalizeDsnTest, TurnsTheSeedsSqlAlchemyFormIntoALibpqUri) {
    EXPECT_EQ(
        Connection::NormalizeDsn("postgresql+psycopg2://pay:pw@db:5432/orchestrator"),
        "postgresql://pay:pw@db:5432/orchestrator"
    );
    EXPECT_EQ(
        Connection::NormalizeDsn("postgres+asyncpg://pay@db/ledger?sslmode=disable"),
        "postgresql://pay@db/ledger?sslmode=disable"
    );
}

TEST(NormalizeDsnTest, LeavesLibpqFormsAlone) {
    EXPECT_EQ(Connection::NormalizeDsn("postgresql://a@b/c"), "postgresql://a@b/c");
    EXPECT_EQ(Connection::NormalizeDsn("postgres://a@b/c"), "postgres://a@b/c");
    EXPECT_EQ(
        Connection::NormalizeDsn("host=db dbname=x password='a+b://c'"),
        "host=db dbname=x password='a+b://c'"
    );
    EXPECT_EQ(Connection::NormalizeDsn(""), "");
}

TEST(RedactDsnTest, MasksTheUriPassword) {
    EXPECT_EQ(
        Connection::RedactDsn("postgresql://pay:s3cret@db:5432/orchestrator"),
        "postgresql://pay:***@db:5432/orchestrator"
    );
    EXPECT_EQ(
        Connection::RedactDsn("postgresql+psycopg2://pay:s3cret@db/x?sslmode=require"),
        "postgresql+psycopg2://pay:***@db/x?sslmode=require"
    );
}

TEST(RedactDsnTest, KeepsDsnsWithoutPassword) {
    EXPECT_EQ(
        Connection::RedactDsn("postgresql://pay@db:5432/orchestrator"),
        "postgresql://pay@db:5432/orchestrator"
    );
    EXPECT_EQ(Connection::RedactDsn("postgresql://db/x"), "postgresql://db/x");
    EXPECT_EQ(Connection::RedactDsn("postgresql:///x?host=/tmp"), "postgresql:///x?host=/tmp");
}

TEST(RedactDsnTest, NeverShowsThePassword) {
    const std::string kCases[] = {
        "postgresql://pay:s3cret@db:5432/x",
        "postgresql://pay:s3cret@db/x?password=s3cret",
        "postgresql://pay@db/x?sslmode=disable&password=s3cret&application_name=a",
        "postgresql://pay:s3%40cret@db/x",
        "postgresql://pay:s3cret@@db/x",
        "postgresql://pay:s3c/ret@db/x",
        "postgresql://pay:s3cret@db1:5432,db2:5432/x",
        "host=db user=pay password=s3cret dbname=x",
        "host=db password = 's3c\\'ret  ' dbname=x",
        "password=s3cret",
    };
    for (const std::string& dsn : kCases) {
        const std::string redacted = Connection::RedactDsn(dsn);
        EXPECT_THAT(redacted, Not(HasSubstr("s3c"))) << dsn;
        EXPECT_THAT(redacted, HasSubstr("***")) << dsn;
    }
    EXPECT_EQ(
        Connection::RedactDsn("host=db user=pay password='s 3' dbname=x"),
        "host=db user=pay password=*** dbname=x"
    );
}

TEST(ConnectionOpenTest, FailureNamesTheServerButNotThePassword) {
    // Port 1 on the loopback: refused at once, no server needed.
    try {
        (void)Connection::Open("postgresql+psycopg2://pay:s3cret@127.0.0.1:1/orchestrator");
        FAIL() << "expected SqlError";
    } catch (const SqlError& error) {
        EXPECT_EQ(error.Code(), ErrorCode::kUnavailable);
        EXPECT_THAT(error.what(), HasSubstr("127.0.0.1"));
        EXPECT_THAT(error.what(), HasSubstr("orchestrator"));
        EXPECT_THAT(error.what(), Not(HasSubstr("s3cret")));
    }
}

TEST(ConnectionOpenTest, ParseErrorsDoNotEchoThePassword) {
    // libpq quotes the bad token in its message: "invalid percent-encoded token: ...".
    for (const std::string dsn : {
             "postgresql://pay:s3cret%zz@127.0.0.1:1/x",
             "postgresql://pay@127.0.0.1:1/x?password=s3cret%zz",
         }) {
        try {
            (void)Connection::Open(dsn);
            FAIL() << "expected SqlError";
        } catch (const SqlError& error) {
            EXPECT_EQ(error.Code(), ErrorCode::kUnavailable);
            EXPECT_THAT(error.what(), Not(HasSubstr("s3cret"))) << error.what();
        }
    }
}

TEST(ErrorCodeFromSqlStateTest, FollowsTheDocumentedTable) {
    EXPECT_EQ(ErrorCodeFromSqlState("40001"), ErrorCode::kAborted);  // serialization_failure
    EXPECT_EQ(ErrorCodeFromSqlState("40P01"), ErrorCode::kAborted);  // deadlock_detected
    EXPECT_EQ(ErrorCodeFromSqlState("23505"), ErrorCode::kAlreadyExists);
    EXPECT_EQ(ErrorCodeFromSqlState("57014"), ErrorCode::kDeadlineExceeded);  // query_canceled
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

TEST(ParamTest, NullAndTextForms) {
    EXPECT_EQ(Param(std::nullopt).Data(), nullptr);
    EXPECT_EQ(Param(std::optional<std::string>()).Data(), nullptr);
    EXPECT_STREQ(Param(std::int64_t{-9223372036854775807 - 1}).Data(), "-9223372036854775808");
    EXPECT_STREQ(Param(true).Data(), "true");
    EXPECT_STREQ(Param("").Data(), "");
}

TEST(RowsTest, EmptyRowsAreSafe) {
    const Rows rows;
    EXPECT_TRUE(rows.Empty());
    EXPECT_EQ(rows.Affected(), 0);
    EXPECT_TRUE(rows.IsNull(0, 0));
    EXPECT_EQ(rows.Get(0, 0), "");
    EXPECT_THROW((void)rows.Column("x"), SqlError);
}

}  // namespace
}  // namespace sagapay::postgres
