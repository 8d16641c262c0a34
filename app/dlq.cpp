#include "app/dlq.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <optional>

#include <nlohmann/json.hpp>

#include "adapters/http/http.hpp"
#include "adapters/redis/client.hpp"
#include "adapters/redis/streams_event_bus.hpp"
#include "app/replay_guard.hpp"
#include "core/ids.hpp"
#include "core/messaging/envelope.hpp"
#include "core/messaging/events.hpp"

namespace sagapay::app {

namespace {

struct Parked {
    std::string position;
    nlohmann::json envelope;  ///< The DLQ envelope (payments.dlq) or the parked event (deadletter).
    std::string replay_topic;     ///< "" when not replayable
    nlohmann::json failed_event;  ///< What a replay publishes.
    std::string reason;
    std::string error_type;  ///< payments.dlq only
};

std::string Field(const redis::Reply& fields, const std::string& name) {
    for (std::size_t i = 0; i + 1 < fields.elements.size(); i += 2) {
        if (fields.elements[i].str == name) {
            return fields.elements[i + 1].str;
        }
    }
    return {};
}

std::optional<Parked> Decode(const std::string& topic, const redis::Reply& entry) {
    if (entry.elements.size() != 2) {
        return std::nullopt;
    }
    Parked parked;
    parked.position = entry.elements[0].str;
    const redis::Reply& fields = entry.elements[1];
    if (topic == "deadletter") {
        parked.envelope = nlohmann::json::parse(Field(fields, "value"), nullptr, false);
        parked.reason = Field(fields, "reason");
        parked.replay_topic = Field(fields, "topic");
        parked.failed_event = parked.envelope;
    } else {
        const std::string value = Field(fields, "v");
        parked.envelope = nlohmann::json::parse(value, nullptr, false);
        // A payments.dlq record is a typed event: read it through the codec.
        const auto envelope = DecodeEnvelope(value);
        const auto record = envelope ? DecodeEvent<DlqRecorded>(*envelope)
                                     : Result<DlqRecorded>(tl::unexpected(envelope.error()));
        if (record) {
            parked.reason = record->reason;
            parked.error_type = record->error_type;
            parked.replay_topic = record->replay_topic;
            if (record->failed_event) {
                parked.failed_event = nlohmann::json::parse(EncodeEnvelope(*record->failed_event));
            }
        }
    }
    if (!parked.envelope.is_object()) {
        return std::nullopt;
    }
    return parked;
}

}  // namespace

std::vector<ParkedMessage> ReadParked(
    redis::Connection& conn,
    const std::string& stream_prefix,
    const std::string& dlq_topic,
    std::int64_t limit
) {
    constexpr std::int64_t kPage = 500;
    const std::string stream = stream_prefix + dlq_topic;
    std::vector<ParkedMessage> parked;
    std::string cursor = "-";
    while (true) {
        const std::int64_t want =
            limit > 0 ? std::min(kPage, limit - static_cast<std::int64_t>(parked.size())) : kPage;
        if (want <= 0) {
            break;
        }
        const auto page =
            conn.Command({"XRANGE", stream, cursor, "+", "COUNT", std::to_string(want)});
        for (const auto& entry : page.elements) {
            const auto decoded = Decode(dlq_topic, entry);
            if (!decoded) {
                continue;
            }
            parked.push_back({
                .position = decoded->position,
                .event_id = decoded->envelope.value("event_id", ""),
                .aggregate_id = decoded->envelope.value("aggregate_id", ""),
                .reason = decoded->reason,
                .error_type = decoded->error_type,
                .replay_topic = decoded->replay_topic,
                .replayable = !decoded->replay_topic.empty() && decoded->failed_event.is_object(),
            });
        }
        if (static_cast<std::int64_t>(page.elements.size()) < want || page.elements.empty()) {
            break;
        }
        cursor = "(" + page.elements.back().elements[0].str;
    }
    return parked;
}

int RunDlqList(const DlqOptions& options) {
    redis::Connection conn(redis::ParseRedisUrl(options.redis_url));
    for (const ParkedMessage& parked :
         ReadParked(conn, options.stream_prefix, options.dlq_topic, options.limit)) {
        const nlohmann::json line = {
            {"position", parked.position},
            {"event_id", parked.event_id},
            {"aggregate_id", parked.aggregate_id},
            {"reason", parked.reason},
            {"replay_topic", parked.replay_topic},
            {"replayable", parked.replayable},
        };
        std::printf("%s\n", line.dump().c_str());
    }
    return 0;
}

int RunReplayDlq(const DlqOptions& options) {
    if (options.event_id.empty() && options.aggregate_id.empty()) {
        std::fprintf(stderr, "replay-dlq: give --event-id and/or --aggregate-id\n");
        return 2;
    }
    redis::Connection conn(redis::ParseRedisUrl(options.redis_url));
    const std::string stream = options.stream_prefix + options.dlq_topic;
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::seconds(options.timeout_seconds);
    std::string cursor = "-";
    std::optional<Parked> match;
    while (!match && std::chrono::steady_clock::now() < deadline) {
        const auto page = conn.Command({"XRANGE", stream, cursor, "+", "COUNT", "200"});
        for (const auto& entry : page.elements) {
            const auto parked = Decode(options.dlq_topic, entry);
            if (!parked) {
                continue;
            }
            const std::string event_id = parked->envelope.value("event_id", "");
            const std::string aggregate_id = parked->envelope.value("aggregate_id", "");
            if ((options.event_id.empty() || options.event_id == event_id) &&
                (options.aggregate_id.empty() || options.aggregate_id == aggregate_id)) {
                match = parked;
                break;
            }
        }
        if (page.elements.size() < 200) {
            break;
        }
        cursor = "(" + page.elements.back().elements[0].str;
    }
    if (!match) {
        std::printf("No matching DLQ event found before timeout.\n");
        return 1;
    }
    if (match->replay_topic.empty() || !match->failed_event.is_object()) {
        std::printf("Matched DLQ event is not replayable (missing replay_topic/failed_event).\n");
        return 2;
    }
    const std::string payment_id = match->failed_event.value("aggregate_id", "");
    std::printf(
        "Matched DLQ event_id=%s aggregate_id=%s -> replay_topic=%s (reason: %s)\n",
        match->envelope.value("event_id", "").c_str(),
        payment_id.c_str(),
        match->replay_topic.c_str(),
        match->reason.c_str()
    );
    // Replayed only while the payment provably waits for that step (finding 2).
    http::Client orchestrator(options.orchestrator_url);
    std::vector<std::pair<std::string, std::string>> headers;
    if (!options.internal_token.empty()) {
        headers.emplace_back("x-internal-token", options.internal_token);
    }
    if (const auto refusal = ReplayRefusal(
            match->replay_topic, orchestrator.Send("GET", "/payments/" + payment_id, {}, headers)
        )) {
        std::printf("Payment %s: %s. Refused.\n", payment_id.c_str(), refusal->c_str());
        return 2;
    }
    if (options.dry_run) {
        std::printf("Dry run only; no publish performed.\n");
        return 0;
    }
    const nlohmann::json replay = ReplayEnvelope(match->failed_event);
    const std::string original = match->failed_event.value("event_id", "");
    redis::RedisStreamsEventBus bus(redis::ParseRedisUrl(options.redis_url), options.stream_prefix);
    auto publisher = bus.CreatePublisher();
    if (!publisher) {
        std::printf("Cannot publish: %s\n", publisher.error().message.c_str());
        return 2;
    }
    const OutgoingMessage message{match->replay_topic, payment_id, replay.dump()};
    const auto published = (*publisher)->Publish({&message, 1});
    if (!published) {
        std::printf("Publish failed: %s\n", published.error().message.c_str());
        return 2;
    }
    std::printf(
        "Replayed failed event as new event_id=%s (original event_id=%s) to %s\n",
        replay["event_id"].get<std::string>().c_str(),
        original.c_str(),
        match->replay_topic.c_str()
    );
    return 0;
}

}  // namespace sagapay::app
