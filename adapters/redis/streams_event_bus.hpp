#pragma once

#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "adapters/redis/client.hpp"
#include "core/ports/event_bus.hpp"

namespace sagapay::redis {

/// EventBus over Redis Streams. A topic is the stream `<prefix><topic>`; a group is a Redis
/// consumer group created on first Subscribe at `0` (MKSTREAM): the start of what the stream
/// still holds, which the outbox relay trims to what every existing group has acked, so a new
/// group reads the unconsumed window, not all history (to start one at "now", create it with
/// `XGROUP CREATE ... $` before deploying; docs/operations.md). A publisher also reports a
/// topic's progress (XINFO STREAM/GROUPS + XPENDING) and trims it (XTRIM MINID).
/// Poll() first reclaims, with XAUTOCLAIM, entries idle longer than the visibility timeout (their
/// consumer died or failed them), then reads new entries with XREADGROUP BLOCK. Redelivered entries
/// carry their delivery count (from XPENDING). DeadLetter() copies the entry with the reason to
/// the stream `<prefix>deadletter` (fields: topic, group, key, value, reason, position,
/// delivery_count) and acks it. Each entry has the fields `k` (key) and `v` (value).
/// ReadTopic pages through the stream with XRANGE (a dead-letter entry's `key` and `value` become
/// the message's, its other fields the headers); EnsureTopics has nothing to do (streams appear
/// on first write, groups on Subscribe); GroupLag is the group's XINFO GROUPS `lag` + `pending`.
class RedisStreamsEventBus final : public EventBus {
public:
    explicit RedisStreamsEventBus(Endpoint endpoint, std::string stream_prefix = "");

    // EventBus
    Result<std::unique_ptr<EventPublisher>> CreatePublisher() override;
    Result<std::unique_ptr<EventSubscription>> Subscribe(const SubscriptionOptions& options
    ) override;
    Result<std::vector<StoredMessage>> ReadTopic(std::string_view topic, std::size_t limit)
        override;
    Result<void> EnsureTopics(std::span<const std::string> topics, const TopicSettings& settings)
        override;

    [[nodiscard]] std::string StreamName(std::string_view topic) const;
    [[nodiscard]] std::string DeadLetterStream() const;

private:
    Endpoint endpoint_;
    std::string prefix_;
};

}  // namespace sagapay::redis
