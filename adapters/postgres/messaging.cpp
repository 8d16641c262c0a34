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

void MarkOutboxSent(Connection& conn, std::span<const ClaimedEvent> events) {
    if (events.empty()) {
        return;
    }
    conn.Exec(
        "UPDATE outbox_events SET status = 'SENT', sent_at = now() "
        "WHERE id = ANY($1::uuid[]) AND status <> 'SENT'",
        {ArrayLiteral(events)}
    );
}

void MarkOutboxSent(Transaction& tx, std::span<const ClaimedEvent> events) {
    if (events.empty()) {
        return;
    }
    tx.ExecDeferred(  // with the COMMIT, one round trip
        "UPDATE outbox_events SET status = 'SENT', sent_at = now() WHERE id = ANY($1::uuid[])",
        {ArrayLiteral(events)}
    );
}

std::int64_t PurgeOutbox(Connection& conn, std::chrono::seconds retention) {
    return conn
        .Exec(
            "DELETE FROM outbox_events "
            "WHERE status = 'SENT' AND sent_at < now() - make_interval(secs => $1::float8)",
            {static_cast<std::int64_t>(retention.count())}
        )
        .Affected();
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
