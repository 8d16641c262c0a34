#pragma once

#include <chrono>
#include <stop_token>
#include <string>

#include "core/ports/event_bus.hpp"

namespace sagapay {

struct RelayOptions {
    std::string service;  ///< Metrics label.
    std::string dsn;
    int batch = 500;
    std::chrono::milliseconds reclaim_after{std::chrono::seconds(30)};
    std::chrono::milliseconds poll_fallback{1000};  ///< Poll this often if a NOTIFY is missed.
    std::chrono::seconds retention{3600};           ///< SENT rows are deleted after this.
};

/// Moves committed outbox rows to the bus until `stop` is requested. Woken by LISTEN/NOTIFY the
/// moment an outbox insert commits; polls every `poll_fallback` in case a notification was lost.
/// Per round: claim up to `batch` rows (SKIP LOCKED), publish them in one bus call, mark them sent
/// in one statement; a full batch loops at once. A crash between publish and mark-sent republishes
/// the rows after `reclaim_after` (consumers deduplicate by event id).
void RunOutboxRelay(std::stop_token stop, EventBus& bus, const RelayOptions& options);

}  // namespace sagapay
