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
    Clock::TimePoint a;
    Clock::TimePoint b;

    ASSERT_TRUE(ParseIsoUtc("2026-02-18T12:00:00.123456+00:00", a));
    ASSERT_TRUE(ParseIsoUtc("2026-02-18T12:00:00.123456Z", b));

    EXPECT_EQ(a, b);
    EXPECT_EQ(FormatIsoUtc(a), "2026-02-18T12:00:00.123456+00:00");
}

TEST(IsoTime, RejectsOtherOffsetsAndGarbage) {
    Clock::TimePoint t;
    EXPECT_FALSE(ParseIsoUtc("2026-02-18T12:00:00+01:00", t));
    EXPECT_FALSE(ParseIsoUtc("yesterday", t));
    EXPECT_FALSE(ParseIsoUtc("2026-02-18", t));
}

}  // namespace
}  // namespace sagapay
