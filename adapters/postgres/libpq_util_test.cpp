#include "adapters/postgres/libpq_util.hpp"

#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "adapters/postgres/rows.hpp"
#include "adapters/postgres/sql_error.hpp"

namespace sagapay::postgres::detail {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

TEST(TrimTest, DropsLeadingAndTrailingWhitespaceOnly) {
    EXPECT_EQ(Trim("  could not connect\n"), "could not connect");
    EXPECT_EQ(Trim("a \t b"), "a \t b");
    EXPECT_EQ(Trim(" \n\t "), "");
    EXPECT_EQ(Trim(""), "");
}

TEST(SqlPreviewTest, PutsTheStatementOnOneLine) {
    EXPECT_EQ(
        SqlPreview("\n  SELECT  id,\n\tnote\n  FROM items  \n"), "SELECT id, note FROM items"
    );
    EXPECT_EQ(SqlPreview(""), "");
}

TEST(SqlPreviewTest, KeepsTheFirstEightyBytes) {
    const std::string sql = "SELECT " + std::string(200, 'x');
    const std::string preview = SqlPreview(sql);
    EXPECT_EQ(preview, sql.substr(0, 80));
}

TEST(SqlPreviewTest, DoesNotCutAUtf8SequenceInHalf) {
    // The 80th byte is the lead byte of "é": it goes, with nothing of the character left over.
    const std::string sql = std::string(79, 'a') + "\xC3\xA9 and more";
    EXPECT_EQ(SqlPreview(sql), std::string(79, 'a'));
    // A three-byte character cut after its second byte.
    const std::string euro = std::string(78, 'a') + "\xE2\x82\xAC";
    EXPECT_EQ(SqlPreview(euro), std::string(78, 'a'));
}

TEST(CheckResultTest, AcceptsCommandRowsAndEmptyQueryResults) {
    for (const ExecStatusType status : {PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_EMPTY_QUERY}) {
        const ResultHandle result(PQmakeEmptyPGresult(nullptr, status));
        ASSERT_TRUE(result);
        EXPECT_NO_THROW(CheckResult(nullptr, result.get(), "SELECT 1")) << status;
    }
}

TEST(CheckResultTest, AMissingResultOrConnectionIsUnavailable) {
    const ResultHandle failed(PQmakeEmptyPGresult(nullptr, PGRES_FATAL_ERROR));
    for (const PGresult* result :
         {static_cast<const PGresult*>(nullptr), static_cast<const PGresult*>(failed.get())}) {
        try {
            CheckResult(nullptr, result, "SELECT\n  1");
            FAIL() << "expected SqlError";
        } catch (const SqlError& error) {
            EXPECT_EQ(error.Code(), ErrorCode::kUnavailable);
            EXPECT_EQ(error.SqlState(), "");
            EXPECT_THAT(error.what(), StartsWith("SELECT 1: "));
        }
    }
}

TEST(QuoteIdentifierTest, WithoutAConnectionThrowsInvalidArgument) {
    try {
        (void)QuoteIdentifier(nullptr, "channel");
        FAIL() << "expected SqlError";
    } catch (const SqlError& error) {
        EXPECT_EQ(error.Code(), ErrorCode::kInvalidArgument);
        EXPECT_THAT(error.what(), HasSubstr("cannot quote identifier"));
    }
}

}  // namespace
}  // namespace sagapay::postgres::detail
