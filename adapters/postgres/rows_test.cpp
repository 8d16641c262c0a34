#include "adapters/postgres/rows.hpp"

#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "adapters/postgres/sql_error.hpp"

namespace sagapay::postgres {
namespace {

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
