#include "app/console/pg_console_store.hpp"

#include <stdexcept>
#include <string>

#include "adapters/postgres/connection.hpp"
#include "core/ids.hpp"

namespace sagapay::console {

namespace {

constexpr std::size_t kPoolSize = 4;

std::unique_ptr<postgres::Pool> PoolFor(const Config& config, std::string_view service) {
    std::string dsn = config.DsnFor(service);
    if (dsn.empty()) {
        throw std::runtime_error(
            "the console needs the " + std::string(service) + " database: set " +
            "SAGAPAY_PG_BASE_DSN or the *_POSTGRES_DSN variables (docs/configuration.md)"
        );
    }
    return std::make_unique<postgres::Pool>(std::move(dsn), kPoolSize);
}

std::optional<std::string> Opt(const std::optional<std::int64_t>& value) {
    return value ? std::optional(std::to_string(*value)) : std::nullopt;
}

/// Every row's first column parsed as JSON, in order.
nlohmann::json JsonRows(const postgres::Rows& rows) {
    nlohmann::json list = nlohmann::json::array();
    for (int i = 0; i < rows.Size(); ++i) {
        list.push_back(nlohmann::json::parse(rows.Get(i, 0)));
    }
    return list;
}

/// {"<key>": the first `limit` rows, "has_more": whether the query found one more}.
nlohmann::json PageOf(const postgres::Rows& rows, std::int64_t limit, const char* key) {
    nlohmann::json list = JsonRows(rows);
    const bool more = static_cast<std::int64_t>(list.size()) > limit;
    if (more) {
        list.erase(list.end() - 1);
    }
    return {{key, std::move(list)}, {"has_more", more}};
}

constexpr const char* kReviewColumns =
    "(to_jsonb(r) - 'trace_id' - 'decision_event_id' || jsonb_build_object('age_seconds', "
    "floor(extract(epoch FROM now() - r.created_at))::bigint))::text";

/// The outbox rows of one payment in one service's database.
constexpr const char* kEventsSql =
    "SELECT jsonb_build_object('event_id', id, 'event_type', event_type, 'topic', topic, "
    "'status', status, 'created_at', created_at, 'payload', payload, 'service', $2::text)::text "
    "FROM outbox_events WHERE aggregate_id = $1 ORDER BY seq";

}  // namespace

PgConsoleStore::PgConsoleStore(const Config& config)
    : orchestrator_(PoolFor(config, "orchestrator")),
      risk_(PoolFor(config, "risk")),
      provider_(PoolFor(config, "provider")),
      ledger_(PoolFor(config, "ledger")),
      notification_(PoolFor(config, "notification")),
      console_(PoolFor(config, "console")) {}

nlohmann::json PgConsoleStore::ListReviews(const ReviewFilter& filter) {
    // The ORDER BY is chosen from two fixed texts, never from the request.
    const std::string order = std::string(filter.by_amount ? "amount_cents" : "created_at") +
                              (filter.descending ? " DESC, review_id DESC" : ", review_id");
    const std::string sql =
        std::string("SELECT ") + kReviewColumns +
        " FROM risk_reviews r WHERE status = $1 AND ($2::text IS NULL OR reason = $2) "
        "AND ($3::text IS NULL OR currency = $3) AND ($4::text IS NULL OR customer_id = $4) "
        "AND ($5::bigint IS NULL OR amount_cents >= $5) "
        "AND ($6::bigint IS NULL OR amount_cents <= $6) "
        "AND ($7::bigint IS NULL OR created_at <= now() - make_interval(secs => $7)) "
        "AND ($8::bigint IS NULL OR created_at >= now() - make_interval(secs => $8)) "
        "ORDER BY " +
        order + " LIMIT $9 OFFSET $10";
    auto conn = risk_->Acquire();
    const auto rows = conn->Exec(
        sql,
        {filter.status,
         filter.reason,
         filter.currency,
         filter.customer,
         Opt(filter.min_amount),
         Opt(filter.max_amount),
         Opt(filter.min_age_seconds),
         Opt(filter.max_age_seconds),
         filter.page.limit + 1,
         filter.page.offset}
    );
    nlohmann::json page = PageOf(rows, filter.page.limit, "reviews");
    const auto reasons = conn->Exec(
        "SELECT DISTINCT reason FROM risk_reviews WHERE status = $1 ORDER BY 1 LIMIT 100",
        {filter.status}
    );
    page["reasons"] = nlohmann::json::array();
    for (int i = 0; i < reasons.Size(); ++i) {
        page["reasons"].push_back(reasons.GetString(i, 0));
    }
    return page;
}

nlohmann::json PgConsoleStore::ReviewOf(const std::string& payment_id) {
    auto conn = risk_->Acquire();
    const auto rows = conn->Exec(
        std::string("SELECT ") + kReviewColumns + " FROM risk_reviews r WHERE payment_id = $1",
        {payment_id}
    );
    return rows.Empty() ? nlohmann::json() : nlohmann::json::parse(rows.Get(0, 0));
}

nlohmann::json PgConsoleStore::SearchPayments(const PaymentFilter& filter) {
    auto conn = orchestrator_->Acquire();
    const auto rows = conn->Exec(
        "SELECT (to_jsonb(p) - 'request_fingerprint' - 'state_version')::text FROM payments p "
        "WHERE ($1::uuid IS NULL OR payment_id = $1::uuid) "
        "AND ($2::text IS NULL OR customer_id = $2) "
        "AND ($3::text IS NULL OR idempotency_key = $3) AND ($4::text IS NULL OR status = $4) "
        "AND ($5::timestamptz IS NULL OR created_at >= $5) "
        "AND ($6::timestamptz IS NULL OR created_at < $6) "
        "ORDER BY created_at DESC, payment_id DESC LIMIT $7 OFFSET $8",
        {filter.payment_id,
         filter.customer,
         filter.idempotency_key,
         filter.status,
         filter.from,
         filter.to,
         filter.page.limit + 1,
         filter.page.offset}
    );
    return PageOf(rows, filter.page.limit, "payments");
}

std::optional<nlohmann::json> PgConsoleStore::PaymentPage(const std::string& payment_id) {
    nlohmann::json page;
    nlohmann::json events = nlohmann::json::array();
    const auto add_events = [&](postgres::Connection& conn, const char* service) {
        for (auto& event : JsonRows(conn.Exec(kEventsSql, {payment_id, service}))) {
            events.push_back(std::move(event));
        }
    };
    {
        auto conn = orchestrator_->Acquire();
        const auto payment = conn->Exec(
            "SELECT (to_jsonb(p) - 'request_fingerprint')::text FROM payments p "
            "WHERE payment_id = $1::uuid",
            {payment_id}
        );
        if (payment.Empty()) {
            return std::nullopt;
        }
        page["payment"] = nlohmann::json::parse(payment.Get(0, 0));
        page["timeline"] = JsonRows(conn->Exec(
            "SELECT (to_jsonb(t) - 'payment_id' - 'timeline_id')::text FROM payment_timeline t "
            "WHERE payment_id = $1::uuid ORDER BY timeline_id",
            {payment_id}
        ));
        page["refunds"] = JsonRows(conn->Exec(
            "SELECT (to_jsonb(r) - 'payment_id' - 'request_fingerprint')::text FROM refunds r "
            "WHERE payment_id = $1::uuid ORDER BY created_at, refund_id",
            {payment_id}
        ));
        add_events(*conn, "orchestrator");
    }
    {
        auto conn = risk_->Acquire();
        const auto decision = conn->Exec(
            "SELECT (to_jsonb(d) - 'payment_id')::text FROM risk_decisions d "
            "WHERE payment_id = $1::uuid",
            {payment_id}
        );
        page["risk"] =
            decision.Empty() ? nlohmann::json() : nlohmann::json::parse(decision.Get(0, 0));
        const auto review = conn->Exec(
            std::string("SELECT ") + kReviewColumns +
                " FROM risk_reviews r WHERE payment_id = $1::uuid",
            {payment_id}
        );
        page["review"] =
            review.Empty() ? nlohmann::json() : nlohmann::json::parse(review.Get(0, 0));
        add_events(*conn, "risk");
    }
    {
        auto conn = provider_->Acquire();
        page["attempts"] = JsonRows(conn->Exec(
            "SELECT (to_jsonb(a) - 'payment_id' - 'attempt_id')::text FROM provider_attempts a "
            "WHERE payment_id = $1::uuid ORDER BY attempt_id",
            {payment_id}
        ));
        add_events(*conn, "provider");
    }
    {
        auto conn = ledger_->Acquire();
        page["ledger"] = JsonRows(conn->Exec(
            "SELECT jsonb_build_object('transaction_id', t.transaction_id, 'purpose', t.purpose, "
            "'account_id', e.account_id, 'direction', e.direction, 'amount_cents', "
            "e.amount_cents, 'currency', e.currency, 'created_at', e.created_at)::text "
            "FROM ledger_transactions t JOIN ledger_entries e USING (transaction_id) "
            "WHERE t.payment_id = $1::uuid ORDER BY e.entry_id",
            {payment_id}
        ));
        add_events(*conn, "ledger");
    }
    {
        auto conn = notification_->Acquire();
        page["notifications"] = JsonRows(conn->Exec(
            "SELECT (to_jsonb(n) - 'payment_id' - 'id')::text FROM notification_logs n "
            "WHERE payment_id = $1::uuid ORDER BY id",
            {payment_id}
        ));
        add_events(*conn, "notification");
    }
    page["events"] = std::move(events);
    return page;
}

std::map<std::string, std::string> PgConsoleStore::PaymentStatuses(
    const std::vector<std::string>& payment_ids
) {
    std::map<std::string, std::string> statuses;
    if (payment_ids.empty()) {
        return statuses;
    }
    // One round trip for the whole list: the ids as one uuid[] parameter ({a,b,…}; a UUID
    // holds nothing an array literal would need quoted).
    std::string array = "{";
    for (const std::string& id : payment_ids) {
        if (IsUuid(id)) {
            array += (array.size() > 1 ? "," : "") + id;
        }
    }
    array += "}";
    auto conn = orchestrator_->Acquire();
    const auto rows = conn->Exec(
        "SELECT payment_id::text, status FROM payments WHERE payment_id = ANY($1::uuid[])", {array}
    );
    for (int i = 0; i < rows.Size(); ++i) {
        statuses.emplace(rows.GetString(i, 0), rows.GetString(i, 1));
    }
    return statuses;
}

nlohmann::json PgConsoleStore::ListAudit(const Page& page) {
    auto conn = console_->Acquire();
    const auto rows = conn->Exec(
        "SELECT (to_jsonb(a) - 'audit_id' || jsonb_build_object('id', audit_id))::text "
        "FROM console_audit a ORDER BY audit_id DESC LIMIT $1 OFFSET $2",
        {page.limit + 1, page.offset}
    );
    return PageOf(rows, page.limit, "entries");
}

void PgConsoleStore::RecordAudit(const AuditEntry& entry) {
    auto conn = console_->Acquire();
    conn->Exec(
        "INSERT INTO console_audit (operator, action, target, outcome, before, after) "
        "VALUES ($1, $2, $3, $4, $5::jsonb, $6::jsonb)",
        {entry.operator_name,
         entry.action,
         entry.target,
         entry.outcome,
         entry.before.is_null() ? std::optional<std::string>() : entry.before.dump(),
         entry.after.is_null() ? std::optional<std::string>() : entry.after.dump()}
    );
}

}  // namespace sagapay::console
