#pragma once

#include <chrono>
#include <deque>
#include <mutex>
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

/// An outbox row on its way to the bus.
struct ClaimedEvent {
    std::string id;
    std::string topic;
    std::string aggregate_id;
    std::string envelope_json;
    /// The bus position (stream entry id) the row got when published; "" before.
    std::string position = {};
    std::int64_t seq = 0;  ///< Insertion order (set by the reads that page by it).
};

/// `host:port/database` of a connection: which relay a commit's rows belong to.
[[nodiscard]] std::string DatabaseKey(Connection& conn);

/// The outbox rows this process commits to one database, handed to that database's relay in
/// memory the moment they commit: the relay publishes them at once, without claiming them in the
/// database first, then marks them SENT. Rows written by other processes, and rows a crash left
/// behind, go the claim way (ClaimOutbox). One feed per relay.
class OutboxFeed {
public:
    explicit OutboxFeed(std::string database_key);
    ~OutboxFeed();
    OutboxFeed(const OutboxFeed&) = delete;
    OutboxFeed& operator=(const OutboxFeed&) = delete;

    /// Readable when rows were fed since it was last read; Connection::WaitForNotification reads
    /// it.
    [[nodiscard]] int Fd() const noexcept { return fd_; }

    /// Up to `limit` fed rows, oldest commit first.
    [[nodiscard]] std::vector<ClaimedEvent> Take(std::size_t limit);
    [[nodiscard]] bool HasRows();

    /// After a commit: queues `rows` for the feeds of `database_key` and wakes them. At most
    /// kMaxQueued rows wait in a feed; beyond that they are left to the claim path.
    static void Committed(const std::string& database_key, const std::vector<ClaimedEvent>& rows);

    static constexpr std::size_t kMaxQueued = 100'000;

private:
    std::string database_key_;
    int fd_;
    std::mutex mutex_;
    std::deque<ClaimedEvent> rows_;
};

/// Writes the envelope as a PENDING outbox row in `tx`: the event leaves only if the business
/// write beside it commits. The rows a transaction appends are inserted in one statement just
/// before its COMMIT (in append order), and the commit feeds them to the relay (OutboxFeed).
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

/// Locks up to `limit` unsent rows in `tx`, oldest first, with FOR UPDATE SKIP LOCKED: relays
/// never share a row, and the rows of a relay that dies are released with its transaction (no
/// timeout to wait out). PROCESSING rows (claims of earlier versions) count once their claim is
/// older than `reclaim_after`. Publish them, then MarkOutboxSent in the same transaction; a
/// rollback leaves them to the next round.
std::vector<ClaimedEvent> ClaimOutbox(
    Transaction& tx, int limit, std::chrono::milliseconds reclaim_after
);
/// Marks claimed rows SENT with the bus position each got (one statement for the batch; one row
/// version per event).
void MarkOutboxSent(Transaction& tx, std::span<const ClaimedEvent> events);
/// Marks fed rows SENT with their positions (autocommit; rows already SENT are left alone).
void MarkOutboxSent(Connection& conn, std::span<const ClaimedEvent> events);
/// Records the new positions of SENT rows published again (RepublishableAfter).
void RecordOutboxPositions(Connection& conn, std::span<const ClaimedEvent> events);

/// A topic with SENT rows kept in the outbox, and the highest bus position recorded for it.
struct KeptTopic {
    std::string topic;
    std::string last_position;
};
/// Every topic with kept SENT rows that have a position (one index scan).
[[nodiscard]] std::vector<KeptTopic> ReadKeptTopics(Connection& conn);

/// Up to `limit` kept SENT rows of `topic` whose position is after `position`, with seq above
/// `after_seq`, in insertion order: what the bus lost when its stream ends at `position`.
[[nodiscard]] std::vector<ClaimedEvent> ReadRepublishable(
    Connection& conn,
    std::string_view topic,
    std::string_view position,
    std::int64_t after_seq,
    int limit
);

/// Deletes, `batch` rows per statement, the SENT rows of `topic` before `position` (every
/// consumer group has consumed and acked them); returns how many.
std::int64_t PurgeConsumedOutbox(
    Connection& conn, std::string_view topic, std::string_view position, int batch = 5000
);
/// Deletes, `batch` rows per statement, SENT rows older than `retention` whatever their
/// consumption (the cap for topics no group reads, rows from before positions were recorded,
/// and groups that stopped); returns how many.
std::int64_t PurgeOutbox(Connection& conn, std::chrono::seconds retention, int batch = 5000);
/// Deletes, `batch` rows per statement, inbox rows recorded more than `retention` ago; returns
/// how many. `retention` must be longer than any redelivery of an event (see
/// INBOX_RETENTION_SECONDS in docs/configuration.md).
std::int64_t PurgeInbox(Connection& conn, std::chrono::seconds retention, int batch = 5000);

struct OutboxBacklog {
    std::int64_t pending = 0;
    double oldest_age_seconds = 0;
};
OutboxBacklog ReadOutboxBacklog(Connection& conn);

}  // namespace sagapay::postgres
