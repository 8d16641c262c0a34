#include "adapters/kafka/client.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>
#include <string_view>
#include <thread>

#include "adapters/kafka/kafka_error.hpp"

namespace sagapay::kafka {
namespace {

using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;

/// librdkafka's error text buffers.
using ErrorText = std::array<char, 512>;

/// Extra time Send waits for delivery reports beyond message.timeout.ms, after which librdkafka
/// has reported every message (as delivered or timed out).
constexpr std::chrono::milliseconds kDeliveryReportMargin = 5s;
/// Used when message.timeout.ms is 0 (infinite): Send still returns.
constexpr std::chrono::milliseconds kLongestDeliveryWait = 5min;

int Milliseconds(std::chrono::milliseconds duration) {
    return static_cast<int>(std::max<std::chrono::milliseconds::rep>(duration.count(), 0));
}

std::chrono::milliseconds Remaining(SteadyClock::time_point deadline) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(deadline - SteadyClock::now());
}

}  // namespace

Result<void> SetProperty(rd_kafka_conf_t* conf, const std::string& key, const std::string& value) {
    ErrorText error{};
    if (rd_kafka_conf_set(conf, key.c_str(), value.c_str(), error.data(), error.size()) ==
        RD_KAFKA_CONF_OK) {
        return {};
    }
    // The value may be a password (sasl.password, ssl.key.password): never shown.
    std::string reason(error.data());
    for (std::size_t at = value.empty() ? std::string::npos : reason.find(value);
         at != std::string::npos;
         at = reason.find(value, at + 3)) {
        reason.replace(at, value.size(), "***");
    }
    return Fail(ErrorCode::kInvalidArgument, "kafka setting '" + key + "' refused: " + reason);
}

Result<ConfHandle> MakeConfig(
    const KafkaBusOptions& options, ClientKind kind, const Settings& defaults, const Settings& fixed
) {
    if (options.bootstrap_servers.empty()) {
        return Fail(
            ErrorCode::kInvalidArgument,
            "kafka: no bootstrap servers (KAFKA_BOOTSTRAP_SERVERS, host:port[,host:port])"
        );
    }
    ConfHandle conf(rd_kafka_conf_new());
    Settings all = {
        {"bootstrap.servers", options.bootstrap_servers},
        {"client.id", options.client_id},
    };
    all.insert(all.end(), defaults.begin(), defaults.end());
    const std::string_view own = kind == ClientKind::kProducer ? "producer." : "consumer.";
    const std::string_view other = kind == ClientKind::kProducer ? "consumer." : "producer.";
    for (const auto& [key, value] : options.extra) {
        if (key.starts_with(own)) {
            all.emplace_back(key.substr(own.size()), value);
        } else if (!key.starts_with(other)) {
            all.emplace_back(key, value);
        }
    }
    all.insert(all.end(), fixed.begin(), fixed.end());
    for (const auto& [key, value] : all) {
        if (auto applied = SetProperty(conf.get(), key, value); !applied) {
            return tl::unexpected(applied.error());
        }
    }
    return conf;
}

Result<KafkaHandle> NewClient(ConfHandle conf, ClientKind kind) {
    ErrorText error{};
    rd_kafka_t* client = rd_kafka_new(
        kind == ClientKind::kProducer ? RD_KAFKA_PRODUCER : RD_KAFKA_CONSUMER,
        conf.get(),
        error.data(),
        error.size()
    );
    if (client == nullptr) {
        return Fail(
            ErrorCode::kInvalidArgument,
            "kafka: cannot create a client: " + std::string(error.data())
        );
    }
    (void)conf.release();  // rd_kafka_new owns it now.
    return KafkaHandle(client);
}

Result<TopicInfo> DescribeTopic(
    rd_kafka_t* client, const std::string& topic, std::chrono::milliseconds timeout
) {
    const TopicHandle handle(rd_kafka_topic_new(client, topic.c_str(), nullptr));
    if (!handle) {
        return FailKafka("metadata of " + topic, rd_kafka_last_error());
    }
    const rd_kafka_metadata_t* raw = nullptr;
    const rd_kafka_resp_err_t err =
        rd_kafka_metadata(client, 0, handle.get(), &raw, Milliseconds(timeout));
    const MetadataHandle metadata(raw);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        return FailKafka("metadata of " + topic, err);
    }
    TopicInfo info;
    const std::span<const rd_kafka_metadata_topic_t> topics(
        metadata->topics, static_cast<std::size_t>(metadata->topic_cnt)
    );
    for (const rd_kafka_metadata_topic_t& described : topics) {
        if (topic != described.topic) {
            continue;
        }
        if (described.err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) {
            return info;
        }
        if (described.err != RD_KAFKA_RESP_ERR_NO_ERROR &&
            described.err != RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE) {
            return FailKafka("metadata of " + topic, described.err);
        }
        info.exists = true;
        info.partitions = described.partition_cnt;
        const std::span<const rd_kafka_metadata_partition_t> partitions(
            described.partitions, static_cast<std::size_t>(described.partition_cnt)
        );
        info.has_leaders = described.err == RD_KAFKA_RESP_ERR_NO_ERROR && !partitions.empty();
        for (const rd_kafka_metadata_partition_t& partition : partitions) {
            info.has_leaders = info.has_leaders && partition.leader >= 0;
        }
    }
    return info;
}

Result<void> CreateTopics(
    rd_kafka_t* client,
    const std::vector<std::string>& topics,
    int partitions,
    int replication_factor,
    std::chrono::milliseconds timeout
) {
    if (topics.empty()) {
        return {};
    }
    ErrorText error{};
    std::vector<NewTopicHandle> owned;
    std::vector<rd_kafka_NewTopic_t*> requests;
    owned.reserve(topics.size());
    requests.reserve(topics.size());
    for (const std::string& topic : topics) {
        owned.emplace_back(rd_kafka_NewTopic_new(
            topic.c_str(),
            partitions < 1 ? -1 : partitions,
            replication_factor < 1 ? -1 : replication_factor,
            error.data(),
            error.size()
        ));
        if (!owned.back()) {
            return Fail(
                ErrorCode::kInvalidArgument,
                "kafka create topic " + topic + ": " + std::string(error.data())
            );
        }
        requests.push_back(owned.back().get());
    }
    const AdminOptionsHandle admin_options(
        rd_kafka_AdminOptions_new(client, RD_KAFKA_ADMIN_OP_CREATETOPICS)
    );
    // The broker answers once the topics exist on the controller (operation timeout).
    if (rd_kafka_AdminOptions_set_request_timeout(
            admin_options.get(), Milliseconds(timeout), error.data(), error.size()
        ) != RD_KAFKA_RESP_ERR_NO_ERROR ||
        rd_kafka_AdminOptions_set_operation_timeout(
            admin_options.get(), Milliseconds(timeout), error.data(), error.size()
        ) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        return Fail(ErrorCode::kInternal, "kafka create topics: " + std::string(error.data()));
    }
    const QueueHandle queue(rd_kafka_queue_new(client));
    rd_kafka_CreateTopics(
        client, requests.data(), requests.size(), admin_options.get(), queue.get()
    );
    const EventHandle event(rd_kafka_queue_poll(queue.get(), Milliseconds(timeout + 1s)));
    if (!event) {
        return Fail(
            ErrorCode::kUnavailable,
            "kafka create topics: no answer within " + std::to_string(timeout.count()) + " ms"
        );
    }
    if (const rd_kafka_resp_err_t err = rd_kafka_event_error(event.get());
        err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        return Fail(
            ErrorCodeFromKafka(err),
            KafkaErrorMessage("create topics", err) + ": " +
                rd_kafka_event_error_string(event.get())
        );
    }
    std::size_t count = 0;
    const rd_kafka_topic_result_t** results = rd_kafka_CreateTopics_result_topics(
        rd_kafka_event_CreateTopics_result(event.get()), &count
    );
    for (const rd_kafka_topic_result_t* result : std::span(results, count)) {
        const rd_kafka_resp_err_t err = rd_kafka_topic_result_error(result);
        if (err != RD_KAFKA_RESP_ERR_NO_ERROR && err != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
            const char* detail = rd_kafka_topic_result_error_string(result);
            return Fail(
                ErrorCodeFromKafka(err),
                KafkaErrorMessage(
                    std::string("create topic ") + rd_kafka_topic_result_name(result), err
                ) + (detail != nullptr ? std::string(": ") + detail : std::string())
            );
        }
    }
    // Producers and consumers need a leader per partition; metadata shows them a moment later.
    const auto deadline = SteadyClock::now() + timeout;
    for (const std::string& topic : topics) {
        while (true) {
            auto info = DescribeTopic(client, topic, std::max(Remaining(deadline), 1ms));
            if (!info) {
                return tl::unexpected(info.error());
            }
            if (info->exists && info->has_leaders) {
                break;
            }
            if (SteadyClock::now() >= deadline) {
                return Fail(
                    ErrorCode::kUnavailable,
                    "kafka create topic " + topic + ": no leader for every partition after " +
                        std::to_string(timeout.count()) + " ms"
                );
            }
            std::this_thread::sleep_for(50ms);
        }
    }
    return {};
}

Result<void> EnsureTopicExists(
    rd_kafka_t* client, const std::string& topic, std::chrono::milliseconds timeout
) {
    auto info = DescribeTopic(client, topic, timeout);
    if (!info) {
        return tl::unexpected(info.error());
    }
    if (info->exists && info->has_leaders) {
        return {};
    }
    return CreateTopics(client, {topic}, -1, -1, timeout);
}

Result<Watermarks> QueryWatermarks(
    rd_kafka_t* client, const std::string& topic, std::int32_t partition
) {
    // A partition created a moment ago may answer NOT_LEADER until its leader is ready.
    const auto deadline = SteadyClock::now() + kAdminTimeout;
    while (true) {
        Watermarks marks;
        const rd_kafka_resp_err_t err = rd_kafka_query_watermark_offsets(
            client, topic.c_str(), partition, &marks.low, &marks.high, Milliseconds(kAdminTimeout)
        );
        if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
            return marks;
        }
        if (ErrorCodeFromKafka(err) != ErrorCode::kUnavailable || SteadyClock::now() >= deadline) {
            return FailKafka(
                "watermarks of " + topic + " [" + std::to_string(partition) + "]", err
            );
        }
        std::this_thread::sleep_for(50ms);
    }
}

Result<std::unique_ptr<Producer>> Producer::Create(const KafkaBusOptions& options) {
    std::unique_ptr<Producer> producer(new Producer());
    // linger.ms=0: Send enqueues the whole batch before it waits, so nothing else could join a
    // request during the linger; it would only add itself to every batch (docs/kafka.md).
    // Messages queued while a request is in flight still go out together in the next one.
    auto conf = MakeConfig(
        options,
        ClientKind::kProducer,
        {{"linger.ms", "0"},
         {"message.timeout.ms", "30000"},
         // The Java client's partitioner: a tool on another client puts a key where we do.
         {"partitioner", "murmur2_random"}},
        {{"enable.idempotence", "true"}, {"acks", "all"}}
    );
    if (!conf) {
        return tl::unexpected(conf.error());
    }
    std::array<char, 32> text{};
    std::size_t size = text.size();
    std::int64_t timeout_ms = 0;
    if (rd_kafka_conf_get(conf->get(), "message.timeout.ms", text.data(), &size) ==
        RD_KAFKA_CONF_OK) {
        std::from_chars(text.data(), text.data() + std::strlen(text.data()), timeout_ms);
    }
    producer->delivery_timeout_ =
        timeout_ms > 0 ? std::chrono::milliseconds(timeout_ms) : kLongestDeliveryWait;
    rd_kafka_conf_set_dr_msg_cb(conf->get(), &Producer::OnDelivery);
    rd_kafka_conf_set_opaque(conf->get(), producer.get());
    auto client = NewClient(std::move(*conf), ClientKind::kProducer);
    if (!client) {
        return tl::unexpected(client.error());
    }
    producer->client_ = std::move(*client);
    return producer;
}

Producer::~Producer() {
    if (client_) {
        (void)rd_kafka_flush(client_.get(), Milliseconds(kFlushTimeout));
    }
}

void Producer::OnDelivery(rd_kafka_t* /*rk*/, const rd_kafka_message_t* message, void* opaque) {
    auto* self = static_cast<Producer*>(opaque);
    const auto serial = reinterpret_cast<std::uintptr_t>(message->_private);
    const auto slot = self->slots_.find(serial);
    if (slot == self->slots_.end()) {
        return;  // Its batch gave up waiting.
    }
    slot->second.done = true;
    slot->second.err = message->err;
    if (message->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        slot->second.position = KafkaPosition(message->partition, message->offset);
    }
}

Result<void> Producer::Produce(
    Record& record, std::uint64_t serial, SteadyClock::time_point deadline
) {
    HeadersHandle headers;
    if (!record.headers.empty()) {
        headers.reset(rd_kafka_headers_new(record.headers.size()));
        for (const auto& [name, value] : record.headers) {
            rd_kafka_header_add(
                headers.get(),
                name.data(),
                static_cast<ssize_t>(name.size()),
                value.data(),
                static_cast<ssize_t>(value.size())
            );
        }
    }
    const char* key = record.key.data();  // Copied (RD_KAFKA_MSG_F_COPY).
    char* value = record.value.data();    // Copied; non-const only for RD_KAFKA_V_VALUE.
    // NOLINTNEXTLINE(performance-no-int-to-ptr): a serial number, never dereferenced.
    void* opaque = reinterpret_cast<void*>(static_cast<std::uintptr_t>(serial));
    while (true) {
        // producev takes the headers only when it succeeds.
        const rd_kafka_resp_err_t err = headers ? rd_kafka_producev(
                                                      client_.get(),
                                                      RD_KAFKA_V_TOPIC(record.topic.c_str()),
                                                      RD_KAFKA_V_KEY(key, record.key.size()),
                                                      RD_KAFKA_V_VALUE(value, record.value.size()),
                                                      RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                                      RD_KAFKA_V_HEADERS(headers.get()),
                                                      RD_KAFKA_V_OPAQUE(opaque),
                                                      RD_KAFKA_V_END
                                                  )
                                                : rd_kafka_producev(
                                                      client_.get(),
                                                      RD_KAFKA_V_TOPIC(record.topic.c_str()),
                                                      RD_KAFKA_V_KEY(key, record.key.size()),
                                                      RD_KAFKA_V_VALUE(value, record.value.size()),
                                                      RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                                      RD_KAFKA_V_OPAQUE(opaque),
                                                      RD_KAFKA_V_END
                                                  );
        if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
            (void)headers.release();
            return {};
        }
        if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL && SteadyClock::now() < deadline) {
            rd_kafka_poll(client_.get(), 50);  // Delivery reports make room.
            continue;
        }
        return FailKafka("publish to " + record.topic, err);
    }
}

Result<std::vector<std::string>> Producer::Send(std::span<Record> records) {
    std::vector<std::string> positions;
    if (records.empty()) {
        return positions;
    }
    for (const Record& record : records) {
        if (record.topic.empty()) {
            return Fail(ErrorCode::kInvalidArgument, "publish: a message has no topic");
        }
        if (!known_topics_.contains(record.topic)) {
            if (auto exists = EnsureTopicExists(client_.get(), record.topic, kAdminTimeout);
                !exists) {
                return tl::unexpected(exists.error());
            }
            known_topics_.insert(record.topic);
        }
    }
    const auto deadline = SteadyClock::now() + delivery_timeout_ + kDeliveryReportMargin;
    const std::uint64_t first = next_serial_;
    const auto forget = [&] { slots_.erase(slots_.lower_bound(first), slots_.end()); };
    for (Record& record : records) {
        const std::uint64_t serial = next_serial_++;
        slots_[serial] = Slot{};
        if (auto produced = Produce(record, serial, deadline); !produced) {
            forget();
            return tl::unexpected(produced.error());
        }
    }
    std::uint64_t waiting = first;  // Every serial before it has its report.
    while (waiting < next_serial_) {
        if (slots_[waiting].done) {
            ++waiting;
            continue;
        }
        if (SteadyClock::now() >= deadline) {
            forget();
            return Fail(
                ErrorCode::kUnavailable,
                "kafka publish: no delivery report within " +
                    std::to_string(delivery_timeout_.count()) + " ms (message.timeout.ms)"
            );
        }
        rd_kafka_poll(client_.get(), 50);
    }
    positions.reserve(records.size());
    for (std::uint64_t serial = first; serial < next_serial_; ++serial) {
        const Slot& slot = slots_[serial];
        if (slot.err != RD_KAFKA_RESP_ERR_NO_ERROR) {
            const auto& topic = records[serial - first].topic;
            known_topics_.erase(topic);  // Deleted meanwhile? Look again next time.
            forget();
            return FailKafka("publish to " + topic, slot.err);
        }
        positions.push_back(slot.position);
    }
    forget();
    return positions;
}

}  // namespace sagapay::kafka
