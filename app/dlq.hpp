#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "adapters/http/client.hpp"
#include "core/ports/event_bus.hpp"

namespace sagapay::app {

struct DlqOptions {
    std::string event_bus = "redis";  ///< EVENT_BUS: redis or kafka
    std::string redis_url;
    std::string bootstrap_servers;           ///< --bootstrap-servers, else KAFKA_BOOTSTRAP_SERVERS
    std::string stream_prefix;               ///< EVENT_STREAM_PREFIX
    std::string dlq_topic = "payments.dlq";  ///< --dlq-topic: payments.dlq, or deadletter (bus)
    std::string orchestrator_url = "http://127.0.0.1:8001";
    std::string internal_token;  ///< INTERNAL_API_TOKEN, sent as X-Internal-Token when set
    std::string event_id;        ///< --event-id: the DLQ envelope's (or the parked event's) id
    std::string aggregate_id;    ///< --aggregate-id: the payment id
    bool dry_run = false;
    int timeout_seconds = 30;
    std::int64_t limit = 100;  ///< dlq list
};

/// One parked message as `sagapay dlq list` shows it.
struct ParkedMessage {
    std::string position;      ///< The stream entry id.
    std::string event_id;      ///< The DLQ envelope's (payments.dlq) or the parked event's id.
    std::string aggregate_id;  ///< The payment id.
    std::string reason;        ///< The park reason (deadletter) or the DLQ record's reason.
    std::string error_type;    ///< payments.dlq: NON_RETRYABLE or RETRY_EXHAUSTED; else empty.
    std::string replay_topic;
    bool replayable = false;
};

/// The bus the tools read and replay on: EVENT_BUS (redis at REDIS_URL, kafka at
/// --bootstrap-servers / KAFKA_BOOTSTRAP_SERVERS) with EVENT_STREAM_PREFIX.
[[nodiscard]] EventBusPtr MakeToolBus(const DlqOptions& options);

/// The parked messages of `dlq_topic` (payments.dlq or deadletter) on `bus`, oldest first: at
/// most `limit`, or every one when `limit` is 0. Entries that do not decode are skipped. Throws
/// std::runtime_error when the bus cannot be read.
[[nodiscard]] std::vector<ParkedMessage> ReadParked(
    EventBus& bus, const std::string& dlq_topic, std::int64_t limit
);

/// One parked message with what it holds: the parked JSON (`envelope`) besides the summary.
struct ParkedDetail {
    ParkedMessage summary;
    nlohmann::json envelope;
};

/// The parked message of `dlq_topic` whose event id is `event_id`, or nullopt. Throws
/// std::runtime_error when the bus cannot be read.
[[nodiscard]] std::optional<ParkedDetail> FindParked(
    EventBus& bus, const std::string& dlq_topic, const std::string& event_id
);

/// What a replay did (`sagapay replay-dlq` prints it, the console answers it).
struct ReplayOutcome {
    enum class Kind {
        kReplayed,       ///< published under `new_event_id`
        kDryRun,         ///< would have been published
        kNoMatch,        ///< no parked message matched
        kNotReplayable,  ///< the match names no replay topic or holds no event
        kRefused,        ///< the payment is not waiting for that step (ReplayRefusal)
        kPublishFailed,
    };
    Kind kind = Kind::kNoMatch;
    std::string message;  ///< why, for kRefused (ReplayRefusal's text) / kNotReplayable / …
    std::string matched_event_id;
    std::string payment_id;
    std::string replay_topic;
    std::string reason;
    std::string original_event_id;  ///< the replayed event's own id
    std::string new_event_id;
};

/// Which parked message `ReplayParked` replays: the first (oldest) of `dlq_topic` whose event
/// id and/or aggregate id match the non-empty ones.
struct ReplaySelector {
    std::string dlq_topic;
    std::string event_id;
    std::string aggregate_id;
    bool dry_run = false;
};

/// The replay of `replay-dlq`, and of the console: finds the parked message, asks the
/// orchestrator (GET /payments/{id}, with `orchestrator_headers`) whether the payment still
/// waits for that step (ReplayRefusal), and publishes ReplayEnvelope on its topic.
[[nodiscard]] ReplayOutcome ReplayParked(
    EventBus& bus,
    http::Client& orchestrator,
    const std::vector<std::pair<std::string, std::string>>& orchestrator_headers,
    const ReplaySelector& selector
);

/// `sagapay dlq list`: one JSON line per parked message, oldest first.
int RunDlqList(const DlqOptions& options);

/// `sagapay replay-dlq` with the seed's flags and exit codes: 0 replayed (or dry run), 1 no match
/// before the timeout, 2 not replayable. Two sources: `payments.dlq` (the provider's business
/// DLQ: replays `failed_event` to `replay_topic`) and `deadletter` (messages the bus parked after
/// failed deliveries: replays them to their topic). The replay gets a NEW event id (the seed kept
/// the old one, which every inbox had already seen, so its replay never did anything) and
/// `payload.replay = true`. A saga step for a payment that is already final is refused.
int RunReplayDlq(const DlqOptions& options);

}  // namespace sagapay::app
