#include "services/orchestrator/payment_store.hpp"

#include "adapters/postgres/messaging.hpp"
#include "core/ids.hpp"
#include "core/messaging/topics.hpp"

namespace sagapay::orchestrator {

CreateResult PaymentStore::Create(
    postgres::Connection& conn,
    const PaymentRequest& request,
    const std::string& trace_id,
    const Clock& clock
) {
    const std::string fingerprint = request.Fingerprint();
    postgres::Transaction tx(conn);
    const std::string payment_id = NewUuid();
    const auto inserted = tx.Exec(
        "INSERT INTO payments (payment_id, customer_id, amount_cents, currency, status, "
        "idempotency_key, request_fingerprint, trace_id) "
        "VALUES ($1, $2, $3, $4, 'CREATED', $5, $6, $7) "
        "ON CONFLICT ON CONSTRAINT uq_payments_customer_idempotency DO NOTHING RETURNING "
        "payment_id",
        {payment_id,
         request.customer_id,
         request.amount_cents,
         request.currency,
         request.idempotency_key,
         fingerprint,
         trace_id}
    );
    if (!inserted.Empty()) {
        tx.Exec(
            "INSERT INTO payment_timeline (payment_id, from_state, to_state, reason) "
            "VALUES ($1, NULL, 'CREATED', 'payment_created')",
            {payment_id}
        );
        postgres::AppendOutbox(
            tx,
            MakeEnvelope(
                std::string(topics::kPaymentsRequested),
                payment_id,
                trace_id,
                {{"customer_id", request.customer_id},
                 {"amount_cents", request.amount_cents},
                 {"currency", request.currency}},
                clock
            )
        );
        tx.Commit();
        return CreateResult{CreateOutcome::kCreated, payment_id, PaymentStatus::kCreated};
    }
    const auto existing = tx.Exec(
        "SELECT payment_id, status, request_fingerprint FROM payments "
        "WHERE customer_id = $1 AND idempotency_key = $2",
        {request.customer_id, request.idempotency_key}
    );
    tx.Commit();
    if (existing.Empty()) {
        throw postgres::SqlError(
            ErrorCode::kAborted, "", "idempotency conflict vanished; retry the request"
        );
    }
    CreateResult result;
    result.payment_id = existing.GetString(0, 0);
    result.status = ParsePaymentStatus(existing.Get(0, 1)).value_or(PaymentStatus::kCreated);
    result.outcome =
        existing.Get(0, 2) == fingerprint ? CreateOutcome::kReplayed : CreateOutcome::kKeyReused;
    return result;
}

std::optional<PaymentSnapshot> PaymentStore::Lock(
    postgres::Transaction& tx, const std::string& payment_id
) {
    if (!IsUuid(payment_id)) {
        return std::nullopt;
    }
    const auto rows = tx.Exec(
        "SELECT customer_id, amount_cents, currency, status, state_version FROM payments "
        "WHERE payment_id = $1 FOR UPDATE",
        {payment_id}
    );
    if (rows.Empty()) {
        return std::nullopt;
    }
    PaymentSnapshot p;
    p.payment_id = payment_id;
    p.customer_id = rows.GetString(0, 0);
    p.amount_cents = rows.GetInt(0, 1);
    p.currency = rows.GetString(0, 2);
    const auto status = ParsePaymentStatus(rows.Get(0, 3));
    if (!status) {
        throw postgres::SqlError(ErrorCode::kInternal, "", "payment has an unknown status");
    }
    p.status = *status;
    p.state_version = rows.GetInt(0, 4);
    return p;
}

void PaymentStore::Apply(
    postgres::Transaction& tx,
    PaymentSnapshot& payment,
    const Step& step,
    const std::string& event_id
) {
    if (!CanTransition(payment.status, step.to)) {
        throw postgres::SqlError(
            ErrorCode::kInternal,
            "",
            "saga planned an invalid transition " + std::string(ToString(payment.status)) + " -> " +
                std::string(ToString(step.to))
        );
    }
    const auto moved = tx.Exec(
        "WITH moved AS (UPDATE payments SET status = $1, state_version = state_version + 1, "
        "updated_at = now() WHERE payment_id = $2 AND status = $3 AND state_version = $4 "
        "RETURNING payment_id) "
        "INSERT INTO payment_timeline (payment_id, from_state, to_state, reason, event_id) "
        "SELECT payment_id, $3, $1, $5, $6 FROM moved RETURNING timeline_id",
        {std::string(ToString(step.to)),
         payment.payment_id,
         std::string(ToString(payment.status)),
         payment.state_version,
         step.reason,
         event_id.empty() ? postgres::Param(std::nullopt) : postgres::Param(event_id)}
    );
    if (moved.Empty()) {
        throw postgres::SqlError(
            ErrorCode::kAborted,
            "40001",
            "compare-and-swap conflict on payment " + payment.payment_id + " (expected version " +
                std::to_string(payment.state_version) + "); the event will be retried"
        );
    }
    payment.status = step.to;
    payment.state_version += 1;
}

double PaymentStore::AgeSeconds(postgres::Transaction& tx, const std::string& payment_id) {
    const auto rows = tx.Exec(
        "SELECT (extract(epoch FROM now() - created_at) * 1000000)::bigint FROM payments "
        "WHERE payment_id = $1",
        {payment_id}
    );
    return rows.Empty() ? 0.0 : static_cast<double>(rows.GetInt(0, 0)) / 1e6;
}

std::optional<nlohmann::json> PaymentStore::Read(
    postgres::Connection& conn, const std::string& payment_id
) {
    if (!IsUuid(payment_id)) {
        return std::nullopt;
    }
    const auto rows = conn.Exec(
        "SELECT p.payment_id, p.status, p.customer_id, p.amount_cents, p.currency, "
        "p.state_version, "
        "p.idempotency_key, to_char(p.created_at AT TIME ZONE 'UTC', "
        "'YYYY-MM-DD\"T\"HH24:MI:SS.US\"+00:00\"'), "
        "to_char(p.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"+00:00\"'), "
        "t.from_state, t.to_state, t.reason, t.event_id, "
        "to_char(t.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"+00:00\"') "
        "FROM payments p LEFT JOIN payment_timeline t ON t.payment_id = p.payment_id "
        "WHERE p.payment_id = $1 ORDER BY t.timeline_id",
        {payment_id}
    );
    if (rows.Empty()) {
        return std::nullopt;
    }
    nlohmann::json timeline = nlohmann::json::array();
    for (int i = 0; i < rows.Size(); ++i) {
        if (rows.IsNull(i, 10)) {
            continue;
        }
        timeline.push_back({
            {"from_state",
             rows.IsNull(i, 9) ? nlohmann::json(nullptr) : nlohmann::json(rows.GetString(i, 9))},
            {"to_state", rows.GetString(i, 10)},
            {"reason", rows.GetString(i, 11)},
            {"event_id",
             rows.IsNull(i, 12) ? nlohmann::json(nullptr) : nlohmann::json(rows.GetString(i, 12))},
            {"created_at", rows.GetString(i, 13)},
        });
    }
    return nlohmann::json{
        {"payment_id", rows.GetString(0, 0)},
        {"status", rows.GetString(0, 1)},
        {"customer_id", rows.GetString(0, 2)},
        {"amount_cents", rows.GetInt(0, 3)},
        {"currency", rows.GetString(0, 4)},
        {"state_version", rows.GetInt(0, 5)},
        {"idempotency_key", rows.GetString(0, 6)},
        {"created_at", rows.GetString(0, 7)},
        {"updated_at", rows.GetString(0, 8)},
        {"timeline", std::move(timeline)},
    };
}

}  // namespace sagapay::orchestrator
