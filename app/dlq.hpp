#pragma once

#include <cstdint>
#include <string>

namespace sagapay::app {

struct DlqOptions {
    std::string redis_url;
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
