#include "adapters/postgres/messaging.hpp"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <utility>

namespace sagapay::postgres {
namespace {

/// `{"id1","id2"}`: a text[] literal for `= ANY($1::uuid[])`, so the statement text stays the
/// same (and prepared once) whatever the batch size.
std::string ArrayLiteral(std::span<const ClaimedEvent> events) {
    std::string literal = "{";
    for (const ClaimedEvent& event : events) {
        if (literal.size() > 1) {
            literal.push_back(',');
        }
        literal.push_back('"');
        for (const char c : event.id) {
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

double ParseDouble(std::string_view text) {
    double value = 0;
    std::from_chars(text.data(), text.data() + text.size(), value);
    return value;
}

}  // namespace

void AppendOutbox(Transaction& tx, const Envelope& envelope) {
    tx.Exec(
        "INSERT INTO outbox_events (id, aggregate_id, event_type, topic, payload) "
        "VALUES (gen_random_uuid(), $1, $2, $2, $3::jsonb)",
        {envelope.aggregate_id, envelope.event_type, EncodeEnvelope(envelope)}
    );
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

std::vector<ClaimedEvent> ClaimOutbox(
    Connection& conn, int limit, std::chrono::milliseconds reclaim_after
) {
    const Rows rows = conn.Exec(
        "WITH claimable AS ("
        " SELECT id FROM outbox_events"
        " WHERE status <> 'SENT' AND (status = 'PENDING' OR (status = 'PROCESSING'"
        " AND claimed_at < now() - make_interval(secs => $2::float8 / 1000)))"
        " ORDER BY seq LIMIT $1 FOR UPDATE SKIP LOCKED) "
        "UPDATE outbox_events o SET status = 'PROCESSING', claimed_at = now() "
        "FROM claimable WHERE o.id = claimable.id "
        "RETURNING o.id, o.topic, o.aggregate_id, o.payload::text, o.seq",
        {limit, static_cast<std::int64_t>(reclaim_after.count())}
    );
    std::vector<std::pair<std::int64_t, ClaimedEvent>> claimed;
    claimed.reserve(static_cast<std::size_t>(rows.Size()));
    for (int row = 0; row < rows.Size(); ++row) {
        claimed.emplace_back(
            rows.GetInt(row, 4),
            ClaimedEvent{
                rows.GetString(row, 0),
                rows.GetString(row, 1),
                rows.GetString(row, 2),
                rows.GetString(row, 3),
            }
        );
    }
    // RETURNING follows no particular order.
    std::sort(claimed.begin(), claimed.end(), [](const auto& a, const auto& b) {
        return a.first < b.first;
    });
    std::vector<ClaimedEvent> events;
    events.reserve(claimed.size());
    for (auto& [seq, event] : claimed) {
        events.push_back(std::move(event));
    }
    return events;
}

void MarkOutboxSent(Connection& conn, std::span<const ClaimedEvent> events) {
    if (events.empty()) {
        return;
    }
    conn.Exec(
        "UPDATE outbox_events SET status = 'SENT', sent_at = now() "
        "WHERE id = ANY($1::uuid[]) AND status = 'PROCESSING'",
        {ArrayLiteral(events)}
    );
}

void RequeueOutbox(Connection& conn, std::span<const ClaimedEvent> events) {
    if (events.empty()) {
        return;
    }
    conn.Exec(
        "UPDATE outbox_events SET status = 'PENDING', claimed_at = NULL "
        "WHERE id = ANY($1::uuid[]) AND status = 'PROCESSING'",
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
