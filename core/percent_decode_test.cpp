#include "core/percent_decode.hpp"

#include <gtest/gtest.h>

namespace sagapay {
namespace {

TEST(PercentDecode, DecodesEscapesAndKeepsEverythingElse) {
    EXPECT_EQ(PercentDecode("p%40ss%2Fw%3a+d"), "p@ss/w:+d");
    EXPECT_EQ(PercentDecode(""), "");
    EXPECT_EQ(PercentDecode("%00"), std::string(1, '\0'));
}

TEST(PercentDecode, ABrokenEscapeIsNothing) {
    for (const char* broken : {"%", "%4", "a%4", "%zz", "%g0", "ok%"}) {
        EXPECT_EQ(PercentDecode(broken), std::nullopt) << broken;
    }
}

TEST(HexDigitValue, ReadsBothCasesAndRefusesTheRest) {
    EXPECT_EQ(HexDigitValue('0'), 0);
    EXPECT_EQ(HexDigitValue('9'), 9);
    EXPECT_EQ(HexDigitValue('a'), 10);
    EXPECT_EQ(HexDigitValue('F'), 15);
    EXPECT_EQ(HexDigitValue('g'), -1);
    EXPECT_EQ(HexDigitValue('%'), -1);
}

}  // namespace
}  // namespace sagapay
