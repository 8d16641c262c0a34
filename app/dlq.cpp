#include "app/dlq.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <optional>

#include <nlohmann/json.hpp>

#include "adapters/http/http.hpp"
#include "app/replay_guard.hpp"
#include "core/ids.hpp"
#include "core/messaging/envelope.hpp"
#include "core/messaging/events.hpp"
#include "core/messaging/topics.hpp"
#include "runtime/bootstrap.hpp"
#include "runtime/config.hpp"

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

std::string Header(const StoredMessage& message, std::string_view name) {
    for (const auto& [key, value] : message.headers) {
        if (key == name) {
            return value;
        }
    }
    return {};
}

std::optional<Parked> Decode(const std::string& topic, const StoredMessage& message) {
    Parked parked;
    parked.position = message.position;
    if (topic == topics::kDeadLetter) {
        // A message the bus parked: its value is the event, the headers say where it came from.
        parked.envelope = nlohmann::json::parse(message.value, nullptr, false);
        parked.reason = Header(message, "reason");
        parked.replay_topic = Header(message, "topic");
        parked.failed_event = parked.envelope;
    } else {
        parked.envelope = nlohmann::json::parse(message.value, nullptr, false);
        // A payments.dlq record is a typed event: read it through the codec.
        const auto envelope = DecodeEnvelope(message.value);
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

std::vector<Parked> ReadAll(EventBus& bus, const std::string& dlq_topic, std::int64_t limit) {
    auto stored =
        bus.ReadTopic(dlq_topic, static_cast<std::size_t>(std::max<std::int64_t>(0, limit)));
    if (!stored) {
        throw std::runtime_error("cannot read " + dlq_topic + ": " + stored.error().message);
    }
    std::vector<Parked> parked;
    parked.reserve(stored->size());
    for (const StoredMessage& message : *stored) {
        if (auto decoded = Decode(dlq_topic, message)) {
            parked.push_back(std::move(*decoded));
        }
    }
    return parked;
}

}  // namespace

EventBusPtr MakeToolBus(const DlqOptions& options) {
    Config config;
    config.service_name = "tools";
    config.event_bus = options.event_bus;
    config.redis_url = options.redis_url;
    config.kafka_bootstrap_servers = options.bootstrap_servers;
    config.stream_prefix = options.stream_prefix;
    return MakeEventBus(config);
}

std::vector<ParkedMessage> ReadParked(
    EventBus& bus, const std::string& dlq_topic, std::int64_t limit
) {
    std::vector<ParkedMessage> parked;
    for (Parked& decoded : ReadAll(bus, dlq_topic, limit)) {
        parked.push_back({
            .position = decoded.position,
            .event_id = decoded.envelope.value("event_id", ""),
            .aggregate_id = decoded.envelope.value("aggregate_id", ""),
            .reason = decoded.reason,
            .error_type = decoded.error_type,
            .replay_topic = decoded.replay_topic,
            .replayable = !decoded.replay_topic.empty() && decoded.failed_event.is_object(),
        });
    }
    return parked;
}

int RunDlqList(const DlqOptions& options) {
    const EventBusPtr bus = MakeToolBus(options);
    for (const ParkedMessage& parked : ReadParked(*bus, options.dlq_topic, options.limit)) {
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
    // Every parked message is read once (the bus's DLQ retention bounds them); the first match
    // wins, as in the seed.
    const EventBusPtr bus = MakeToolBus(options);
    std::optional<Parked> match;
    for (Parked& parked : ReadAll(*bus, options.dlq_topic, 0)) {
        const std::string event_id = parked.envelope.value("event_id", "");
        const std::string aggregate_id = parked.envelope.value("aggregate_id", "");
        if ((options.event_id.empty() || options.event_id == event_id) &&
            (options.aggregate_id.empty() || options.aggregate_id == aggregate_id)) {
            match = std::move(parked);
            break;
        }
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
    auto publisher = bus->CreatePublisher();
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
