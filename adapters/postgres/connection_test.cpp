#include "adapters/postgres/connection.hpp"

#include <cstdint>
#include <optional>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace sagapay::postgres {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

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

TEST(ParamTest, NullAndTextForms) {
    EXPECT_EQ(Param(std::nullopt).Data(), nullptr);
    EXPECT_EQ(Param(std::optional<std::string>()).Data(), nullptr);
    EXPECT_STREQ(Param(std::int64_t{-9223372036854775807 - 1}).Data(), "-9223372036854775808");
    EXPECT_STREQ(Param(true).Data(), "true");
    EXPECT_STREQ(Param("").Data(), "");
}

}  // namespace
}  // namespace sagapay::postgres
