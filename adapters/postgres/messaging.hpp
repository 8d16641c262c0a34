#pragma once

#include <chrono>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "adapters/postgres/connection.hpp"
#include "core/messaging/envelope.hpp"

namespace sagapay::postgres {

/// The NOTIFY channel an insert into outbox_events signals (statement trigger, after commit).
inline constexpr std::string_view kOutboxChannel = "sagapay_outbox";

/// Writes the envelope as a PENDING outbox row in `tx`: the event leaves only if the business
/// write beside it commits.
void AppendOutbox(Transaction& tx, const Envelope& envelope);

/// AppendOutbox of a new envelope (fresh event id, stamped by `clock`).
void AppendOutbox(
    Transaction& tx,
    std::string topic,
    std::string aggregate_id,
    std::string trace_id,
    nlohmann::json payload,
    const Clock& clock
);

/// Records (event_id, consumer) in the inbox inside `tx`. False when it was already there: the
/// event is a duplicate and must be skipped. A concurrent duplicate blocks on the primary key
/// until the first transaction ends, then sees the conflict.
[[nodiscard]] bool RecordInbox(
    Transaction& tx, std::string_view event_id, std::string_view consumer
);

struct ClaimedEvent {
    std::string id;
    std::string topic;
    std::string aggregate_id;
    std::string envelope_json;
};

/// Claims up to `limit` PENDING rows, and PROCESSING rows claimed longer than `reclaim_after` ago
/// (a relay that crashed), oldest first, with FOR UPDATE SKIP LOCKED so relays never share a row.
std::vector<ClaimedEvent> ClaimOutbox(
    Connection& conn, int limit, std::chrono::milliseconds reclaim_after
);
void MarkOutboxSent(Connection& conn, std::span<const ClaimedEvent> events);
void RequeueOutbox(Connection& conn, std::span<const ClaimedEvent> events);
/// Deletes SENT rows older than `retention`; returns how many.
std::int64_t PurgeOutbox(Connection& conn, std::chrono::seconds retention);

struct OutboxBacklog {
    std::int64_t pending = 0;
    double oldest_age_seconds = 0;
};
OutboxBacklog ReadOutboxBacklog(Connection& conn);

}  // namespace sagapay::postgres
