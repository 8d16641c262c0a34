#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "adapters/kafka/handles.hpp"
#include "adapters/kafka/kafka_event_bus.hpp"
#include "core/result.hpp"

// The librdkafka clients KafkaEventBus is made of: configuration, admin and metadata calls, and
// the producer behind publishers and dead-lettering.
namespace sagapay::kafka {

/// Budget of one admin or metadata call (and of waiting for a new topic's leaders).
inline constexpr std::chrono::milliseconds kAdminTimeout{15000};

using Settings = std::vector<std::pair<std::string, std::string>>;

enum class ClientKind { kProducer, kConsumer };

/// A configuration: bootstrap.servers and client.id from `options`, then `defaults`, then
/// options.extra (the keys for every client and those prefixed with this kind's `producer.` or
/// `consumer.`), then `fixed`. kInvalidArgument names a rejected property.
[[nodiscard]] Result<ConfHandle> MakeConfig(
    const KafkaBusOptions& options, ClientKind kind, const Settings& defaults, const Settings& fixed
);

/// Sets one property of `conf`; kInvalidArgument names it (never its value) when refused.
[[nodiscard]] Result<void> SetProperty(
    rd_kafka_conf_t* conf, const std::string& key, const std::string& value
);

/// rd_kafka_new over `conf` (which it takes on success).
[[nodiscard]] Result<KafkaHandle> NewClient(ConfHandle conf, ClientKind kind);

struct TopicInfo {
    bool exists = false;
    int partitions = 0;
    bool has_leaders = false;  ///< Every partition has a leader (ready for produce and fetch).
};

/// What the cluster's metadata says about `topic` (a Kafka name).
[[nodiscard]] Result<TopicInfo> DescribeTopic(
    rd_kafka_t* client, const std::string& topic, std::chrono::milliseconds timeout
);

/// Creates the `topics` (Kafka names) that do not exist (partitions or replication_factor < 1:
/// the broker's default) and waits until each has a leader for every partition.
[[nodiscard]] Result<void> CreateTopics(
    rd_kafka_t* client,
    const std::vector<std::string>& topics,
    int partitions,
    int replication_factor,
    std::chrono::milliseconds timeout
);

/// CreateTopics with the broker's defaults for `topic` unless the metadata shows it with leaders.
[[nodiscard]] Result<void> EnsureTopicExists(
    rd_kafka_t* client, const std::string& topic, std::chrono::milliseconds timeout
);

struct Watermarks {
    std::int64_t low = 0;   ///< The oldest offset the partition holds.
    std::int64_t high = 0;  ///< The offset the next message will get.
};

/// The watermarks of one partition, asked of its leader.
[[nodiscard]] Result<Watermarks> QueryWatermarks(
    rd_kafka_t* client, const std::string& topic, std::int32_t partition
);

/// One message for Producer::Send.
struct Record {
    std::string topic;  ///< The Kafka name.
    std::string key;
    std::string value;
    std::vector<std::pair<std::string, std::string>> headers;
};

/// An idempotent producer (acks=all) that sends batches and waits for their delivery reports.
/// Creates each topic it has not sent to before if missing (EnsureTopicExists). Single-threaded;
/// the destructor flushes for up to kFlushTimeout.
class Producer {
public:
    static constexpr std::chrono::milliseconds kFlushTimeout{10000};

    [[nodiscard]] static Result<std::unique_ptr<Producer>> Create(const KafkaBusOptions& options);
    ~Producer();
    Producer(const Producer&) = delete;
    Producer& operator=(const Producer&) = delete;

    /// Sends every record and returns their positions ("partition:offset", in order) once the
    /// broker acked all of them, or the first error (then some may have been written).
    [[nodiscard]] Result<std::vector<std::string>> Send(std::span<Record> records);

private:
    struct Slot {
        bool done = false;
        rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
        std::string position;
    };

    Producer() = default;
    static void OnDelivery(rd_kafka_t* rk, const rd_kafka_message_t* message, void* opaque);
    Result<void> Produce(
        Record& record, std::uint64_t serial, std::chrono::steady_clock::time_point deadline
    );

    std::chrono::milliseconds delivery_timeout_{0};
    /// Messages whose delivery report is awaited, by serial (the message's opaque). A report for
    /// a serial not here belongs to a batch that gave up; it is dropped.
    std::map<std::uint64_t, Slot> slots_;
    std::uint64_t next_serial_ = 1;
    std::set<std::string> known_topics_;
    /// Last: destroyed first, while slots_ can still take the flush's delivery reports.
    KafkaHandle client_;
};

}  // namespace sagapay::kafka
