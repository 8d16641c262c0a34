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
    /// PROCESSING rows (claims written by versions before migration 0004) count as abandoned
    /// after this.
    std::chrono::milliseconds reclaim_after{std::chrono::seconds(30)};
    std::chrono::milliseconds poll_fallback{1000};  ///< Poll this often if a wake-up is missed.
    std::chrono::seconds retention{3600};           ///< SENT rows are deleted after this.
};

/// Moves committed outbox rows to the bus until `stop` is requested. Woken in-process the moment a
/// transaction of this process that appended outbox rows commits (and by NOTIFY sagapay_outbox
/// from writers elsewhere); polls every `poll_fallback` in case a wake-up was missed. Per round,
/// in one transaction: lock up to `batch` unsent rows (FOR UPDATE SKIP LOCKED), publish them in
/// one bus call, mark them sent, commit; a full batch loops at once. A crash between publish and
/// commit leaves the rows pending and they are published again at once (consumers deduplicate by
/// event id).
void RunOutboxRelay(std::stop_token stop, EventBus& bus, const RelayOptions& options);

}  // namespace sagapay
