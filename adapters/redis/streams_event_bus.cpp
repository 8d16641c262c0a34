#include "adapters/redis/streams_event_bus.hpp"

#include <algorithm>
#include <cstdint>
#include <exception>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

namespace sagapay::redis {
namespace {

using namespace std::chrono_literals;

/// Extra socket time for a blocking XREADGROUP on top of its BLOCK time.
constexpr std::chrono::milliseconds kBlockingReadMargin = 1s;
/// Upper bound for one Poll's COUNT: Redis rejects absurd counts, and `max` is only "up to".
constexpr std::size_t kMaxPollBatch = 10000;
/// Delivery count of a reclaimed entry whose XPENDING row vanished in between.
constexpr std::int64_t kRedeliveredCount = 2;
/// Entries per XRANGE page of ReadTopic and of the lag count.
constexpr std::size_t kRangePage = 1000;

std::string MakeStreamName(const std::string& prefix, std::string_view topic) {
    return prefix + std::string(topic);
}

/// Runs `body` (returning Result<T>) and turns every exception into an error Result, so nothing
/// escapes the port.
template <class Body>
auto Guarded(std::string_view what, Body&& body) -> decltype(body()) {
    try {
        return body();
    } catch (const RedisError& e) {
        return Fail(e.Code(), e.what());
    } catch (const std::exception& e) {
        return Fail(ErrorCode::kInternal, std::string(what) + ": " + e.what());
    } catch (...) {
        return Fail(ErrorCode::kInternal, std::string(what) + ": unknown exception");
    }
}

[[noreturn]] void FailReply(std::string_view command, std::string_view what) {
    throw RedisError(
        ErrorCode::kInternal,
        "redis " + std::string(command) + ": unexpected reply, " + std::string(what)
    );
}

/// A stream entry `[id, [field, value, ...]]` as a Delivery; nullopt for a deleted entry (nil).
/// Missing `k`/`v` fields give empty strings.
std::optional<Delivery> ToDelivery(
    const Reply& entry, const std::string& topic, std::int64_t delivery_count
) {
    if (entry.type != Reply::Type::kArray || entry.elements.size() < 2 ||
        entry.elements[0].type != Reply::Type::kString) {
        return std::nullopt;
    }
    const Reply& fields = entry.elements[1];
    if (fields.type != Reply::Type::kArray) {
        return std::nullopt;
    }
    Delivery delivery;
    delivery.topic = topic;
    delivery.position = entry.elements[0].str;
    delivery.delivery_count = delivery_count;
    for (std::size_t i = 0; i + 1 < fields.elements.size(); i += 2) {
        const std::string& name = fields.elements[i].str;
        if (name == "k") {
            delivery.key = fields.elements[i + 1].str;
        } else if (name == "v") {
            delivery.value = fields.elements[i + 1].str;
        }
    }
    return delivery;
}

/// A stream entry as a StoredMessage: `k`/`key` is the key, `v`/`value` the value (a regular
/// entry has the first, a dead-letter entry the second), every other field a header. nullopt for
/// a deleted entry.
std::optional<StoredMessage> ToStoredMessage(const Reply& entry) {
    if (entry.type != Reply::Type::kArray || entry.elements.size() < 2 ||
        entry.elements[0].type != Reply::Type::kString ||
        entry.elements[1].type != Reply::Type::kArray) {
        return std::nullopt;
    }
    const std::vector<Reply>& fields = entry.elements[1].elements;
    StoredMessage message;
    message.position = entry.elements[0].str;
    for (std::size_t i = 0; i + 1 < fields.size(); i += 2) {
        const std::string& name = fields[i].str;
        const std::string& value = fields[i + 1].str;
        if (name == "k" || name == "key") {
            message.key = value;
        } else if (name == "v" || name == "value") {
            message.value = value;
        } else {
            message.headers.emplace_back(name, value);
        }
    }
    return message;
}

bool IsNoGroup(const RedisError& e) {
    return std::string_view(e.what()).find("NOGROUP") != std::string_view::npos;
}

/// A flat `[name, value, name, value, ...]` reply (XINFO) as a lookup.
const Reply* FieldOf(const Reply& flat, std::string_view name) {
    for (std::size_t i = 0; i + 1 < flat.elements.size(); i += 2) {
        if (flat.elements[i].str == name) {
            return &flat.elements[i + 1];
        }
    }
    return nullptr;
}

/// The position right after `position` (`ms-(seq+1)`).
std::string NextPosition(const std::string& position) {
    const std::size_t dash = position.find('-');
    if (dash == std::string::npos) {
        return position;
    }
    const std::uint64_t seq = std::stoull(position.substr(dash + 1));
    return position.substr(0, dash + 1) + std::to_string(seq + 1);
}

bool IsNoSuchKey(const RedisError& e) {
    return std::string_view(e.what()).find("no such key") != std::string_view::npos;
}

class StreamsPublisher final : public EventPublisher {
public:
    StreamsPublisher(Endpoint endpoint, std::string prefix)
        : conn_(std::move(endpoint)), prefix_(std::move(prefix)) {}

    Result<std::vector<std::string>> Publish(std::span<const OutgoingMessage> batch) override {
        return Guarded("publish", [&]() -> Result<std::vector<std::string>> {
            std::vector<std::string> positions;
            if (batch.empty()) {
                return positions;
            }
            std::vector<std::vector<std::string>> commands;
            commands.reserve(batch.size());
            for (const OutgoingMessage& message : batch) {
                if (message.topic.empty()) {
                    return Fail(ErrorCode::kInvalidArgument, "publish: a message has no topic");
                }
                commands.push_back(
                    {"XADD",
                     MakeStreamName(prefix_, message.topic),
                     "*",
                     "k",
                     message.key,
                     "v",
                     message.value}
                );
            }
            const std::vector<Reply> replies = conn_.Pipeline(commands);
            positions.reserve(replies.size());
            for (const Reply& reply : replies) {
                if (reply.type != Reply::Type::kString) {
                    FailReply("XADD", "expected the entry id");
                }
                positions.push_back(reply.str);
            }
            return positions;
        });
    }

    Result<TopicProgress> Progress(std::string_view topic) override {
        return Guarded("progress", [&]() -> Result<TopicProgress> {
            const std::string stream = MakeStreamName(prefix_, topic);
            TopicProgress progress;
            std::vector<Reply> info;
            try {
                info = conn_.Pipeline({{"XINFO", "STREAM", stream}, {"XINFO", "GROUPS", stream}});
            } catch (const RedisError& e) {
                if (IsNoSuchKey(e)) {
                    return progress;  // exists = false
                }
                throw;
            }
            progress.exists = true;
            if (const Reply* last = FieldOf(info[0], "last-generated-id")) {
                progress.last_position = last->str;
            }
            // Per group: the oldest pending entry if any (XPENDING summary), else the entry after
            // the last delivered one. Read after XINFO GROUPS, so it can only be later (safe).
            std::vector<std::string> bounds;
            std::vector<std::vector<std::string>> pending_queries;
            std::vector<std::size_t> pending_index;
            for (const Reply& group : info[1].elements) {
                const Reply* name = FieldOf(group, "name");
                const Reply* delivered = FieldOf(group, "last-delivered-id");
                const Reply* pending = FieldOf(group, "pending");
                if (name == nullptr || delivered == nullptr || pending == nullptr) {
                    FailReply("XINFO GROUPS", "expected name, pending, last-delivered-id");
                }
                bounds.push_back(NextPosition(delivered->str));
                if (pending->integer > 0) {
                    pending_queries.push_back({"XPENDING", stream, name->str});
                    pending_index.push_back(bounds.size() - 1);
                }
            }
            const std::vector<Reply> pending = conn_.Pipeline(pending_queries);
            for (std::size_t i = 0; i < pending.size(); ++i) {
                // [count, oldest id, newest id, consumers]; count 0 once all were acked meanwhile.
                const Reply& summary = pending[i];
                if (summary.elements.size() >= 2 && summary.elements[0].integer > 0 &&
                    summary.elements[1].type == Reply::Type::kString) {
                    std::string& bound = bounds[pending_index[i]];
                    if (CompareBusPositions(summary.elements[1].str, bound) < 0) {
                        bound = summary.elements[1].str;
                    }
                }
            }
            progress.groups = bounds.size();
            for (const std::string& bound : bounds) {
                if (progress.consumed_before.empty() ||
                    CompareBusPositions(bound, progress.consumed_before) < 0) {
                    progress.consumed_before = bound;
                }
            }
            return progress;
        });
    }

    Result<std::int64_t> TrimBefore(std::string_view topic, std::string_view position) override {
        return Guarded("trim", [&]() -> Result<std::int64_t> {
            // MINID deletes the entries with an id below `position` (exact, not `~`: the caller
            // states exactly what every group is done with).
            const Reply reply = conn_.Command(
                {"XTRIM", MakeStreamName(prefix_, topic), "MINID", "=", std::string(position)}
            );
            return reply.integer;
        });
    }

private:
    Connection conn_;
    std::string prefix_;
};

class StreamsSubscription final : public EventSubscription {
public:
    StreamsSubscription(
        Endpoint endpoint,
        SubscriptionOptions options,
        std::string stream,
        std::string dead_letter_stream
    )
        : conn_(std::move(endpoint)),
          options_(std::move(options)),
          stream_(std::move(stream)),
          dead_letter_stream_(std::move(dead_letter_stream)) {}

    /// Creates the consumer group at the start of the stream unless it exists.
    void EnsureGroup() {
        try {
            conn_.Command({"XGROUP", "CREATE", stream_, options_.group, "0", "MKSTREAM"});
        } catch (const RedisError& e) {
            if (std::string_view(e.what()).find("BUSYGROUP") == std::string_view::npos) {
                throw;
            }
        }
    }

    Result<std::vector<Delivery>> Poll(std::size_t max, std::chrono::milliseconds wait) override {
        return Guarded("poll", [&]() -> Result<std::vector<Delivery>> {
            if (max == 0) {
                return std::vector<Delivery>{};
            }
            const std::size_t count = std::min(max, kMaxPollBatch);
            try {
                const auto now = std::chrono::steady_clock::now();
                if (now >= next_reclaim_) {
                    next_reclaim_ =
                        now +
                        std::max<std::chrono::milliseconds>(options_.visibility_timeout / 2, 1ms);
                    std::vector<Delivery> claimed = Reclaim(count);
                    if (!claimed.empty()) {
                        return claimed;
                    }
                }
                return ReadNew(count, wait);
            } catch (const RedisError& e) {
                if (!IsNoGroup(e)) {
                    throw;
                }
                // The group (or the whole stream) vanished, e.g. Redis restarted without
                // persistence: re-create it so that the caller's retry works.
                EnsureGroup();
                return Fail(
                    ErrorCode::kUnavailable,
                    std::string(e.what()) + " (consumer group re-created; retry)"
                );
            }
        });
    }

    Result<void> Ack(std::span<const Delivery> deliveries) override {
        return Guarded("ack", [&]() -> Result<void> {
            if (deliveries.empty()) {
                return {};
            }
            std::vector<std::string> args{"XACK", stream_, options_.group};
            args.reserve(3 + deliveries.size());
            for (const Delivery& delivery : deliveries) {
                if (auto wrong = CheckTopic(delivery, "ack"); !wrong) {
                    return wrong;
                }
                args.push_back(delivery.position);
            }
            conn_.Command(args);
            return {};
        });
    }

    Result<void> DeadLetter(const Delivery& delivery, std::string_view reason) override {
        return Guarded("dead-letter", [&]() -> Result<void> {
            if (auto wrong = CheckTopic(delivery, "dead-letter"); !wrong) {
                return wrong;
            }
            // MULTI/EXEC: the copy and the ack happen together or not at all.
            conn_.Pipeline({
                {"MULTI"},
                {"XADD",
                 dead_letter_stream_,
                 "*",
                 "topic",
                 delivery.topic,
                 "group",
                 options_.group,
                 "key",
                 delivery.key,
                 "value",
                 delivery.value,
                 "reason",
                 std::string(reason),
                 "position",
                 delivery.position,
                 "delivery_count",
                 std::to_string(delivery.delivery_count)},
                {"XACK", stream_, options_.group, delivery.position},
                {"EXEC"},
            });
            return {};
        });
    }

    Result<std::int64_t> GroupLag() override {
        return Guarded("group lag", [&]() -> Result<std::int64_t> {
            Reply groups;
            try {
                groups = conn_.Command({"XINFO", "GROUPS", stream_});
            } catch (const RedisError& e) {
                if (IsNoSuchKey(e)) {
                    return std::int64_t{0};  // No stream: nothing held, nothing to consume.
                }
                throw;
            }
            for (const Reply& group : groups.elements) {
                const Reply* name = FieldOf(group, "name");
                if (name == nullptr || name->str != options_.group) {
                    continue;
                }
                const Reply* pending = FieldOf(group, "pending");
                const Reply* delivered = FieldOf(group, "last-delivered-id");
                if (pending == nullptr || delivered == nullptr) {
                    FailReply("XINFO GROUPS", "expected pending and last-delivered-id");
                }
                // Redis 7 counts the undelivered entries (`lag`), nil when an XDEL makes it
                // unknowable; Redis 6.2 has no such field. Then count them.
                const Reply* lag = FieldOf(group, "lag");
                const std::int64_t undelivered =
                    lag != nullptr && lag->type == Reply::Type::kInteger
                        ? lag->integer
                        : CountAfter(delivered->str);
                return undelivered + pending->integer;
            }
            // The group is gone (the stream was re-created): a new one at 0 reads all of it.
            return conn_.Command({"XLEN", stream_}).integer;
        });
    }

private:
    /// How many entries the stream holds after `position`.
    std::int64_t CountAfter(const std::string& position) {
        std::int64_t count = 0;
        std::string start = "(" + position;
        while (true) {
            const Reply page =
                conn_.Command({"XRANGE", stream_, start, "+", "COUNT", std::to_string(kRangePage)});
            if (page.type != Reply::Type::kArray) {
                FailReply("XRANGE", "expected entries");
            }
            count += static_cast<std::int64_t>(page.elements.size());
            if (page.elements.size() < kRangePage) {
                return count;
            }
            start = "(" + page.elements.back().elements.at(0).str;
        }
    }

    [[nodiscard]] Result<void> CheckTopic(const Delivery& delivery, std::string_view what) const {
        if (delivery.topic != options_.topic) {
            return Fail(
                ErrorCode::kInvalidArgument,
                std::string(what) + ": delivery " + delivery.position + " of topic '" +
                    delivery.topic + "' does not belong to this subscription to '" +
                    options_.topic + "'"
            );
        }
        return {};
    }

    /// Takes over up to `max` entries idle longer than the visibility timeout.
    std::vector<Delivery> Reclaim(std::size_t max) {
        const std::string min_idle = std::to_string(options_.visibility_timeout.count());
        std::vector<Delivery> claimed;
        while (claimed.size() < max) {
            const Reply reply = conn_.Command(
                {"XAUTOCLAIM",
                 stream_,
                 options_.group,
                 options_.consumer,
                 min_idle,
                 claim_cursor_,
                 "COUNT",
                 std::to_string(max - claimed.size())}
            );
            // Redis 7: [cursor, entries, deleted ids]; Redis 6.2: [cursor, entries].
            if (reply.type != Reply::Type::kArray || reply.elements.size() < 2 ||
                reply.elements[0].type != Reply::Type::kString ||
                reply.elements[1].type != Reply::Type::kArray) {
                FailReply("XAUTOCLAIM", "expected [cursor, entries, ...]");
            }
            claim_cursor_ = reply.elements[0].str;
            const std::vector<Reply>& entries = reply.elements[1].elements;
            for (const Reply& entry : entries) {
                if (auto delivery = ToDelivery(entry, options_.topic, kRedeliveredCount)) {
                    claimed.push_back(std::move(*delivery));
                }
            }
            if (entries.empty() || claim_cursor_ == "0-0") {
                break;  // Scanned the whole pending list, or nothing more to take now.
            }
        }
        if (!claimed.empty()) {
            ReadDeliveryCounts(claimed);
        }
        return claimed;
    }

    /// XAUTOCLAIM already counted the new delivery; XPENDING tells the total.
    void ReadDeliveryCounts(std::vector<Delivery>& deliveries) {
        std::vector<std::vector<std::string>> commands;
        commands.reserve(deliveries.size());
        for (const Delivery& delivery : deliveries) {
            commands.push_back(
                {"XPENDING", stream_, options_.group, delivery.position, delivery.position, "1"}
            );
        }
        const std::vector<Reply> replies = conn_.Pipeline(commands);
        for (std::size_t i = 0; i < deliveries.size(); ++i) {
            const Reply& rows = replies[i];
            // [[id, consumer, idle ms, delivery count]]
            if (rows.type == Reply::Type::kArray && !rows.elements.empty() &&
                rows.elements[0].type == Reply::Type::kArray &&
                rows.elements[0].elements.size() >= 4 &&
                rows.elements[0].elements[3].type == Reply::Type::kInteger) {
                deliveries[i].delivery_count = rows.elements[0].elements[3].integer;
            }
        }
    }

    /// Reads entries never delivered to the group, blocking up to `wait`.
    std::vector<Delivery> ReadNew(std::size_t max, std::chrono::milliseconds wait) {
        std::vector<std::string> args{
            "XREADGROUP", "GROUP", options_.group, options_.consumer, "COUNT", std::to_string(max)};
        const bool blocking = wait.count() > 0;  // BLOCK 0 would wait forever.
        if (blocking) {
            args.emplace_back("BLOCK");
            args.emplace_back(std::to_string(wait.count()));
        }
        args.emplace_back("STREAMS");
        args.emplace_back(stream_);
        args.emplace_back(">");
        const Reply reply = blocking ? conn_.CommandWithTimeout(args, wait + kBlockingReadMargin)
                                     : conn_.Command(args);
        std::vector<Delivery> deliveries;
        if (reply.IsNil()) {
            return deliveries;  // Timed out.
        }
        if (reply.type != Reply::Type::kArray) {
            FailReply("XREADGROUP", "expected [[stream, entries]]");
        }
        for (const Reply& stream : reply.elements) {
            if (stream.type != Reply::Type::kArray || stream.elements.size() < 2 ||
                stream.elements[1].type != Reply::Type::kArray) {
                FailReply("XREADGROUP", "expected [stream, entries]");
            }
            for (const Reply& entry : stream.elements[1].elements) {
                if (auto delivery = ToDelivery(entry, options_.topic, 1)) {
                    deliveries.push_back(std::move(*delivery));
                }
            }
        }
        return deliveries;
    }

    Connection conn_;
    SubscriptionOptions options_;
    std::string stream_;
    std::string dead_letter_stream_;
    std::string claim_cursor_ = "0-0";
    /// When the next Poll runs XAUTOCLAIM; the epoch makes the first Poll do it.
    std::chrono::steady_clock::time_point next_reclaim_{};
};

}  // namespace

RedisStreamsEventBus::RedisStreamsEventBus(Endpoint endpoint, std::string stream_prefix)
    : endpoint_(std::move(endpoint)), prefix_(std::move(stream_prefix)) {}

Result<std::unique_ptr<EventPublisher>> RedisStreamsEventBus::CreatePublisher() {
    return Guarded("create publisher", [&]() -> Result<std::unique_ptr<EventPublisher>> {
        return std::unique_ptr<EventPublisher>(
            std::make_unique<StreamsPublisher>(endpoint_, prefix_)
        );
    });
}

Result<std::unique_ptr<EventSubscription>> RedisStreamsEventBus::Subscribe(
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
        auto subscription = std::make_unique<StreamsSubscription>(
            endpoint_, options, StreamName(options.topic), DeadLetterStream()
        );
        subscription->EnsureGroup();
        return std::unique_ptr<EventSubscription>(std::move(subscription));
    });
}

Result<std::vector<StoredMessage>> RedisStreamsEventBus::ReadTopic(
    std::string_view topic, std::size_t limit
) {
    return Guarded("read topic", [&]() -> Result<std::vector<StoredMessage>> {
        Connection conn(endpoint_);
        const std::string stream = StreamName(topic);
        std::vector<StoredMessage> messages;
        std::string start = "-";
        while (limit == 0 || messages.size() < limit) {
            const std::size_t page =
                limit == 0 ? kRangePage : std::min(kRangePage, limit - messages.size());
            const Reply entries =
                conn.Command({"XRANGE", stream, start, "+", "COUNT", std::to_string(page)});
            if (entries.type != Reply::Type::kArray) {
                FailReply("XRANGE", "expected entries");
            }
            for (const Reply& entry : entries.elements) {
                if (auto message = ToStoredMessage(entry)) {
                    messages.push_back(std::move(*message));
                }
            }
            if (entries.elements.size() < page) {
                break;
            }
            start = "(" + entries.elements.back().elements.at(0).str;
        }
        return messages;
    });
}

Result<void> RedisStreamsEventBus::EnsureTopics(
    std::span<const std::string> /*topics*/, const TopicSettings& /*settings*/
) {
    return {};  // A stream appears on its first XADD, a group on Subscribe (MKSTREAM).
}

std::string RedisStreamsEventBus::StreamName(std::string_view topic) const {
    return MakeStreamName(prefix_, topic);
}

std::string RedisStreamsEventBus::DeadLetterStream() const {
    return prefix_ + "deadletter";
}

}  // namespace sagapay::redis
