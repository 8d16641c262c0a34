#include "adapters/postgres/messaging.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <cstdint>
#include <mutex>
#include <system_error>
#include <unordered_set>
#include <utility>

#include <sys/eventfd.h>
#include <unistd.h>

#include "core/ids.hpp"

namespace sagapay::postgres {
namespace {

/// `{"id1","id2"}`: a text[] literal for `= ANY($1::uuid[])`, so the statement text stays the
/// same (and prepared once) whatever the batch size.
std::string ArrayLiteral(std::span<const ClaimedEvent> events) {
    std::vector<std::string> ids;
    ids.reserve(events.size());
    for (const ClaimedEvent& event : events) {
        ids.push_back(event.id);
    }
    return TextArray(ids);
}

struct Registry {
    std::mutex mutex;
    std::vector<OutboxFeed*> feeds;
};

Registry& FeedRegistry() {
    static Registry registry;
    return registry;
}

double ParseDouble(std::string_view text) {
    double value = 0;
    std::from_chars(text.data(), text.data() + text.size(), value);
    return value;
}

}  // namespace

std::string DatabaseKey(Connection& conn) {
    PGconn* raw = conn.Raw();
    if (raw == nullptr) {
        return {};
    }
    const char* host = PQhost(raw);
    const char* port = PQport(raw);
    const char* db = PQdb(raw);
    return std::string(host != nullptr ? host : "") + ":" + (port != nullptr ? port : "") + "/" +
           (db != nullptr ? db : "");
}

OutboxFeed::OutboxFeed(std::string database_key)
    : database_key_(std::move(database_key)), fd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
    if (fd_ < 0) {
        throw std::system_error(errno, std::generic_category(), "eventfd for the outbox relay");
    }
    const std::lock_guard lock(FeedRegistry().mutex);
    FeedRegistry().feeds.push_back(this);
}

OutboxFeed::~OutboxFeed() {
    {
        const std::lock_guard lock(FeedRegistry().mutex);
        auto& feeds = FeedRegistry().feeds;
        feeds.erase(std::remove(feeds.begin(), feeds.end(), this), feeds.end());
    }
    ::close(fd_);
}

std::vector<ClaimedEvent> OutboxFeed::Take(std::size_t limit) {
    const std::lock_guard lock(mutex_);
    std::vector<ClaimedEvent> taken;
    taken.reserve(std::min(limit, rows_.size()));
    while (!rows_.empty() && taken.size() < limit) {
        taken.push_back(std::move(rows_.front()));
        rows_.pop_front();
    }
    return taken;
}

bool OutboxFeed::HasRows() {
    const std::lock_guard lock(mutex_);
    return !rows_.empty();
}

void OutboxFeed::Committed(const std::string& database_key, const std::vector<ClaimedEvent>& rows) {
    const std::lock_guard registry_lock(FeedRegistry().mutex);
    for (OutboxFeed* feed : FeedRegistry().feeds) {
        if (feed->database_key_ != database_key) {
            continue;
        }
        {
            const std::lock_guard lock(feed->mutex_);
            for (const ClaimedEvent& row : rows) {
                if (feed->rows_.size() >= kMaxQueued) {
                    break;  // still PENDING in the database: the claim path publishes it
                }
                feed->rows_.push_back(row);
            }
        }
        const std::uint64_t one = 1;
        [[maybe_unused]] const auto written = ::write(feed->fd_, &one, sizeof(one));
    }
}

namespace {

/// The rows a transaction appended, written in one statement just before it commits.
struct PendingOutbox {
    std::vector<ClaimedEvent> rows;
};

constexpr std::string_view kPendingOutboxKey = "sagapay.outbox.pending";

void FlushOutbox(Transaction& tx) {
    auto& pending = tx.Local<PendingOutbox>(kPendingOutboxKey);
    if (pending.rows.empty()) {
        return;
    }
    std::vector<std::string> ids, aggregates, topics, envelopes;
    for (const ClaimedEvent& row : pending.rows) {
        ids.push_back(row.id);
        aggregates.push_back(row.aggregate_id);
        topics.push_back(row.topic);
        envelopes.push_back(row.envelope_json);
    }
    // WITH ORDINALITY keeps the append order in seq (the claim path publishes in seq order).
    // Sent in one pipeline with the COMMIT.
    tx.ExecDeferred(
        "INSERT INTO outbox_events (id, aggregate_id, event_type, topic, payload) "
        "SELECT i::uuid, a, t, t, p::jsonb "
        "FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) WITH ORDINALITY "
        "AS u(i, a, t, p, n) ORDER BY n",
        {TextArray(ids), TextArray(aggregates), TextArray(topics), TextArray(envelopes)}
    );
    // Once committed, the relay of this database gets the rows in memory.
    static std::atomic<std::uint64_t> flushes{0};
    tx.AfterCommit(
        "sagapay.outbox.feed." + std::to_string(flushes.fetch_add(1)),
        [database = DatabaseKey(tx.Conn()), rows = std::move(pending.rows)] {
            OutboxFeed::Committed(database, rows);
        }
    );
    pending.rows.clear();
}

}  // namespace

void AppendOutbox(Transaction& tx, const Envelope& envelope) {
    auto& pending = tx.Local<PendingOutbox>(kPendingOutboxKey);
    pending.rows.push_back(ClaimedEvent{
        NewUuid(), envelope.event_type, envelope.aggregate_id, EncodeEnvelope(envelope)});
    tx.BeforeCommit(kPendingOutboxKey, &FlushOutbox);
}

void AppendOutbox(
    Transaction& tx,
    std::string topic,
    std::string aggregate_id,
    std::string trace_id,
    nlohmann::json payload,
    const Clock& clock
) {
    AppendOutbox(
        tx,
        MakeEnvelope(
            std::move(topic),
            std::move(aggregate_id),
            std::move(trace_id),
            std::move(payload),
            clock
        )
    );
}

bool RecordInbox(Transaction& tx, std::string_view event_id, std::string_view consumer) {
    const Rows inserted = tx.Exec(
        "INSERT INTO inbox_events (event_id, consumed_by_service) VALUES ($1, $2) "
        "ON CONFLICT DO NOTHING",
        {event_id, consumer}
    );
    return inserted.Affected() == 1;
}

std::vector<bool> RecordInboxBatch(
    Transaction& tx, std::span<const std::string> event_ids, std::string_view consumer
) {
    std::vector<bool> fresh(event_ids.size(), false);
    if (event_ids.empty()) {
        return fresh;
    }
    const Rows inserted = tx.Exec(
        "INSERT INTO inbox_events (event_id, consumed_by_service) "
        "SELECT id, $2 FROM unnest($1::text[]) AS u(id) ON CONFLICT DO NOTHING RETURNING event_id",
        {TextArray(event_ids), consumer}
    );
    std::unordered_set<std::string> added;
    for (int row = 0; row < inserted.Size(); ++row) {
        added.insert(inserted.GetString(row, 0));
    }
    for (std::size_t i = 0; i < event_ids.size(); ++i) {
        // The first occurrence of an inserted id is the new one; repeats are duplicates.
        fresh[i] = added.erase(event_ids[i]) == 1;
    }
    return fresh;
}

std::vector<ClaimedEvent> ClaimOutbox(
    Transaction& tx, int limit, std::chrono::milliseconds reclaim_after
) {
    const Rows rows = tx.Exec(
        "SELECT id, topic, aggregate_id, payload::text FROM outbox_events"
        " WHERE status <> 'SENT' AND (status = 'PENDING' OR (status = 'PROCESSING'"
        " AND claimed_at < now() - make_interval(secs => $2::float8 / 1000)))"
        " ORDER BY seq LIMIT $1 FOR UPDATE SKIP LOCKED",
        {limit, static_cast<std::int64_t>(reclaim_after.count())}
    );
    std::vector<ClaimedEvent> events;
    events.reserve(static_cast<std::size_t>(rows.Size()));
    for (int row = 0; row < rows.Size(); ++row) {
        events.push_back(ClaimedEvent{
            rows.GetString(row, 0),
            rows.GetString(row, 1),
            rows.GetString(row, 2),
            rows.GetString(row, 3),
        });
    }
    return events;
}

namespace {

/// The positions of `events`, in order, as a text[] literal ("" for none).
std::string PositionsLiteral(std::span<const ClaimedEvent> events) {
    std::vector<std::string> positions;
    positions.reserve(events.size());
    for (const ClaimedEvent& event : events) {
        positions.push_back(event.position);
    }
    return TextArray(positions);
}

/// `ms-seq` split for the row comparison (stream_ms, stream_seq); (0, 0) when malformed.
std::pair<std::int64_t, std::int64_t> SplitPosition(std::string_view position) {
    const std::size_t dash = position.find('-');
    std::int64_t ms = 0;
    std::int64_t seq = 0;
    if (dash == std::string_view::npos) {
        return {0, 0};
    }
    const auto first = std::from_chars(position.data(), position.data() + dash, ms);
    const auto second =
        std::from_chars(position.data() + dash + 1, position.data() + position.size(), seq);
    if (first.ec != std::errc() || second.ec != std::errc()) {
        return {0, 0};
    }
    return {ms, seq};
}

// The UPDATE for a batch: ids and positions as two arrays of the same length, so the statement
// text is the same (and prepared once) whatever the batch size.
// Only a Redis stream id (`ms-seq`) is split into (stream_ms, stream_seq); a position of another
// bus (Kafka's `partition:offset`) leaves them NULL: such a row is not tracked for trimming or
// loss recovery (that bus reports no progress, see RunOutboxRelay).
constexpr std::string_view kSetSent =
    "UPDATE outbox_events o SET status = 'SENT', sent_at = now(),"
    " stream_ms = CASE WHEN u.pos ~ '^[0-9]+-[0-9]+$'"
    "   THEN split_part(u.pos, '-', 1)::bigint END,"
    " stream_seq = CASE WHEN u.pos ~ '^[0-9]+-[0-9]+$'"
    "   THEN split_part(u.pos, '-', 2)::bigint END"
    " FROM unnest($1::uuid[], $2::text[]) AS u(id, pos) WHERE o.id = u.id";

/// Runs `statement` (a DELETE of at most $N rows) until it deletes fewer than `batch`.
std::int64_t DeleteInBatches(
    Connection& conn, std::string_view statement, std::vector<Param> params, int batch
) {
    std::int64_t total = 0;
    while (true) {
        const std::int64_t deleted = conn.Exec(statement, params).Affected();
        total += deleted;
        if (deleted < batch) {
            return total;
        }
    }
}

}  // namespace

void MarkOutboxSent(Connection& conn, std::span<const ClaimedEvent> events) {
    if (events.empty()) {
        return;
    }
    conn.Exec(
        std::string(kSetSent) + " AND o.status <> 'SENT'",
        {ArrayLiteral(events), PositionsLiteral(events)}
    );
}

void MarkOutboxSent(Transaction& tx, std::span<const ClaimedEvent> events) {
    if (events.empty()) {
        return;
    }
    tx.ExecDeferred(  // with the COMMIT, one round trip
        kSetSent,
        {ArrayLiteral(events), PositionsLiteral(events)}
    );
}

void RecordOutboxPositions(Connection& conn, std::span<const ClaimedEvent> events) {
    if (events.empty()) {
        return;
    }
    conn.Exec(kSetSent, {ArrayLiteral(events), PositionsLiteral(events)});
}

std::vector<KeptTopic> ReadKeptTopics(Connection& conn) {
    // One skip per topic down the (topic, stream_ms, stream_seq) index.
    const Rows rows = conn.Exec(
        "WITH RECURSIVE t(topic) AS ("
        "  (SELECT topic FROM outbox_events WHERE status = 'SENT' AND stream_ms IS NOT NULL"
        "   ORDER BY topic LIMIT 1)"
        "  UNION ALL"
        "  SELECT (SELECT o.topic FROM outbox_events o WHERE o.status = 'SENT'"
        "          AND o.stream_ms IS NOT NULL AND o.topic > t.topic ORDER BY o.topic LIMIT 1)"
        "  FROM t WHERE t.topic IS NOT NULL)"
        " SELECT t.topic, m.stream_ms, m.stream_seq FROM t CROSS JOIN LATERAL ("
        "  SELECT stream_ms, stream_seq FROM outbox_events o WHERE o.status = 'SENT'"
        "  AND o.topic = t.topic AND o.stream_ms IS NOT NULL"
        "  ORDER BY stream_ms DESC, stream_seq DESC LIMIT 1) m"
        " WHERE t.topic IS NOT NULL"
    );
    std::vector<KeptTopic> topics;
    topics.reserve(static_cast<std::size_t>(rows.Size()));
    for (int row = 0; row < rows.Size(); ++row) {
        topics.push_back(KeptTopic{
            rows.GetString(row, 0), rows.GetString(row, 1) + "-" + rows.GetString(row, 2)});
    }
    return topics;
}

std::vector<ClaimedEvent> ReadRepublishable(
    Connection& conn,
    std::string_view topic,
    std::string_view position,
    std::int64_t after_seq,
    int limit
) {
    const auto [ms, seq] = SplitPosition(position);
    const Rows rows = conn.Exec(
        "SELECT id, topic, aggregate_id, payload::text, seq FROM outbox_events"
        " WHERE status = 'SENT' AND topic = $1 AND (stream_ms, stream_seq) > ($2, $3)"
        " AND seq > $4 ORDER BY seq LIMIT $5",
        {topic, ms, seq, after_seq, limit}
    );
    std::vector<ClaimedEvent> events;
    events.reserve(static_cast<std::size_t>(rows.Size()));
    for (int row = 0; row < rows.Size(); ++row) {
        ClaimedEvent event{
            rows.GetString(row, 0),
            rows.GetString(row, 1),
            rows.GetString(row, 2),
            rows.GetString(row, 3),
        };
        event.seq = rows.GetInt(row, 4);
        events.push_back(std::move(event));
    }
    return events;
}

std::int64_t PurgeConsumedOutbox(
    Connection& conn, std::string_view topic, std::string_view position, int batch
) {
    const auto [ms, seq] = SplitPosition(position);
    return DeleteInBatches(
        conn,
        "DELETE FROM outbox_events WHERE id IN (SELECT id FROM outbox_events"
        " WHERE status = 'SENT' AND topic = $1 AND (stream_ms, stream_seq) < ($2, $3) LIMIT $4)",
        {topic, ms, seq, batch},
        batch
    );
}

std::int64_t PurgeOutbox(Connection& conn, std::chrono::seconds retention, int batch) {
    return DeleteInBatches(
        conn,
        "DELETE FROM outbox_events WHERE id IN (SELECT id FROM outbox_events"
        " WHERE status = 'SENT' AND sent_at < now() - make_interval(secs => $1::float8) LIMIT $2)",
        {static_cast<std::int64_t>(retention.count()), batch},
        batch
    );
}

std::int64_t PurgeInbox(Connection& conn, std::chrono::seconds retention, int batch) {
    return DeleteInBatches(
        conn,
        "DELETE FROM inbox_events WHERE ctid = ANY(ARRAY(SELECT ctid FROM inbox_events"
        " WHERE consumed_at < now() - make_interval(secs => $1::float8) LIMIT $2))",
        {static_cast<std::int64_t>(retention.count()), batch},
        batch
    );
}

OutboxBacklog ReadOutboxBacklog(Connection& conn) {
    const Rows rows = conn.Exec(
        "SELECT count(*), "
        "COALESCE(EXTRACT(EPOCH FROM now() - min(created_at)), 0)::float8 "
        "FROM outbox_events WHERE status <> 'SENT'"
    );
    OutboxBacklog backlog;
    backlog.pending = rows.GetInt(0, 0);
    backlog.oldest_age_seconds = std::max(0.0, ParseDouble(rows.Get(0, 1)));
    return backlog;
}

}  // namespace sagapay::postgres
