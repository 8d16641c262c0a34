#include "services/provider/pg_provider_store.hpp"

#include <string>

#include "core/error.hpp"

namespace sagapay::provider {

namespace {

// Times are written as ISO-8601 text with microseconds and read as microseconds since the epoch:
// exact both ways (timestamptz keeps microseconds).
constexpr const char* kRowColumns =
    "payment_id, customer_id, amount_cents, currency, trace_id, status, authorization_key, "
    "coalesce(authorization_id, ''), attempts, "
    "(extract(epoch FROM next_attempt_at) * 1000000)::bigint, source_event::text";

Clock::TimePoint FromMicros(std::int64_t micros) {
    return Clock::TimePoint(
        std::chrono::duration_cast<Clock::TimePoint::duration>(std::chrono::microseconds(micros))
    );
}

ProviderPayment ReadRow(const postgres::Rows& rows, int i) {
    ProviderPayment row;
    row.payment_id = PaymentId(rows.GetString(i, 0));
    row.customer_id = CustomerId(rows.GetString(i, 1));
    row.amount.amount_minor = rows.GetInt(i, 2);
    const auto currency = Currency::Parse(rows.Get(i, 3));
    const auto status = ParseProviderStatus(rows.Get(i, 5));
    if (!currency || !status) {
        throw Exception(
            ErrorCode::kInternal,
            "provider_payments row " + row.payment_id.Value() + " has an unknown currency or status"
        );
    }
    row.amount.currency = *currency;
    row.trace_id = rows.GetString(i, 4);
    row.status = *status;
    row.authorization_key = rows.GetString(i, 6);
    row.authorization_id = rows.GetString(i, 7);
    row.attempts = static_cast<int>(rows.GetInt(i, 8));
    if (!rows.IsNull(i, 9)) {
        row.next_attempt_at = FromMicros(rows.GetInt(i, 9));
    }
    // Written from a decoded envelope; one that no longer decodes only loses its dead letter.
    auto source = DecodeEnvelope(rows.Get(i, 10));
    if (source) {
        row.source_event = std::move(*source);
    }
    return row;
}

}  // namespace

bool PgProviderStore::InsertAuthorizing(const NewAuthorization& payment, Clock::TimePoint due) {
    const auto inserted = tx_.Exec(
        "INSERT INTO provider_payments (payment_id, customer_id, amount_cents, currency, "
        "trace_id, status, authorization_key, source_event, next_attempt_at) "
        "VALUES ($1, $2, $3, $4, $5, 'AUTHORIZING', $6, $7::jsonb, $8::timestamptz) "
        "ON CONFLICT (payment_id) DO NOTHING RETURNING payment_id",
        {payment.payment_id.Value(),
         payment.customer_id.Value(),
         payment.amount.amount_minor,
         payment.amount.currency.Code(),
         payment.trace_id,
         payment.authorization_key,
         EncodeEnvelope(payment.source_event),
         FormatIsoUtc(due)}
    );
    return !inserted.Empty();
}

std::optional<ProviderPayment> PgProviderStore::Lock(const PaymentId& payment_id) {
    const auto rows = tx_.Exec(
        std::string("SELECT ") + kRowColumns +
            " FROM provider_payments WHERE payment_id = $1 FOR UPDATE",
        {payment_id.Value()}
    );
    if (rows.Empty()) {
        return std::nullopt;
    }
    return ReadRow(rows, 0);
}

std::vector<ProviderPayment> PgProviderStore::ClaimDue(Clock::TimePoint now, int limit) {
    // First attempts before retries: a storm of timeouts never delays a new payment (index
    // ix_provider_payments_due_first serves this order).
    const auto rows = tx_.Exec(
        std::string("SELECT ") + kRowColumns +
            " FROM provider_payments WHERE next_attempt_at <= $1::timestamptz AND "
            "next_attempt_at IS NOT NULL ORDER BY attempts > 0, next_attempt_at LIMIT $2 "
            "FOR UPDATE SKIP LOCKED",
        {FormatIsoUtc(now), limit}
    );
    std::vector<ProviderPayment> due;
    due.reserve(static_cast<std::size_t>(rows.Size()));
    for (int i = 0; i < rows.Size(); ++i) {
        due.push_back(ReadRow(rows, i));
    }
    return due;
}

std::optional<Clock::TimePoint> PgProviderStore::NextDue() {
    const auto rows = tx_.Exec(
        "SELECT (extract(epoch FROM min(next_attempt_at)) * 1000000)::bigint "
        "FROM provider_payments WHERE next_attempt_at IS NOT NULL"
    );
    if (rows.IsNull(0, 0)) {
        return std::nullopt;
    }
    return FromMicros(rows.GetInt(0, 0));
}

void PgProviderStore::MarkAuthorized(
    const PaymentId& payment_id, const std::string& authorization_id, int attempts
) {
    tx_.ExecDeferred(
        "UPDATE provider_payments SET status = 'AUTHORIZED', authorization_id = $2, "
        "attempts = $3, next_attempt_at = NULL, updated_at = now() WHERE payment_id = $1",
        {payment_id.Value(), authorization_id, attempts}
    );
}

void PgProviderStore::MarkDeclined(const PaymentId& payment_id, int attempts) {
    tx_.ExecDeferred(
        "UPDATE provider_payments SET status = 'DECLINED', attempts = $2, "
        "next_attempt_at = NULL, updated_at = now() WHERE payment_id = $1",
        {payment_id.Value(), attempts}
    );
}

void PgProviderStore::Reschedule(const PaymentId& payment_id, int attempts, Clock::TimePoint at) {
    tx_.ExecDeferred(
        "UPDATE provider_payments SET attempts = $2, next_attempt_at = $3::timestamptz, "
        "updated_at = now() WHERE payment_id = $1",
        {payment_id.Value(), attempts, FormatIsoUtc(at)}
    );
}

void PgProviderStore::MarkTimedOut(const PaymentId& payment_id) {
    tx_.ExecDeferred(
        "UPDATE provider_payments SET status = 'TIMED_OUT', next_attempt_at = NULL, "
        "updated_at = now() WHERE payment_id = $1",
        {payment_id.Value()}
    );
}

void PgProviderStore::MarkCaptured(const PaymentId& payment_id) {
    tx_.ExecDeferred(
        "UPDATE provider_payments SET status = 'CAPTURED', updated_at = now() WHERE payment_id "
        "= $1",
        {payment_id.Value()}
    );
}

void PgProviderStore::ResetForReplay(const PaymentId& payment_id, Clock::TimePoint due) {
    tx_.ExecDeferred(
        "UPDATE provider_payments SET status = 'AUTHORIZING', attempts = 0, "
        "next_attempt_at = $2::timestamptz, updated_at = now() WHERE payment_id = $1",
        {payment_id.Value(), FormatIsoUtc(due)}
    );
}

void PgProviderStore::RecordAttempt(const AttemptRecord& attempt) {
    tx_.ExecDeferred(
        "INSERT INTO provider_attempts (payment_id, attempt_number, operation, result, "
        "latency_ms, error_code) VALUES ($1, $2, $3, $4, $5, $6)",
        {attempt.payment_id.Value(),
         attempt.attempt_number,
         ToString(attempt.operation),
         ToString(attempt.result),
         static_cast<std::int64_t>(attempt.latency.count()),
         attempt.error_code ? postgres::Param(ToString(*attempt.error_code))
                            : postgres::Param(std::nullopt)}
    );
}

}  // namespace sagapay::provider
