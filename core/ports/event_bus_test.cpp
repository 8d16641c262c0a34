#include "core/ports/event_bus.hpp"

#include <gtest/gtest.h>

namespace sagapay {
namespace {

TEST(CompareBusPositions, OrdersByMillisecondsThenSequenceNumerically) {
    EXPECT_LT(CompareBusPositions("1700000000000-9", "1700000000000-10"), 0);
    EXPECT_LT(CompareBusPositions("999-5", "1000-0"), 0);
    EXPECT_GT(CompareBusPositions("1000-1", "1000-0"), 0);
    EXPECT_EQ(CompareBusPositions("1000-1", "1000-1"), 0);
}

TEST(CompareBusPositions, AMalformedPositionCountsAsTheStart) {
    EXPECT_EQ(CompareBusPositions("", "0-0"), 0);
    EXPECT_EQ(CompareBusPositions("abc", "0-0"), 0);
    EXPECT_LT(CompareBusPositions("1-x", "1-0"), 0);
}

}  // namespace
}  // namespace sagapay
