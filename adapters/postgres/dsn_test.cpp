#include "adapters/postgres/dsn.hpp"

#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "adapters/postgres/connection.hpp"

namespace sagapay::postgres {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

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

TEST(ScrubPasswordTest, RemovesTheRawQuotedAndPercentDecodedPassword) {
    EXPECT_EQ(
        detail::ScrubPassword(
            "bad token \"s3%40cret\", user s3@cret", "postgresql://pay:s3%40cret@db/x"
        ),
        "bad token \"***\", user ***"
    );
    EXPECT_EQ(
        detail::ScrubPassword("no host \"s 3cret\"", "host=db password='s 3cret' dbname=x"),
        "no host \"***\""
    );
    EXPECT_EQ(
        detail::ScrubPassword("token s3cret%zz", "postgresql://pay@db/x?password=s3cret%zz"),
        "token ***"
    );
}

TEST(ScrubPasswordTest, MasksThePartsLibpqMistakesForTheHost) {
    // libpq splits the userinfo at the first '@': "cret@db" shows up as a host name.
    const std::string scrubbed = detail::ScrubPassword(
        "could not translate host name \"cret@db\" to address", "postgresql://pay:s3@cret@db/x"
    );
    EXPECT_THAT(scrubbed, Not(HasSubstr("cret"))) << scrubbed;
    EXPECT_THAT(scrubbed, HasSubstr("***"));
}

// Found by adapters/postgres/dsn_fuzz (a 10 s timeout): each copy of a secret "*" (between '@'s
// of the password) replaced every '*' of the message, masks included, by "***" again: the message
// tripled per copy. A mask is now never searched again.
TEST(ScrubPasswordTest, AMaskIsNeverSearchedAgain) {
    EXPECT_EQ(detail::ScrubPassword("x * y", "postgresql://pay:a@*@*@*@*@*@b@db/x"), "x *** y");
    const std::string many = "postgresql://pay:" + std::string(40, '@') + "*@*@*@*@*@*@db/x";
    EXPECT_EQ(detail::ScrubPassword(std::string(10, '*'), many), "***");
}

TEST(ScrubPasswordTest, LeavesMessagesAloneWhenTheDsnHasNoPassword) {
    EXPECT_EQ(
        detail::ScrubPassword("connection refused", "postgresql://pay@db/x"), "connection refused"
    );
    EXPECT_EQ(
        detail::ScrubPassword("password= is empty", "host=db password="), "password= is empty"
    );
}

}  // namespace
}  // namespace sagapay::postgres
