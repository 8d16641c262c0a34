#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.hpp"

namespace sagapay {

/// A message to publish. `key` is the partition key (the payment id): messages with the same key
/// keep their order on a bus that partitions.
struct OutgoingMessage {
    std::string topic;
    std::string key;
    std::string value;  ///< The encoded envelope (JSON).
};

/// A message handed to a consumer. It stays the consumer group's responsibility until acked.
struct Delivery {
    std::string topic;
    std::string key;
    std::string value;
    std::string position;             ///< Opaque bus position (stream entry id, partition/offset).
    std::int64_t delivery_count = 1;  ///< 1 on first delivery; grows on each redelivery.
};

/// A message as the bus holds it, read outside any consumer group (EventBus::ReadTopic).
struct StoredMessage {
    std::string position;  ///< As in Delivery::position.
    std::string key;
    std::string value;
    /// Redis: the entry's fields other than key and value (a dead-letter entry: topic, group,
    /// reason, position, delivery_count); Kafka: the record's headers.
    std::vector<std::pair<std::string, std::string>> headers;
};

/// How EventBus::EnsureTopics creates a missing topic. A value below 1 asks for the broker's
/// default (num.partitions, default.replication.factor).
struct TopicSettings {
    int partitions = 3;
    int replication_factor = 1;
};

/// Where a topic's consumer groups are, for trimming the bus and the outbox. Positions are the
/// bus's (Redis stream ids `ms-seq`); CompareBusPositions orders them.
struct TopicProgress {
    bool exists = false;                ///< false: the topic's stream is gone (or never was).
    std::string last_position = "0-0";  ///< The newest position the bus ever handed out.
    std::size_t groups = 0;             ///< Consumer groups of the topic.
    /// Every group has consumed and acknowledged every message before this position (nothing
    /// before it is pending or undelivered). Empty when the topic has no group.
    std::string consumed_before;
};

/// <0, 0, >0 as `a` is before, at, after `b`; a malformed position counts as "0-0".
[[nodiscard]] int CompareBusPositions(std::string_view a, std::string_view b) noexcept;

/// Port: publishes batches. One publisher belongs to one thread.
class EventPublisher {
public:
    virtual ~EventPublisher() = default;
    /// Returns once the bus has accepted every message of the batch, with the position each got
    /// (in batch order); on error none or some may have been accepted (callers republish;
    /// consumers deduplicate).
    [[nodiscard]] virtual Result<std::vector<std::string>> Publish(
        std::span<const OutgoingMessage> batch
    ) = 0;

    /// Where the consumer groups of `topic` are (see TopicProgress). kFailedPrecondition from a
    /// bus whose broker trims by its own retention (Kafka): it keeps no progress to trim by and
    /// detects no loss.
    [[nodiscard]] virtual Result<TopicProgress> Progress(std::string_view topic) = 0;

    /// Deletes the messages of `topic` before `position`, never one at or after it; returns how
    /// many were deleted. kFailedPrecondition where Progress gives it.
    [[nodiscard]] virtual Result<std::int64_t> TrimBefore(
        std::string_view topic, std::string_view position
    ) = 0;
};

struct SubscriptionOptions {
    std::string topic;
    std::string group;     ///< Consumers sharing a group split the messages.
    std::string consumer;  ///< This consumer's name inside the group.
    /// A message delivered but not acked for this long is handed to another consumer.
    std::chrono::milliseconds visibility_timeout{std::chrono::seconds(30)};
};

/// Port: one consumer of one (topic, group). At-least-once: handlers must be idempotent.
/// One subscription belongs to one thread.
class EventSubscription {
public:
    virtual ~EventSubscription() = default;

    /// Waits up to `wait` and returns up to `max` deliveries: new ones, and ones that another
    /// consumer took but did not ack within the visibility timeout. Empty on timeout.
    [[nodiscard]] virtual Result<std::vector<Delivery>> Poll(
        std::size_t max, std::chrono::milliseconds wait
    ) = 0;

    /// Marks deliveries done; call only after the handler's transaction committed.
    [[nodiscard]] virtual Result<void> Ack(std::span<const Delivery> deliveries) = 0;

    /// Parks a message that cannot be handled in the dead-letter stream with `reason`, then acks
    /// it: never retried forever, never lost.
    [[nodiscard]] virtual Result<void> DeadLetter(
        const Delivery& delivery, std::string_view reason
    ) = 0;

    /// How many messages of the topic the whole consumer group has not acked yet: not yet
    /// delivered plus delivered and pending (for the consumer-lag gauge). An estimate while other
    /// consumers of the group ack concurrently.
    [[nodiscard]] virtual Result<std::int64_t> GroupLag() = 0;
};

/// Port: the event bus. Implemented by redis::RedisStreamsEventBus (default) and
/// kafka::KafkaEventBus; core/ports/event_bus_contract.hpp is the behaviour both share.
/// Thread-safe factory; what it creates is single-threaded.
class EventBus {
public:
    virtual ~EventBus() = default;
    [[nodiscard]] virtual Result<std::unique_ptr<EventPublisher>> CreatePublisher() = 0;
    [[nodiscard]] virtual Result<std::unique_ptr<EventSubscription>> Subscribe(
        const SubscriptionOptions& options
    ) = 0;

    /// The messages the bus still holds for `topic`, oldest first, at most `limit` (0: all), read
    /// outside any consumer group (for tools: `dlq list`, `replay-dlq`). A topic that does not
    /// exist holds none.
    [[nodiscard]] virtual Result<std::vector<StoredMessage>> ReadTopic(
        std::string_view topic, std::size_t limit
    ) = 0;

    /// Creates the topics that do not exist yet with `settings`; one that exists already counts as
    /// success and is left as it is. A bus without topic administration succeeds at once.
    [[nodiscard]] virtual Result<void> EnsureTopics(
        std::span<const std::string> topics, const TopicSettings& settings
    ) = 0;
};

using EventBusPtr = std::unique_ptr<EventBus>;

}  // namespace sagapay
