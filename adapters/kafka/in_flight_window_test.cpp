#include "adapters/kafka/in_flight_window.hpp"

#include <chrono>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace sagapay::kafka {
namespace {

using namespace std::chrono_literals;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using Commits = std::vector<std::pair<std::int32_t, std::int64_t>>;

constexpr auto kVisibility = 1000ms;
const InFlightWindow::TimePoint kStart{};

Delivery At(std::int32_t partition, std::int64_t offset) {
    return Delivery{
        .topic = "t",
        .key = "k",
        .value = std::to_string(partition) + ":" + std::to_string(offset),
        .position = std::to_string(partition) + ":" + std::to_string(offset),
        .delivery_count = 1,
    };
}

/// A window owning partition 0 with offsets `first`..`last` handed out at kStart.
InFlightWindow WithOffsets(std::int64_t first, std::int64_t last) {
    InFlightWindow window(kVisibility);
    window.Assign(0);
    for (std::int64_t offset = first; offset <= last; ++offset) {
        EXPECT_TRUE(window.Add(0, offset, At(0, offset), kStart));
    }
    return window;
}

std::vector<std::string> Values(const std::vector<Delivery>& deliveries) {
    std::vector<std::string> values;
    values.reserve(deliveries.size());
    for (const Delivery& delivery : deliveries) {
        values.push_back(delivery.value);
    }
    return values;
}

TEST(InFlightWindow, OnlyTheAckedPrefixIsCommittable) {
    InFlightWindow window = WithOffsets(10, 14);

    window.Ack(0, 10);
    window.Ack(0, 11);
    window.Ack(0, 13);

    EXPECT_EQ(window.Committable(), (Commits{{0, 12}}));
    EXPECT_EQ(window.InFlight(0), 3U);  // 12 un-acked holds 13 back
    window.Committed(0, 12);
    EXPECT_THAT(window.Committable(), IsEmpty());
    window.Ack(0, 12);
    EXPECT_EQ(window.Committable(), (Commits{{0, 14}}));
    window.Ack(0, 14);
    EXPECT_EQ(window.Committable(), (Commits{{0, 15}}));
    EXPECT_EQ(window.InFlight(0), 0U);
}

TEST(InFlightWindow, GapsBetweenOffsetsDoNotHoldThePrefixBack) {
    InFlightWindow window(kVisibility);
    window.Assign(2);
    ASSERT_TRUE(window.Add(2, 5, At(2, 5), kStart));
    ASSERT_TRUE(window.Add(2, 9, At(2, 9), kStart));  // 6-8: compacted or control records

    window.Ack(2, 5);
    window.Ack(2, 9);

    EXPECT_EQ(window.Committable(), (Commits{{2, 10}}));
}

TEST(InFlightWindow, AnUnackedDeliveryFallsDueAfterTheVisibilityTimeoutWithAHigherCount) {
    InFlightWindow window = WithOffsets(0, 0);

    const auto early = window.TakeDue(kStart + kVisibility - 1ms, 10);
    const auto second = window.TakeDue(kStart + kVisibility, 10);
    const auto not_yet = window.TakeDue(kStart + kVisibility + 500ms, 10);
    const auto third = window.TakeDue(kStart + 2 * kVisibility, 10);

    EXPECT_THAT(early, IsEmpty());
    ASSERT_EQ(second.size(), 1U);
    EXPECT_EQ(second[0].delivery_count, 2);
    EXPECT_EQ(second[0].position, "0:0");
    EXPECT_THAT(not_yet, IsEmpty());
    ASSERT_EQ(third.size(), 1U);
    EXPECT_EQ(third[0].delivery_count, 3);
}

TEST(InFlightWindow, AckedDeliveriesNeverFallDue) {
    InFlightWindow window = WithOffsets(0, 2);

    window.Ack(0, 1);

    EXPECT_THAT(Values(window.TakeDue(kStart + kVisibility, 10)), ElementsAre("0:0", "0:2"));
    window.Ack(0, 0);
    window.Ack(0, 2);
    EXPECT_THAT(window.TakeDue(kStart + 10 * kVisibility, 10), IsEmpty());
    EXPECT_FALSE(window.NextDue().has_value());
}

TEST(InFlightWindow, TakeDueGivesAtMostMaxEarliestFirst) {
    InFlightWindow window(kVisibility);
    window.Assign(0);
    window.Assign(1);
    ASSERT_TRUE(window.Add(1, 7, At(1, 7), kStart));
    ASSERT_TRUE(window.Add(0, 3, At(0, 3), kStart + 1ms));
    ASSERT_TRUE(window.Add(0, 4, At(0, 4), kStart + 2ms));

    const auto first = window.TakeDue(kStart + kVisibility + 5ms, 2);
    const auto rest = window.TakeDue(kStart + kVisibility + 5ms, 2);

    EXPECT_THAT(Values(first), ElementsAre("1:7", "0:3"));
    EXPECT_THAT(Values(rest), ElementsAre("0:4"));
    EXPECT_EQ(window.NextDue(), kStart + 2 * kVisibility + 5ms);
}

TEST(InFlightWindow, ARevokedPartitionIsForgottenAfterGivingItsUncommittedPrefix) {
    InFlightWindow window = WithOffsets(0, 3);
    window.Ack(0, 0);
    window.Ack(0, 1);
    window.Committed(0, 1);

    const auto commit = window.Revoke(0);

    EXPECT_EQ(commit, 2);
    EXPECT_FALSE(window.Owns(0));
    EXPECT_FALSE(window.Ack(0, 2));  // The new owner delivers it again.
    EXPECT_FALSE(window.Add(0, 4, At(0, 4), kStart));
    EXPECT_THAT(window.TakeDue(kStart + kVisibility, 10), IsEmpty());
    EXPECT_THAT(window.Committable(), IsEmpty());
}

TEST(InFlightWindow, ARevokedPartitionWithNothingNewAckedHasNothingToCommit) {
    InFlightWindow window = WithOffsets(0, 1);

    EXPECT_FALSE(window.Revoke(0).has_value());
    EXPECT_FALSE(window.Revoke(5).has_value());
}

TEST(InFlightWindow, AReassignedPartitionStartsAfreshWithoutTheOldDeliveriesFallingDue) {
    InFlightWindow window = WithOffsets(0, 1);
    (void)window.Revoke(0);

    window.Assign(0);
    ASSERT_TRUE(window.Add(0, 0, At(0, 0), kStart + 100ms));  // Fetched again from the commit.

    const auto due = window.TakeDue(kStart + kVisibility + 100ms, 10);
    ASSERT_EQ(due.size(), 1U);
    EXPECT_EQ(due[0].position, "0:0");
    EXPECT_EQ(due[0].delivery_count, 2);
}

TEST(InFlightWindow, AnOffsetSeenBeforeIsNotHandedOutAgain) {
    InFlightWindow window = WithOffsets(0, 2);

    EXPECT_FALSE(window.Add(0, 1, At(0, 1), kStart));
    EXPECT_FALSE(window.Add(0, 2, At(0, 2), kStart));
    EXPECT_TRUE(window.Add(0, 3, At(0, 3), kStart));
    EXPECT_EQ(window.InFlight(0), 4U);
}

TEST(InFlightWindow, AckOfAnUnknownDeliveryIsRefused) {
    InFlightWindow window = WithOffsets(0, 0);

    EXPECT_FALSE(window.Ack(0, 1));
    EXPECT_FALSE(window.Ack(1, 0));
    EXPECT_TRUE(window.Ack(0, 0));
    EXPECT_FALSE(window.Ack(0, 0));  // Already committable: no longer in flight.
}

TEST(InFlightWindow, ClearForgetsEverything) {
    InFlightWindow window = WithOffsets(0, 2);

    window.Clear();

    EXPECT_THAT(window.Partitions(), IsEmpty());
    EXPECT_FALSE(window.NextDue().has_value());
}

}  // namespace
}  // namespace sagapay::kafka
