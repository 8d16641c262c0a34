#pragma once

#include <chrono>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "adapters/postgres/connection.hpp"
#include "core/messaging/envelope.hpp"

namespace sagapay::postgres {

/// The channel relays LISTEN on, for outbox writers outside the service's process
/// (`NOTIFY sagapay_outbox` after commit). Writers inside it wake the relay in-process.
inline constexpr std::string_view kOutboxChannel = "sagapay_outbox";

/// An in-process wake-up for outbox relays: an eventfd that becomes readable whenever a
/// transaction that appended outbox rows commits in this process. Each relay holds its own.
class OutboxWakeup {
public:
    OutboxWakeup();
    ~OutboxWakeup();
    OutboxWakeup(const OutboxWakeup&) = delete;
    OutboxWakeup& operator=(const OutboxWakeup&) = delete;

    /// Readable after a commit with appended rows; read it (or let
    /// Connection::WaitForNotification read it) to re-arm.
    [[nodiscard]] int Fd() const noexcept { return fd_; }

    /// Wakes every OutboxWakeup of the process (AppendOutbox runs it after commit).
    static void SignalAll() noexcept;

private:
    int fd_;
};

/// Writes the envelope as a PENDING outbox row in `tx`: the event leaves only if the business
/// write beside it commits. The rows a transaction appends are inserted in one statement just
/// before its COMMIT (in append order), and the commit wakes the process's relays.
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

/// RecordInbox for a batch in one statement: returns, for each id in order, whether it is new for
/// `consumer` (false for one already recorded and for a repeat of an earlier id of the batch).
[[nodiscard]] std::vector<bool> RecordInboxBatch(
    Transaction& tx, std::span<const std::string> event_ids, std::string_view consumer
);

struct ClaimedEvent {
    std::string id;
    std::string topic;
    std::string aggregate_id;
    std::string envelope_json;
};

/// Locks up to `limit` unsent rows in `tx`, oldest first, with FOR UPDATE SKIP LOCKED: relays
/// never share a row, and the rows of a relay that dies are released with its transaction (no
/// timeout to wait out). PROCESSING rows (claims of earlier versions) count once their claim is
/// older than `reclaim_after`. Publish them, then MarkOutboxSent in the same transaction; a
/// rollback leaves them to the next round.
std::vector<ClaimedEvent> ClaimOutbox(
    Transaction& tx, int limit, std::chrono::milliseconds reclaim_after
);
/// Marks claimed rows SENT (one statement for the batch; one row version per event).
void MarkOutboxSent(Transaction& tx, std::span<const ClaimedEvent> events);
/// Deletes SENT rows older than `retention`; returns how many.
std::int64_t PurgeOutbox(Connection& conn, std::chrono::seconds retention);

struct OutboxBacklog {
    std::int64_t pending = 0;
    double oldest_age_seconds = 0;
};
OutboxBacklog ReadOutboxBacklog(Connection& conn);

}  // namespace sagapay::postgres
