#include "adapters/http/ascii.hpp"

#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

namespace sagapay::http::detail {
namespace {

TEST(Ascii, LowersOnlyAsciiLetters) {
    EXPECT_EQ(ToLowerAscii('A'), 'a');
    EXPECT_EQ(ToLowerAscii('Z'), 'z');
    EXPECT_EQ(ToLowerAscii('a'), 'a');
    EXPECT_EQ(ToLowerAscii('-'), '-');
    EXPECT_EQ(ToLowerAscii('@'), '@');  // Just below 'A'.
    EXPECT_EQ(ToLowerAscii('['), '[');  // Just above 'Z'.
    EXPECT_EQ(ToLower("Content-Type"), "content-type");
    EXPECT_EQ(ToLower("\xC3\x89T\xC3\x89"), "\xC3\x89t\xC3\x89");  // UTF-8 bytes untouched.
    EXPECT_EQ(ToLower(""), "");
}

TEST(Ascii, ComparesIgnoringAsciiCase) {
    EXPECT_TRUE(EqualsIgnoreCase("Idempotency-Key", "idempotency-key"));
    EXPECT_TRUE(EqualsIgnoreCase("", ""));
    EXPECT_FALSE(EqualsIgnoreCase("x-trace", "x-trace-id"));
    EXPECT_FALSE(EqualsIgnoreCase("x_trace", "x-trace"));
    static_assert(EqualsIgnoreCase("HOST", "host"));
}

TEST(Ascii, FindsTheFirstHeaderWithTheName) {
    const std::vector<std::pair<std::string, std::string>> headers = {
        {"X-Trace", "a"}, {"x-trace", "b"}, {"Allow", "GET"}};

    EXPECT_EQ(FindHeader(headers, "x-trace"), "a");
    EXPECT_EQ(FindHeader(headers, "ALLOW"), "GET");
    EXPECT_EQ(FindHeader(headers, "absent"), "");
    EXPECT_EQ(FindHeader({}, "allow"), "");
}

}  // namespace
}  // namespace sagapay::http::detail
