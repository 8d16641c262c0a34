#include "adapters/postgres/messaging.hpp"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdint>
#include <mutex>
#include <system_error>
#include <unordered_set>
#include <utility>

#include <sys/eventfd.h>
#include <unistd.h>

namespace sagapay::postgres {
namespace {

/// `{"a","b"}`: a text[] literal of any strings (quotes and backslashes escaped).
std::string TextArrayLiteral(std::span<const std::string> values) {
    std::string literal = "{";
    for (const std::string& value : values) {
        if (literal.size() > 1) {
            literal.push_back(',');
        }
        literal.push_back('"');
        for (const char c : value) {
            if (c == '"' || c == '\\') {
                literal.push_back('\\');
            }
            literal.push_back(c);
        }
        literal.push_back('"');
    }
    literal.push_back('}');
    return literal;
}

/// `{"id1","id2"}`: a text[] literal for `= ANY($1::uuid[])`, so the statement text stays the
/// same (and prepared once) whatever the batch size.
std::string ArrayLiteral(std::span<const ClaimedEvent> events) {
    std::vector<std::string> ids;
    ids.reserve(events.size());
    for (const ClaimedEvent& event : events) {
        ids.push_back(event.id);
    }
    return TextArrayLiteral(ids);
}

struct Registry {
    std::mutex mutex;
    std::vector<int> fds;
};

Registry& WakeupRegistry() {
    static Registry registry;
    return registry;
}

double ParseDouble(std::string_view text) {
    double value = 0;
    std::from_chars(text.data(), text.data() + text.size(), value);
    return value;
}

}  // namespace

OutboxWakeup::OutboxWakeup() : fd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
    if (fd_ < 0) {
        throw std::system_error(errno, std::generic_category(), "eventfd for the outbox relay");
    }
    const std::lock_guard lock(WakeupRegistry().mutex);
    WakeupRegistry().fds.push_back(fd_);
}

OutboxWakeup::~OutboxWakeup() {
    {
        const std::lock_guard lock(WakeupRegistry().mutex);
        auto& fds = WakeupRegistry().fds;
        fds.erase(std::remove(fds.begin(), fds.end(), fd_), fds.end());
    }
    ::close(fd_);
}

void OutboxWakeup::SignalAll() noexcept {
    const std::lock_guard lock(WakeupRegistry().mutex);
    for (const int fd : WakeupRegistry().fds) {
        const std::uint64_t one = 1;
        [[maybe_unused]] const auto written = ::write(fd, &one, sizeof(one));
    }
}

namespace {

/// The rows a transaction appended, written in one statement just before it commits.
struct PendingOutbox {
    std::vector<std::string> aggregate_ids;
    std::vector<std::string> topics;
    std::vector<std::string> envelopes;
};

constexpr std::string_view kPendingOutboxKey = "sagapay.outbox.pending";

void FlushOutbox(Transaction& tx) {
    auto& pending = tx.Local<PendingOutbox>(kPendingOutboxKey);
    if (pending.envelopes.empty()) {
        return;
    }
    // WITH ORDINALITY keeps the append order in seq (the relay publishes in seq order). Sent in
    // one pipeline with the COMMIT.
    tx.ExecDeferred(
        "INSERT INTO outbox_events (id, aggregate_id, event_type, topic, payload) "
        "SELECT gen_random_uuid(), a, t, t, p::jsonb "
        "FROM unnest($1::text[], $2::text[], $3::text[]) WITH ORDINALITY AS u(a, t, p, n) "
        "ORDER BY n",
        {TextArrayLiteral(pending.aggregate_ids),
         TextArrayLiteral(pending.topics),
         TextArrayLiteral(pending.envelopes)}
    );
}

}  // namespace

void AppendOutbox(Transaction& tx, const Envelope& envelope) {
    auto& pending = tx.Local<PendingOutbox>(kPendingOutboxKey);
    pending.aggregate_ids.push_back(envelope.aggregate_id);
    pending.topics.push_back(envelope.event_type);
    pending.envelopes.push_back(EncodeEnvelope(envelope));
    tx.BeforeCommit(kPendingOutboxKey, &FlushOutbox);
    tx.AfterCommit("sagapay.outbox.wakeup", &OutboxWakeup::SignalAll);
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
        {TextArrayLiteral(event_ids), consumer}
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
