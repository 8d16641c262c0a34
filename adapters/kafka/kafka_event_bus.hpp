#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "adapters/kafka/handles.hpp"
#include "core/ports/event_bus.hpp"

namespace sagapay::kafka {

struct KafkaBusOptions {
    std::string bootstrap_servers;  ///< host:port[,host:port...] (KAFKA_BOOTSTRAP_SERVERS)
    /// Put before every topic and group name (then sanitised): isolates tests. Empty in
    /// production, so the seed's topic and group names are kept.
    std::string prefix;
    std::string client_id = "sagapay";
    /// Raw librdkafka properties for every client the bus makes (security.protocol,
    /// sasl.*, session.timeout.ms, linger.ms...), applied over the bus's defaults. A key
    /// `producer.<property>` or `consumer.<property>` applies to that kind of client only. The
    /// settings the semantics rest on (idempotence, acks=all, manual commits, group.id) cannot
    /// be overridden.
    std::map<std::string, std::string> extra;
};

/// `name` with every character outside [A-Za-z0-9._-] replaced by '_' (Kafka's legal topic and
/// group characters): "e2e-abc123:payments.requested" -> "e2e-abc123_payments.requested".
[[nodiscard]] std::string SanitizeKafkaName(std::string_view name);

/// A Kafka position "partition:offset", as Delivery::position and StoredMessage::position.
[[nodiscard]] std::string KafkaPosition(std::int32_t partition, std::int64_t offset);
/// The partition and offset of a KafkaPosition; nullopt when malformed.
[[nodiscard]] std::optional<std::pair<std::int32_t, std::int64_t>> ParseKafkaPosition(
    std::string_view position
) noexcept;

/// EventBus over Apache Kafka (librdkafka). Topic = SanitizeKafkaName(prefix + topic), consumer
/// group id = SanitizeKafkaName(prefix + group), message key = the payment id, so one payment's
/// messages keep their order (one partition); positions are "partition:offset".
///
/// Publisher: one idempotent producer (acks=all) each; Publish returns once the broker acked
/// every message of the batch (delivery reports), else an error: the caller republishes.
/// Progress() and TrimBefore() fail with kFailedPrecondition: Kafka's retention (retention.ms,
/// retention.bytes) is the broker's, so this bus keeps no group progress to trim by and detects
/// no lost messages; the outbox relay neither trims nor re-publishes on it.
///
/// Subscription: one KafkaConsumer each (cooperative-sticky assignment, no auto-commit). A new
/// group starts at the earliest message the topic holds. Poll hands out new messages and, again,
/// those not acked within the visibility timeout (from an in-memory copy, delivery_count + 1),
/// without holding back later ones; per partition at most 10,000 are out un-acked (then the
/// partition pauses until half of them are acked). Ack commits, per partition, the offset after
/// the longest acked prefix, so only messages whose handler committed are ever skipped by a
/// restart; a message acked after an un-acked one of its partition comes again after a
/// rebalance or restart. A revoked partition's acked prefix is committed and its in-flight state
/// dropped; an Ack for a partition the consumer no longer owns succeeds and does nothing (the new
/// owner redelivers; consumers dedupe by inbox). A commit refused for a transient reason (a
/// rebalance in progress, a coordinator move) is retried on the next Poll or Ack.
/// delivery_count lives in the consumer's memory: after a rebalance or a restart a message
/// counts 1 again (a handler that crashes the process each time is never parked by
/// max_deliveries; the redelivery back-off of runtime/event_consumer still applies).
/// DeadLetter produces the message to DeadLetterTopic() (key = the delivery's key, headers topic,
/// group, key, reason, position, delivery_count: the Redis adapter's fields), waits for the
/// broker's ack, then acks the delivery. A consumer whose process dies leaves the group after
/// session.timeout.ms; its un-acked messages go to the partitions' new owners then.
///
/// Topics: Publish, Subscribe and DeadLetter create a missing topic with the broker's defaults
/// (num.partitions, default.replication.factor), also when the broker's auto.create.topics.enable
/// is off; EnsureTopics creates with explicit settings (call it first for those). ReadTopic
/// reads every partition from its start to the high watermark it found first, merged by
/// timestamp. GroupLag sums, over the partitions, high watermark - the group's committed offset
/// (the low watermark when the group committed none).
///
/// Thread-safe factory (the admin client is shared behind a mutex); publishers and subscriptions
/// are single-threaded. Nothing connects before the first call that needs the cluster.
class KafkaEventBus final : public EventBus {
public:
    explicit KafkaEventBus(KafkaBusOptions options);
    ~KafkaEventBus() override;
    KafkaEventBus(const KafkaEventBus&) = delete;
    KafkaEventBus& operator=(const KafkaEventBus&) = delete;

    // EventBus
    Result<std::unique_ptr<EventPublisher>> CreatePublisher() override;
    Result<std::unique_ptr<EventSubscription>> Subscribe(const SubscriptionOptions& options
    ) override;
    Result<std::vector<StoredMessage>> ReadTopic(std::string_view topic, std::size_t limit)
        override;
    Result<void> EnsureTopics(std::span<const std::string> topics, const TopicSettings& settings)
        override;

    [[nodiscard]] std::string TopicName(std::string_view topic) const;
    [[nodiscard]] std::string GroupId(std::string_view group) const;
    [[nodiscard]] std::string DeadLetterTopic() const;

private:
    /// The shared admin client, made on first use. Call with admin_mutex_ held.
    Result<rd_kafka_t*> Admin();

    KafkaBusOptions options_;
    std::mutex admin_mutex_;
    KafkaHandle admin_;
};

/// The partitions `subscription` owns now, or nullopt when a KafkaEventBus did not make it. For
/// tests and diagnostics: ownership changes inside Poll (rebalances are served there).
[[nodiscard]] std::optional<std::vector<std::int32_t>> AssignedPartitions(
    const EventSubscription& subscription
);

}  // namespace sagapay::kafka
