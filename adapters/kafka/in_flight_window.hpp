#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <utility>
#include <vector>

#include "core/ports/event_bus.hpp"

namespace sagapay::kafka {

/// What a Kafka subscription handed out and has not committed, per owned partition: the copies
/// it hands out again when the visibility timeout passes without an ack, and each partition's
/// acked prefix, the only part it may commit. No librdkafka in here; single-threaded.
class InFlightWindow {
public:
    using TimePoint = std::chrono::steady_clock::time_point;

    explicit InFlightWindow(std::chrono::milliseconds visibility_timeout);

    /// Starts tracking `partition` (newly assigned), forgetting anything known about it.
    void Assign(std::int32_t partition);
    /// Stops tracking `partition`; returns the offset to commit for its acked prefix when that
    /// is beyond the last commit.
    std::optional<std::int64_t> Revoke(std::int32_t partition);
    void Clear() noexcept;
    [[nodiscard]] bool Owns(std::int32_t partition) const;
    [[nodiscard]] std::vector<std::int32_t> Partitions() const;

    /// Records a message handed out for the first time at `now`. False (do not hand it out) when
    /// the partition is not owned or the offset is not beyond the last one recorded for it.
    bool Add(std::int32_t partition, std::int64_t offset, const Delivery& delivery, TimePoint now);
    /// Marks a delivery acked; false when its partition is not owned or it is not in flight.
    bool Ack(std::int32_t partition, std::int64_t offset);

    /// Up to `max` deliveries whose visibility timeout passed by `now` without an ack, the
    /// earliest due first, each with delivery_count + 1 and due again a timeout after `now`.
    std::vector<Delivery> TakeDue(TimePoint now, std::size_t max);
    /// When the next delivery falls due; nullopt when none is out.
    [[nodiscard]] std::optional<TimePoint> NextDue();

    /// Partitions whose acked prefix grew beyond the last commit, with the offset to commit.
    [[nodiscard]] std::vector<std::pair<std::int32_t, std::int64_t>> Committable() const;
    /// Records that `offset` of `partition` was committed (ignored when not owned).
    void Committed(std::int32_t partition, std::int64_t offset);

    /// Messages of `partition` not yet in the committable prefix (acked or not).
    [[nodiscard]] std::size_t InFlight(std::int32_t partition) const;

private:
    struct Entry {
        Delivery delivery;
        bool acked = false;
        std::uint64_t handout = 0;  ///< Which handing-out the newest due-queue item is for.
    };
    struct Partition {
        std::map<std::int64_t, Entry> entries;  ///< From the first un-acked offset on.
        std::int64_t next_offset = -1;          ///< After the last recorded one; -1: none yet.
        std::int64_t commit_to = -1;            ///< After the acked prefix; -1: nothing acked.
        std::int64_t committed = -1;
        std::uint64_t epoch = 0;  ///< Which assignment; due-queue items of older ones are stale.
    };
    struct Due {
        TimePoint at;
        std::int32_t partition = 0;
        std::int64_t offset = 0;
        std::uint64_t epoch = 0;
        std::uint64_t handout = 0;
    };

    /// The entry `due` is about, when it is still out and un-acked at that handing-out.
    Entry* Live(const Due& due);
    void DropStaleDue();

    std::chrono::milliseconds visibility_timeout_;
    std::map<std::int32_t, Partition> partitions_;
    /// Handing-outs in the order they fall due: one visibility timeout for all, so appending
    /// keeps the order. Items of acked, revoked or handed-out-again entries are skipped lazily.
    std::deque<Due> due_;
    std::uint64_t next_epoch_ = 1;
};

}  // namespace sagapay::kafka
