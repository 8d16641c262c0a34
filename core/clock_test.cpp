#include "core/clock.hpp"

#include <gtest/gtest.h>

namespace sagapay {
namespace {

TEST(IsoTime, FormatsWithMicrosecondsAndUtcOffset) {
    const Clock::TimePoint t =
        Clock::TimePoint(std::chrono::seconds(1771416000)) + std::chrono::microseconds(123456);

    EXPECT_EQ(FormatIsoUtc(t), "2026-02-18T12:00:00.123456+00:00");
}

TEST(IsoTime, ParsesItsOwnFormatAndTrailingZ) {
    const auto a = ParseIsoUtc("2026-02-18T12:00:00.123456+00:00");
    const auto b = ParseIsoUtc("2026-02-18T12:00:00.123456Z");

    ASSERT_TRUE(a.has_value());
    ASSERT_TRUE(b.has_value());
    EXPECT_EQ(*a, *b);
    EXPECT_EQ(FormatIsoUtc(*a), "2026-02-18T12:00:00.123456+00:00");
    EXPECT_EQ(ParseIsoUtc("2026-02-18 12:00:00Z"), ParseIsoUtc("2026-02-18T12:00:00.000000Z"));
}

TEST(IsoTime, RejectsOtherOffsetsAndGarbage) {
    EXPECT_FALSE(ParseIsoUtc("2026-02-18T12:00:00+01:00").has_value());
    EXPECT_FALSE(ParseIsoUtc("yesterday").has_value());
    EXPECT_FALSE(ParseIsoUtc("2026-02-18").has_value());
    EXPECT_FALSE(ParseIsoUtc("2026-02-18T12:00:00.5").has_value());
}

}  // namespace
}  // namespace sagapay
