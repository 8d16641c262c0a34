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

std::optional<ParkedDetail> FindParked(
    EventBus& bus, const std::string& dlq_topic, const std::string& event_id
) {
    for (Parked& decoded : ReadAll(bus, dlq_topic, 0)) {
        if (decoded.envelope.value("event_id", "") != event_id) {
            continue;
        }
        return ParkedDetail{
            .summary =
                {
                    .position = decoded.position,
                    .event_id = event_id,
                    .aggregate_id = decoded.envelope.value("aggregate_id", ""),
                    .reason = decoded.reason,
                    .error_type = decoded.error_type,
                    .replay_topic = decoded.replay_topic,
                    .replayable = !decoded.replay_topic.empty() && decoded.failed_event.is_object(),
                },
            .envelope = std::move(decoded.envelope),
        };
    }
    return std::nullopt;
}

ReplayOutcome ReplayParked(
    EventBus& bus,
    http::Client& orchestrator,
    const std::vector<std::pair<std::string, std::string>>& orchestrator_headers,
    const ReplaySelector& selector
) {
    using Kind = ReplayOutcome::Kind;
    ReplayOutcome outcome;
    // Every parked message is read once (the bus's DLQ retention bounds them); the first match
    // wins, as in the seed.
    std::optional<Parked> match;
    for (Parked& parked : ReadAll(bus, selector.dlq_topic, 0)) {
        const std::string event_id = parked.envelope.value("event_id", "");
        const std::string aggregate_id = parked.envelope.value("aggregate_id", "");
        if ((selector.event_id.empty() || selector.event_id == event_id) &&
            (selector.aggregate_id.empty() || selector.aggregate_id == aggregate_id)) {
            match = std::move(parked);
            break;
        }
    }
    if (!match) {
        outcome.kind = Kind::kNoMatch;
        outcome.message = "no matching DLQ event";
        return outcome;
    }
    outcome.matched_event_id = match->envelope.value("event_id", "");
    outcome.reason = match->reason;
    outcome.replay_topic = match->replay_topic;
    if (match->replay_topic.empty() || !match->failed_event.is_object()) {
        outcome.kind = Kind::kNotReplayable;
        outcome.message = "the parked message names no replay topic or holds no event";
        return outcome;
    }
    outcome.payment_id = match->failed_event.value("aggregate_id", "");
    outcome.original_event_id = match->failed_event.value("event_id", "");
    // Replayed only while the payment provably waits for that step (finding 2).
    if (const auto refusal = ReplayRefusal(
            match->replay_topic,
            orchestrator.Send("GET", "/payments/" + outcome.payment_id, {}, orchestrator_headers)
        )) {
        outcome.kind = Kind::kRefused;
        outcome.message = *refusal;
        return outcome;
    }
    if (selector.dry_run) {
        outcome.kind = Kind::kDryRun;
        return outcome;
    }
    const nlohmann::json replay = ReplayEnvelope(match->failed_event);
    auto publisher = bus.CreatePublisher();
    if (!publisher) {
        outcome.kind = Kind::kPublishFailed;
        outcome.message = "cannot publish: " + publisher.error().message;
        return outcome;
    }
    const OutgoingMessage message{match->replay_topic, outcome.payment_id, replay.dump()};
    if (const auto published = (*publisher)->Publish({&message, 1}); !published) {
        outcome.kind = Kind::kPublishFailed;
        outcome.message = "publish failed: " + published.error().message;
        return outcome;
    }
    outcome.kind = Kind::kReplayed;
    outcome.new_event_id = replay["event_id"].get<std::string>();
    return outcome;
}

int RunReplayDlq(const DlqOptions& options) {
    using Kind = ReplayOutcome::Kind;
    if (options.event_id.empty() && options.aggregate_id.empty()) {
        std::fprintf(stderr, "replay-dlq: give --event-id and/or --aggregate-id\n");
        return 2;
    }
    const EventBusPtr bus = MakeToolBus(options);
    http::Client orchestrator(options.orchestrator_url);
    std::vector<std::pair<std::string, std::string>> headers;
    if (!options.internal_token.empty()) {
        headers.emplace_back("x-internal-token", options.internal_token);
    }
    const ReplayOutcome outcome = ReplayParked(
        *bus,
        orchestrator,
        headers,
        {.dlq_topic = options.dlq_topic,
         .event_id = options.event_id,
         .aggregate_id = options.aggregate_id,
         .dry_run = options.dry_run}
    );
    if (outcome.kind == Kind::kNoMatch) {
        std::printf("No matching DLQ event found before timeout.\n");
        return 1;
    }
    if (outcome.kind == Kind::kNotReplayable) {
        std::printf("Matched DLQ event is not replayable (missing replay_topic/failed_event).\n");
        return 2;
    }
    std::printf(
        "Matched DLQ event_id=%s aggregate_id=%s -> replay_topic=%s (reason: %s)\n",
        outcome.matched_event_id.c_str(),
        outcome.payment_id.c_str(),
        outcome.replay_topic.c_str(),
        outcome.reason.c_str()
    );
    switch (outcome.kind) {
        case Kind::kRefused:
            std::printf(
                "Payment %s: %s. Refused.\n", outcome.payment_id.c_str(), outcome.message.c_str()
            );
            return 2;
        case Kind::kDryRun:
            std::printf("Dry run only; no publish performed.\n");
            return 0;
        case Kind::kPublishFailed:
            std::printf("%s\n", outcome.message.c_str());
            return 2;
        default:
            break;
    }
    std::printf(
        "Replayed failed event as new event_id=%s (original event_id=%s) to %s\n",
        outcome.new_event_id.c_str(),
        outcome.original_event_id.c_str(),
        outcome.replay_topic.c_str()
    );
    return 0;
}

}  // namespace sagapay::app
