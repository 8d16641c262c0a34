#include "adapters/kafka/in_flight_window.hpp"

namespace sagapay::kafka {

InFlightWindow::InFlightWindow(std::chrono::milliseconds visibility_timeout)
    : visibility_timeout_(visibility_timeout) {}

void InFlightWindow::Assign(std::int32_t partition) {
    Partition fresh;
    fresh.epoch = next_epoch_++;
    partitions_[partition] = std::move(fresh);
}

std::optional<std::int64_t> InFlightWindow::Revoke(std::int32_t partition) {
    const auto it = partitions_.find(partition);
    if (it == partitions_.end()) {
        return std::nullopt;
    }
    std::optional<std::int64_t> commit;
    if (it->second.commit_to > it->second.committed) {
        commit = it->second.commit_to;
    }
    partitions_.erase(it);
    return commit;
}

void InFlightWindow::Clear() noexcept {
    partitions_.clear();
    due_.clear();
}

bool InFlightWindow::Owns(std::int32_t partition) const {
    return partitions_.contains(partition);
}

std::vector<std::int32_t> InFlightWindow::Partitions() const {
    std::vector<std::int32_t> owned;
    owned.reserve(partitions_.size());
    for (const auto& [partition, state] : partitions_) {
        owned.push_back(partition);
    }
    return owned;
}

bool InFlightWindow::Add(
    std::int32_t partition, std::int64_t offset, const Delivery& delivery, TimePoint now
) {
    const auto it = partitions_.find(partition);
    if (it == partitions_.end() || offset < it->second.next_offset) {
        return false;
    }
    Partition& state = it->second;
    state.next_offset = offset + 1;
    state.entries[offset] = Entry{.delivery = delivery, .acked = false, .handout = 1};
    due_.push_back(Due{
        .at = now + visibility_timeout_,
        .partition = partition,
        .offset = offset,
        .epoch = state.epoch,
        .handout = 1,
    });
    return true;
}

bool InFlightWindow::Ack(std::int32_t partition, std::int64_t offset) {
    const auto it = partitions_.find(partition);
    if (it == partitions_.end()) {
        return false;
    }
    Partition& state = it->second;
    const auto entry = state.entries.find(offset);
    if (entry == state.entries.end()) {
        return false;
    }
    entry->second.acked = true;
    // Kafka offsets may have gaps (compaction, transaction markers): the prefix is the fetched
    // messages in order, whatever their offsets.
    while (!state.entries.empty() && state.entries.begin()->second.acked) {
        state.commit_to = state.entries.begin()->first + 1;
        state.entries.erase(state.entries.begin());
    }
    return true;
}

InFlightWindow::Entry* InFlightWindow::Live(const Due& due) {
    const auto it = partitions_.find(due.partition);
    if (it == partitions_.end() || it->second.epoch != due.epoch) {
        return nullptr;
    }
    const auto entry = it->second.entries.find(due.offset);
    if (entry == it->second.entries.end() || entry->second.acked ||
        entry->second.handout != due.handout) {
        return nullptr;
    }
    return &entry->second;
}

void InFlightWindow::DropStaleDue() {
    while (!due_.empty() && Live(due_.front()) == nullptr) {
        due_.pop_front();
    }
}

std::vector<Delivery> InFlightWindow::TakeDue(TimePoint now, std::size_t max) {
    std::vector<Delivery> taken;
    DropStaleDue();
    while (taken.size() < max && !due_.empty() && due_.front().at <= now) {
        Due due = due_.front();
        due_.pop_front();
        if (Entry* entry = Live(due)) {
            ++entry->delivery.delivery_count;
            ++entry->handout;
            due.at = now + visibility_timeout_;
            due.handout = entry->handout;
            due_.push_back(due);
            taken.push_back(entry->delivery);
        }
        DropStaleDue();
    }
    return taken;
}

std::optional<InFlightWindow::TimePoint> InFlightWindow::NextDue() {
    DropStaleDue();
    if (due_.empty()) {
        return std::nullopt;
    }
    return due_.front().at;
}

std::vector<std::pair<std::int32_t, std::int64_t>> InFlightWindow::Committable() const {
    std::vector<std::pair<std::int32_t, std::int64_t>> commits;
    for (const auto& [partition, state] : partitions_) {
        if (state.commit_to > state.committed) {
            commits.emplace_back(partition, state.commit_to);
        }
    }
    return commits;
}

void InFlightWindow::Committed(std::int32_t partition, std::int64_t offset) {
    const auto it = partitions_.find(partition);
    if (it != partitions_.end() && offset > it->second.committed) {
        it->second.committed = offset;
    }
}

std::size_t InFlightWindow::InFlight(std::int32_t partition) const {
    const auto it = partitions_.find(partition);
    return it == partitions_.end() ? 0 : it->second.entries.size();
}

}  // namespace sagapay::kafka
