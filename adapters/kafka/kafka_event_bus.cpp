#include "adapters/kafka/kafka_event_bus.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <exception>
#include <set>

#include "adapters/kafka/client.hpp"
#include "adapters/kafka/in_flight_window.hpp"
#include "adapters/kafka/kafka_error.hpp"

namespace sagapay::kafka {
namespace {

using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;

/// Un-acked deliveries of one partition before it pauses; it resumes once half of them are acked.
constexpr std::size_t kMaxInFlightPerPartition = 10000;
constexpr std::size_t kResumeInFlight = kMaxInFlightPerPartition / 2;
/// The longest ReadTopic reads before it gives up on reaching the watermarks.
constexpr std::chrono::milliseconds kReadTopicTimeout = 30s;

/// syslog's LOG_INFO: librdkafka's default logger shows up to this level.
constexpr int kLogInfo = 6;

constexpr const char* kNoProgress =
    "kafka keeps no consumer-group progress to trim by: the broker's retention (retention.ms, "
    "retention.bytes) trims topics, so this bus neither trims nor detects lost messages";

/// Runs `body` (returning a Result) and turns an exception into an error Result: nothing escapes
/// the port.
template <class Body>
auto Guarded(std::string_view what, Body&& body) -> decltype(body()) {
    try {
        return body();
    } catch (const std::exception& e) {
        return Fail(ErrorCode::kInternal, "kafka " + std::string(what) + ": " + e.what());
    }
}

std::string Bytes(const void* data, std::size_t size) {
    return data == nullptr ? std::string() : std::string(static_cast<const char*>(data), size);
}

int Milliseconds(std::chrono::milliseconds duration) {
    return static_cast<int>(std::clamp<std::chrono::milliseconds::rep>(duration.count(), 0, 1 << 30)
    );
}

std::string MakeTopicName(const std::string& prefix, std::string_view topic) {
    return SanitizeKafkaName(prefix + std::string(topic));
}

/// A list of `partitions` of `topic` at `offsets` (or RD_KAFKA_OFFSET_INVALID).
PartitionListHandle PartitionList(
    const std::string& topic, const std::vector<std::pair<std::int32_t, std::int64_t>>& partitions
) {
    PartitionListHandle list(rd_kafka_topic_partition_list_new(
        static_cast<int>(std::max<std::size_t>(partitions.size(), 1))
    ));
    for (const auto& [partition, offset] : partitions) {
        rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), partition)->offset = offset;
    }
    return list;
}

std::span<rd_kafka_topic_partition_t> Elements(rd_kafka_topic_partition_list_t* list) {
    return {list->elems, static_cast<std::size_t>(list->cnt)};
}

/// Headers of a consumed message, in order.
std::vector<std::pair<std::string, std::string>> HeadersOf(rd_kafka_message_t* message) {
    std::vector<std::pair<std::string, std::string>> headers;
    rd_kafka_headers_t* raw = nullptr;  // Owned by the message.
    if (rd_kafka_message_headers(message, &raw) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        return headers;
    }
    for (std::size_t i = 0;; ++i) {
        const char* name = nullptr;
        const void* value = nullptr;
        std::size_t size = 0;
        if (rd_kafka_header_get_all(raw, i, &name, &value, &size) != RD_KAFKA_RESP_ERR_NO_ERROR) {
            return headers;
        }
        headers.emplace_back(name, Bytes(value, size));
    }
}

class KafkaPublisher final : public EventPublisher {
public:
    KafkaPublisher(KafkaBusOptions options, std::unique_ptr<Producer> producer)
        : options_(std::move(options)), producer_(std::move(producer)) {}

    Result<std::vector<std::string>> Publish(std::span<const OutgoingMessage> batch) override {
        return Guarded("publish", [&]() -> Result<std::vector<std::string>> {
            std::vector<Record> records;
            records.reserve(batch.size());
            for (const OutgoingMessage& message : batch) {
                if (message.topic.empty()) {
                    return Fail(ErrorCode::kInvalidArgument, "publish: a message has no topic");
                }
                records.push_back(Record{
                    .topic = MakeTopicName(options_.prefix, message.topic),
                    .key = message.key,
                    .value = message.value,
                    .headers = {},
                });
            }
            if (!producer_) {
                auto made = Producer::Create(options_);
                if (!made) {
                    return tl::unexpected(made.error());
                }
                producer_ = std::move(*made);
            }
            auto sent = producer_->Send(records);
            if (!sent && sent.error().code == ErrorCode::kInternal) {
                producer_.reset();  // Fatal (the idempotent producer lost its guarantees): anew.
            }
            return sent;
        });
    }

    Result<TopicProgress> Progress(std::string_view /*topic*/) override {
        return Fail(ErrorCode::kFailedPrecondition, kNoProgress);
    }

    Result<std::int64_t> TrimBefore(std::string_view /*topic*/, std::string_view /*position*/)
        override {
        return Fail(ErrorCode::kFailedPrecondition, kNoProgress);
    }

private:
    KafkaBusOptions options_;
    std::unique_ptr<Producer> producer_;
};

class KafkaSubscription final : public EventSubscription {
public:
    KafkaSubscription(
        KafkaBusOptions bus_options,
        SubscriptionOptions options,
        std::string topic,
        std::string group_id,
        std::string dead_letter_topic
    )
        : bus_options_(std::move(bus_options)),
          options_(std::move(options)),
          topic_(std::move(topic)),
          group_id_(std::move(group_id)),
          dead_letter_topic_(std::move(dead_letter_topic)),
          window_(options_.visibility_timeout) {}

    KafkaSubscription(const KafkaSubscription&) = delete;
    KafkaSubscription& operator=(const KafkaSubscription&) = delete;

    ~KafkaSubscription() override {
        if (client_) {
            // Leaves the group now (not after session.timeout.ms); the revocation it runs
            // commits the acked prefixes while window_ is still alive.
            (void)rd_kafka_consumer_close(client_.get());
        }
    }

    /// Makes the consumer and subscribes it; `this` must not move afterwards (the rebalance
    /// callback's opaque).
    Result<void> Start() {
        auto conf = MakeConfig(
            bus_options_,
            ClientKind::kConsumer,
            {{"partition.assignment.strategy", "cooperative-sticky"},
             {"auto.offset.reset", "earliest"}},
            {{"group.id", group_id_},
             {"enable.auto.commit", "false"},
             {"enable.auto.offset.store", "false"},
             {"enable.partition.eof", "false"}}
        );
        if (!conf) {
            return tl::unexpected(conf.error());
        }
        rd_kafka_conf_set_rebalance_cb(conf->get(), &KafkaSubscription::OnRebalance);
        rd_kafka_conf_set_opaque(conf->get(), this);
        // The group's join state is in librdkafka's `cgrp` debug log only (see CommitAcked).
        std::array<char, 512> debug{};
        std::size_t size = debug.size();
        if (rd_kafka_conf_get(conf->get(), "debug", debug.data(), &size) == RD_KAFKA_CONF_OK &&
            debug[0] != '\0') {
            forward_debug_log_ = true;  // Asked for in KafkaBusOptions::extra: still shown.
        }
        const std::string with_cgrp =
            forward_debug_log_ ? std::string(debug.data()) + ",cgrp" : std::string("cgrp");
        if (auto set = SetProperty(conf->get(), "debug", with_cgrp); !set) {
            return set;
        }
        rd_kafka_conf_set_log_cb(conf->get(), &KafkaSubscription::OnLog);
        auto client = NewClient(std::move(*conf), ClientKind::kConsumer);
        if (!client) {
            return tl::unexpected(client.error());
        }
        client_ = std::move(*client);
        (void)rd_kafka_poll_set_consumer(client_.get());
        const PartitionListHandle topics = PartitionList(topic_, {{RD_KAFKA_PARTITION_UA, 0}});
        if (const rd_kafka_resp_err_t err = rd_kafka_subscribe(client_.get(), topics.get());
            err != RD_KAFKA_RESP_ERR_NO_ERROR) {
            return FailKafka("subscribe to " + topic_, err);
        }
        return {};
    }

    // EventSubscription
    Result<std::vector<Delivery>> Poll(std::size_t max, std::chrono::milliseconds wait) override {
        return Guarded("poll", [&]() -> Result<std::vector<Delivery>> {
            if (auto broken = CheckCallbacks(); !broken) {
                return tl::unexpected(broken.error());
            }
            if (max == 0) {
                return std::vector<Delivery>{};
            }
            if (auto committed = CommitAcked(); !committed) {
                return tl::unexpected(committed.error());
            }
            std::vector<Delivery> deliveries = window_.TakeDue(SteadyClock::now(), max);
            if (auto read = ReadNew(deliveries, max, deliveries.empty() ? wait : 0ms); !read) {
                return tl::unexpected(read.error());
            }
            return deliveries;
        });
    }

    Result<void> Ack(std::span<const Delivery> deliveries) override {
        return Guarded("ack", [&]() -> Result<void> {
            std::set<std::int32_t> touched;
            for (const Delivery& delivery : deliveries) {
                auto where = Where(delivery, "ack");
                if (!where) {
                    return tl::unexpected(where.error());
                }
                // False for a partition no longer owned: its new owner delivers it again.
                if (window_.Ack(where->first, where->second)) {
                    touched.insert(where->first);
                }
            }
            for (const std::int32_t partition : touched) {
                if (paused_.contains(partition) && window_.InFlight(partition) <= kResumeInFlight) {
                    SetPaused(partition, false);
                }
            }
            return CommitAcked();
        });
    }

    Result<void> DeadLetter(const Delivery& delivery, std::string_view reason) override {
        return Guarded("dead-letter", [&]() -> Result<void> {
            if (auto where = Where(delivery, "dead-letter"); !where) {
                return tl::unexpected(where.error());
            }
            if (!dead_letter_) {
                auto made = Producer::Create(bus_options_);
                if (!made) {
                    return tl::unexpected(made.error());
                }
                dead_letter_ = std::move(*made);
            }
            Record parked{
                .topic = dead_letter_topic_,
                .key = delivery.key,
                .value = delivery.value,
                .headers =
                    {{"topic", delivery.topic},
                     {"group", options_.group},
                     {"key", delivery.key},
                     {"reason", std::string(reason)},
                     {"position", delivery.position},
                     {"delivery_count", std::to_string(delivery.delivery_count)}},
            };
            auto sent = dead_letter_->Send({&parked, 1});
            if (!sent) {
                if (sent.error().code == ErrorCode::kInternal) {
                    dead_letter_.reset();
                }
                return tl::unexpected(sent.error());
            }
            return Ack({&delivery, 1});
        });
    }

    Result<std::int64_t> GroupLag() override {
        return Guarded("group lag", [&]() -> Result<std::int64_t> {
            auto info = DescribeTopic(client_.get(), topic_, kAdminTimeout);
            if (!info) {
                return tl::unexpected(info.error());
            }
            if (!info->exists) {
                return std::int64_t{0};
            }
            std::vector<std::pair<std::int32_t, std::int64_t>> all;
            all.reserve(static_cast<std::size_t>(info->partitions));
            for (std::int32_t partition = 0; partition < info->partitions; ++partition) {
                all.emplace_back(partition, RD_KAFKA_OFFSET_INVALID);
            }
            const PartitionListHandle committed = PartitionList(topic_, all);
            if (const rd_kafka_resp_err_t err =
                    rd_kafka_committed(client_.get(), committed.get(), Milliseconds(kAdminTimeout));
                err != RD_KAFKA_RESP_ERR_NO_ERROR) {
                return FailKafka("committed offsets of " + group_id_, err);
            }
            std::int64_t lag = 0;
            for (const rd_kafka_topic_partition_t& partition : Elements(committed.get())) {
                auto marks = QueryWatermarks(client_.get(), topic_, partition.partition);
                if (!marks) {
                    return tl::unexpected(marks.error());
                }
                // No commit yet (-1001) or one below what retention kept: from the oldest held.
                const std::int64_t from = std::max(partition.offset, marks->low);
                lag += std::max<std::int64_t>(marks->high - from, 0);
            }
            return lag;
        });
    }

    [[nodiscard]] std::vector<std::int32_t> Owned() const { return window_.Partitions(); }

private:
    /// librdkafka's log, on its own threads: tracks the join state, shows what librdkafka's
    /// default logger would (and the debug lines when KafkaBusOptions::extra asked for them).
    /// Calls only librdkafka's plain getters, as a log callback must.
    static void OnLog(const rd_kafka_t* client, int level, const char* facility, const char* line) {
        auto* self = static_cast<KafkaSubscription*>(rd_kafka_opaque(client));
        if (self == nullptr) {
            return;
        }
        // "Group "g" changed join state wait-join -> wait-metadata (state up)"
        if (std::strcmp(facility, "CGRPJOINSTATE") == 0) {
            if (const char* arrow = std::strstr(line, " -> ")) {
                self->steady_ = std::strncmp(arrow + 4, "steady ", 7) == 0;
            }
        }
        if (level <= kLogInfo || self->forward_debug_log_) {
            std::fprintf(stderr, "%%%d|%s|%s| %s\n", level, facility, rd_kafka_name(client), line);
        }
    }

    static void OnRebalance(
        rd_kafka_t* client,
        rd_kafka_resp_err_t err,
        rd_kafka_topic_partition_list_t* partitions,
        void* opaque
    ) {
        auto* self = static_cast<KafkaSubscription*>(opaque);
        try {
            self->Rebalance(client, err, partitions);
        } catch (const std::exception& e) {  // Not across librdkafka's C frames.
            self->callback_error_ = std::string("rebalance: ") + e.what();
        }
    }

    void Rebalance(
        rd_kafka_t* client, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* partitions
    ) {
        const bool cooperative =
            std::string_view(rd_kafka_rebalance_protocol(client)) == "COOPERATIVE";
        if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
            // Fetching starts at the group's committed offsets (auto.offset.reset if none).
            for (const rd_kafka_topic_partition_t& partition : Elements(partitions)) {
                window_.Assign(partition.partition);
            }
            if (cooperative) {
                Apply(rd_kafka_incremental_assign(client, partitions));
            } else {
                Check(rd_kafka_assign(client, partitions));
            }
            return;
        }
        if (err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) {
            // Commit the acked prefixes before the partitions go; a lost assignment (session
            // expired) can commit nothing: the group moved on.
            if (rd_kafka_assignment_lost(client) == 0) {
                (void)CommitAcked(true);
            }
            for (const rd_kafka_topic_partition_t& partition : Elements(partitions)) {
                (void)window_.Revoke(partition.partition);
                if (paused_.contains(partition.partition)) {
                    SetPaused(partition.partition, false);
                }
            }
            if (cooperative) {
                Apply(rd_kafka_incremental_unassign(client, partitions));
            } else {
                Check(rd_kafka_assign(client, nullptr));
            }
            return;
        }
        window_.Clear();
        paused_.clear();
        Check(rd_kafka_assign(client, nullptr));
        callback_error_ = KafkaErrorMessage("rebalance", err);
    }

    void Apply(rd_kafka_error_t* raw) {
        const ErrorHandle error(raw);
        if (error) {
            callback_error_ = std::string("kafka rebalance: ") + rd_kafka_error_string(error.get());
        }
    }

    void Check(rd_kafka_resp_err_t err) {
        if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
            callback_error_ = KafkaErrorMessage("rebalance", err);
        }
    }

    /// A failure inside a rebalance callback leaves the consumer's assignment unknown: the
    /// subscription is unusable (the caller makes a new one).
    [[nodiscard]] Result<void> CheckCallbacks() const {
        if (!callback_error_.empty()) {
            return Fail(ErrorCode::kUnavailable, callback_error_ + " (subscribe again)");
        }
        return {};
    }

    /// The partition and offset of a delivery of this subscription's topic.
    [[nodiscard]] Result<std::pair<std::int32_t, std::int64_t>> Where(
        const Delivery& delivery, std::string_view what
    ) const {
        if (delivery.topic != options_.topic) {
            return Fail(
                ErrorCode::kInvalidArgument,
                std::string(what) + ": delivery " + delivery.position + " of topic '" +
                    delivery.topic + "' does not belong to this subscription to '" +
                    options_.topic + "'"
            );
        }
        auto where = ParseKafkaPosition(delivery.position);
        if (!where) {
            return Fail(
                ErrorCode::kInvalidArgument,
                std::string(what) + ": '" + delivery.position +
                    "' is not a Kafka position (partition:offset)"
            );
        }
        return *where;
    }

    /// Commits every partition's acked prefix beyond its last commit. A commit refused for a
    /// transient reason stays due: the next Poll or Ack tries again.
    /// Outside a rebalance callback it commits only while the group is steady: librdkafka before
    /// 2.8.3 takes a commit that fails with ILLEGAL_GENERATION during a cooperative rebalance
    /// (sent after its JoinGroup) as a lost assignment, dropping every partition, so that
    /// messages acked since the last commit come again (librdkafka#4059). Deferred commits wait
    /// for the next Poll or Ack, or for the revocation.
    Result<void> CommitAcked(bool in_rebalance = false) {
        const auto commits = window_.Committable();
        if (commits.empty() || (!in_rebalance && !steady_)) {
            return {};
        }
        const PartitionListHandle offsets = PartitionList(topic_, commits);
        rd_kafka_resp_err_t err = rd_kafka_commit(client_.get(), offsets.get(), 0);
        if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
            for (const rd_kafka_topic_partition_t& partition : Elements(offsets.get())) {
                if (partition.err == RD_KAFKA_RESP_ERR_NO_ERROR) {
                    window_.Committed(partition.partition, partition.offset);
                } else if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
                    err = partition.err;
                }
            }
        }

        if (err == RD_KAFKA_RESP_ERR_NO_ERROR || err == RD_KAFKA_RESP_ERR__NO_OFFSET ||
            ErrorCodeFromKafka(err) == ErrorCode::kUnavailable) {
            return {};
        }
        return FailKafka("commit to group " + group_id_, err);
    }

    void SetPaused(std::int32_t partition, bool pause) {
        const PartitionListHandle list =
            PartitionList(topic_, {{partition, RD_KAFKA_OFFSET_INVALID}});
        if (pause) {
            (void)rd_kafka_pause_partitions(client_.get(), list.get());
            paused_.insert(partition);
        } else {
            (void)rd_kafka_resume_partitions(client_.get(), list.get());
            paused_.erase(partition);
        }
    }

    /// Appends new messages to `out` (up to `max`), waiting up to `wait` for the first one or for
    /// a delivery to fall due. Transient errors (a broker connection lost) are librdkafka's to
    /// recover from; others fail the Poll.
    Result<void> ReadNew(
        std::vector<Delivery>& out, std::size_t max, std::chrono::milliseconds wait
    ) {
        const auto deadline = SteadyClock::now() + wait;
        while (out.size() < max) {
            const auto now = SteadyClock::now();
            auto timeout = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now);
            if (!out.empty()) {
                timeout = 0ms;
            } else if (const auto due = window_.NextDue()) {
                timeout =
                    std::min(timeout, std::chrono::ceil<std::chrono::milliseconds>(*due - now));
            }
            const MessageHandle message(rd_kafka_consumer_poll(client_.get(), Milliseconds(timeout))
            );
            if (auto broken = CheckCallbacks(); !broken) {
                return broken;
            }
            if (!message) {
                if (!out.empty()) {
                    return {};
                }
                out = window_.TakeDue(SteadyClock::now(), max);
                if (!out.empty() || SteadyClock::now() >= deadline) {
                    return {};
                }
                continue;
            }
            if (message->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
                if (message->err == RD_KAFKA_RESP_ERR__PARTITION_EOF ||
                    ErrorCodeFromKafka(message->err) == ErrorCode::kUnavailable) {
                    continue;
                }
                if (!out.empty()) {
                    return {};
                }
                return Fail(
                    ErrorCodeFromKafka(message->err),
                    KafkaErrorMessage("consume " + topic_, message->err) + ": " +
                        rd_kafka_message_errstr(message.get())
                );
            }
            Delivery delivery{
                .topic = options_.topic,
                .key = Bytes(message->key, message->key_len),
                .value = Bytes(message->payload, message->len),
                .position = KafkaPosition(message->partition, message->offset),
                .delivery_count = 1,
            };
            // Not added: revoked since it was fetched, or fetched again after a pause.
            if (!window_.Add(message->partition, message->offset, delivery, SteadyClock::now())) {
                continue;
            }
            if (window_.InFlight(message->partition) >= kMaxInFlightPerPartition &&
                !paused_.contains(message->partition)) {
                SetPaused(message->partition, true);
            }
            out.push_back(std::move(delivery));
        }
        return {};
    }

    KafkaBusOptions bus_options_;
    SubscriptionOptions options_;
    std::string topic_;
    std::string group_id_;
    std::string dead_letter_topic_;
    InFlightWindow window_;
    std::set<std::int32_t> paused_;
    std::string callback_error_;
    /// The consumer group's join state is `steady` (written by OnLog on librdkafka's threads).
    std::atomic<bool> steady_{true};
    bool forward_debug_log_ = false;
    std::unique_ptr<Producer> dead_letter_;
    /// Last: closed in the destructor, destroyed first, while the state above is alive.
    KafkaHandle client_;
};

}  // namespace

std::string SanitizeKafkaName(std::string_view name) {
    std::string sanitized(name);
    for (char& c : sanitized) {
        const bool legal = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                           (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
        if (!legal) {
            c = '_';
        }
    }
    return sanitized;
}

std::string KafkaPosition(std::int32_t partition, std::int64_t offset) {
    return std::to_string(partition) + ":" + std::to_string(offset);
}

std::optional<std::pair<std::int32_t, std::int64_t>> ParseKafkaPosition(std::string_view position
) noexcept {
    const std::size_t colon = position.find(':');
    if (colon == std::string_view::npos) {
        return std::nullopt;
    }
    std::int32_t partition = 0;
    std::int64_t offset = 0;
    const char* begin = position.data();
    const char* middle = begin + colon;
    const char* end = begin + position.size();
    const auto first = std::from_chars(begin, middle, partition);
    const auto second = std::from_chars(middle + 1, end, offset);
    if (first.ec != std::errc() || first.ptr != middle || second.ec != std::errc() ||
        second.ptr != end || partition < 0 || offset < 0) {
        return std::nullopt;
    }
    return std::pair{partition, offset};
}

KafkaEventBus::KafkaEventBus(KafkaBusOptions options) : options_(std::move(options)) {}

KafkaEventBus::~KafkaEventBus() = default;

Result<rd_kafka_t*> KafkaEventBus::Admin() {
    if (!admin_) {
        auto conf = MakeConfig(options_, ClientKind::kProducer, {}, {});
        if (!conf) {
            return tl::unexpected(conf.error());
        }
        auto client = NewClient(std::move(*conf), ClientKind::kProducer);
        if (!client) {
            return tl::unexpected(client.error());
        }
        admin_ = std::move(*client);
    }
    return admin_.get();
}

Result<std::unique_ptr<EventPublisher>> KafkaEventBus::CreatePublisher() {
    return Guarded("create publisher", [&]() -> Result<std::unique_ptr<EventPublisher>> {
        auto producer = Producer::Create(options_);  // Settings are checked here, not later.
        if (!producer) {
            return tl::unexpected(producer.error());
        }
        return std::unique_ptr<EventPublisher>(
            std::make_unique<KafkaPublisher>(options_, std::move(*producer))
        );
    });
}

Result<std::unique_ptr<EventSubscription>> KafkaEventBus::Subscribe(
    const SubscriptionOptions& options
) {
    return Guarded("subscribe", [&]() -> Result<std::unique_ptr<EventSubscription>> {
        if (options.topic.empty() || options.group.empty() || options.consumer.empty()) {
            return Fail(
                ErrorCode::kInvalidArgument, "subscribe: topic, group and consumer are required"
            );
        }
        if (options.visibility_timeout.count() <= 0) {
            return Fail(ErrorCode::kInvalidArgument, "subscribe: visibility_timeout must be > 0");
        }
        {
            // A group on a missing topic would wait for it for a metadata refresh or longer.
            const std::lock_guard lock(admin_mutex_);
            auto admin = Admin();
            if (!admin) {
                return tl::unexpected(admin.error());
            }
            if (auto exists = EnsureTopicExists(*admin, TopicName(options.topic), kAdminTimeout);
                !exists) {
                return tl::unexpected(exists.error());
            }
        }
        auto subscription = std::make_unique<KafkaSubscription>(
            options_, options, TopicName(options.topic), GroupId(options.group), DeadLetterTopic()
        );
        if (auto started = subscription->Start(); !started) {
            return tl::unexpected(started.error());
        }
        return std::unique_ptr<EventSubscription>(std::move(subscription));
    });
}

Result<std::vector<StoredMessage>> KafkaEventBus::ReadTopic(
    std::string_view topic, std::size_t limit
) {
    return Guarded("read topic", [&]() -> Result<std::vector<StoredMessage>> {
        const std::string name = TopicName(topic);
        auto conf = MakeConfig(
            options_,
            ClientKind::kConsumer,
            {{"auto.offset.reset", "earliest"}},
            {{"group.id", GroupId("sagapay-read-topic")},  // Never joined nor committed to.
             {"enable.auto.commit", "false"},
             {"enable.auto.offset.store", "false"},
             {"enable.partition.eof", "true"}}
        );
        if (!conf) {
            return tl::unexpected(conf.error());
        }
        auto reader = NewClient(std::move(*conf), ClientKind::kConsumer);
        if (!reader) {
            return tl::unexpected(reader.error());
        }
        rd_kafka_t* client = reader->get();
        auto info = DescribeTopic(client, name, kAdminTimeout);
        if (!info) {
            return tl::unexpected(info.error());
        }
        std::vector<StoredMessage> messages;
        if (!info->exists) {
            return messages;
        }
        // Up to the high watermarks as they are now, so that the read ends.
        const auto partitions = static_cast<std::size_t>(info->partitions);
        std::vector<std::int64_t> ends(partitions, 0);
        std::vector<std::pair<std::int32_t, std::int64_t>> starts;
        for (std::int32_t partition = 0; partition < info->partitions; ++partition) {
            auto marks = QueryWatermarks(client, name, partition);
            if (!marks) {
                return tl::unexpected(marks.error());
            }
            ends[static_cast<std::size_t>(partition)] = marks->high;
            if (marks->high > marks->low) {
                starts.emplace_back(partition, marks->low);
            }
        }
        if (starts.empty()) {
            return messages;
        }
        const PartitionListHandle assignment = PartitionList(name, starts);
        if (const rd_kafka_resp_err_t err = rd_kafka_assign(client, assignment.get());
            err != RD_KAFKA_RESP_ERR_NO_ERROR) {
            return FailKafka("read " + name, err);
        }
        struct Held {
            std::int64_t timestamp = 0;
            StoredMessage message;
        };
        std::vector<std::vector<Held>> read(partitions);
        std::vector<bool> done(partitions, true);
        for (const auto& [partition, offset] : starts) {
            done[static_cast<std::size_t>(partition)] = false;
        }
        std::size_t remaining = starts.size();
        const auto deadline = SteadyClock::now() + kReadTopicTimeout;
        while (remaining > 0) {
            if (SteadyClock::now() >= deadline) {
                return Fail(
                    ErrorCode::kUnavailable,
                    "kafka read " + name + ": did not reach the end of every partition within " +
                        std::to_string(kReadTopicTimeout.count()) + " ms"
                );
            }
            const MessageHandle message(rd_kafka_consumer_poll(client, 100));
            if (!message) {
                continue;
            }
            if (message->err != RD_KAFKA_RESP_ERR_NO_ERROR &&
                message->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                if (ErrorCodeFromKafka(message->err) == ErrorCode::kUnavailable) {
                    continue;
                }
                return FailKafka("read " + name, message->err);
            }
            const auto partition = static_cast<std::size_t>(message->partition);
            if (message->partition < 0 || partition >= partitions || done[partition]) {
                continue;
            }
            std::vector<Held>& held = read[partition];
            const bool past_end = message->err == RD_KAFKA_RESP_ERR__PARTITION_EOF ||
                                  message->offset >= ends[partition];
            if (!past_end) {
                rd_kafka_timestamp_type_t type = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE;
                held.push_back(Held{
                    .timestamp = rd_kafka_message_timestamp(message.get(), &type),
                    .message =
                        StoredMessage{
                            .position = KafkaPosition(message->partition, message->offset),
                            .key = Bytes(message->key, message->key_len),
                            .value = Bytes(message->payload, message->len),
                            .headers = HeadersOf(message.get()),
                        },
                });
            }
            if (past_end || message->offset + 1 >= ends[partition] ||
                (limit > 0 && held.size() >= limit)) {
                done[partition] = true;
                --remaining;
            }
        }
        // Merged oldest first by timestamp; each partition keeps its own order.
        std::vector<std::size_t> next(partitions, 0);
        while (limit == 0 || messages.size() < limit) {
            std::optional<std::size_t> oldest;
            for (std::size_t p = 0; p < partitions; ++p) {
                if (next[p] < read[p].size() &&
                    (!oldest || read[p][next[p]].timestamp < read[*oldest][next[*oldest]].timestamp
                    )) {
                    oldest = p;
                }
            }
            if (!oldest) {
                break;
            }
            messages.push_back(std::move(read[*oldest][next[*oldest]++].message));
        }
        return messages;
    });
}

Result<void> KafkaEventBus::EnsureTopics(
    std::span<const std::string> topics, const TopicSettings& settings
) {
    return Guarded("ensure topics", [&]() -> Result<void> {
        std::vector<std::string> names;
        names.reserve(topics.size());
        for (const std::string& topic : topics) {
            names.push_back(TopicName(topic));
        }
        const std::lock_guard lock(admin_mutex_);
        auto admin = Admin();
        if (!admin) {
            return tl::unexpected(admin.error());
        }
        return CreateTopics(
            *admin, names, settings.partitions, settings.replication_factor, kAdminTimeout
        );
    });
}

std::string KafkaEventBus::TopicName(std::string_view topic) const {
    return MakeTopicName(options_.prefix, topic);
}

std::string KafkaEventBus::GroupId(std::string_view group) const {
    return SanitizeKafkaName(options_.prefix + std::string(group));
}

std::string KafkaEventBus::DeadLetterTopic() const {
    return TopicName("deadletter");
}

std::optional<std::vector<std::int32_t>> AssignedPartitions(const EventSubscription& subscription) {
    if (const auto* kafka = dynamic_cast<const KafkaSubscription*>(&subscription)) {
        return kafka->Owned();
    }
    return std::nullopt;
}

}  // namespace sagapay::kafka
