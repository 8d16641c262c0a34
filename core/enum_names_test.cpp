#include "core/enum_names.hpp"

#include <gtest/gtest.h>

namespace sagapay {
namespace {

enum class Colour { kRed, kGreen, kBlue };

constexpr EnumNames<Colour, 2> kColours{{{
    {Colour::kRed, "RED"},
    {Colour::kGreen, "GREEN"},
}}};

TEST(EnumNames, NamesAndParsesBothWaysFromOneTable) {
    static_assert(kColours.Name(Colour::kGreen) == "GREEN");
    EXPECT_EQ(kColours.Name(Colour::kRed), "RED");
    EXPECT_EQ(kColours.Parse("GREEN"), Colour::kGreen);
}

TEST(EnumNames, UnlistedValuesAndUnknownTextFallBack) {
    EXPECT_EQ(kColours.Name(Colour::kBlue, "UNKNOWN"), "UNKNOWN");
    EXPECT_EQ(kColours.Name(Colour::kBlue), "");
    EXPECT_FALSE(kColours.Parse("green").has_value());  // case-sensitive
    EXPECT_FALSE(kColours.Parse("").has_value());
}

}  // namespace
}  // namespace sagapay
