#include "services/provider/pg_provider_store.hpp"

#include <string>

#include "core/error.hpp"
#include "runtime/transaction_outbox.hpp"

namespace sagapay::provider {

namespace {

/// Advisory lock space of the claiming sessions: (kClaimLockSpace, pid) is held by a live one.
constexpr std::int64_t kClaimLockSpace = 0x53415041;  // "SAPA"

// Times are written as ISO-8601 text with microseconds and read as microseconds since the epoch:
// exact both ways (timestamptz keeps microseconds).
constexpr const char* kRowColumns =
    "payment_id, customer_id, amount_cents, currency, trace_id, status, authorization_key, "
    "coalesce(authorization_id, ''), attempts, "
    "(extract(epoch FROM next_attempt_at) * 1000000)::bigint, source_event::text, claim, fresh, "
    "retries, checks, coalesce(capture_amount_cents, 0), capture_on_authorize";

constexpr const char* kRefundColumns =
    "refund_id, payment_id, amount_cents, currency, reason, trace_id, authorization_key, "
    "refund_key, status, attempts, retries, "
    "(extract(epoch FROM next_attempt_at) * 1000000)::bigint, claim, coalesce(failure_reason, '')";

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
    row.claim = rows.GetInt(i, 11);
    row.fresh = rows.Get(i, 12) == "t";
    row.retries = static_cast<int>(rows.GetInt(i, 13));
    row.checks = static_cast<int>(rows.GetInt(i, 14));
    row.capture_amount_minor = rows.GetInt(i, 15);
    row.capture_on_authorize = rows.Get(i, 16) == "t";
    return row;
}

ProviderRefund ReadRefund(const postgres::Rows& rows, int i) {
    ProviderRefund refund;
    refund.refund_id = rows.GetString(i, 0);
    refund.payment_id = PaymentId(rows.GetString(i, 1));
    const auto currency = Currency::Parse(rows.Get(i, 3));
    const auto status = ParseRefundState(rows.Get(i, 8));
    if (!currency || !status) {
        throw Exception(
            ErrorCode::kInternal,
            "provider_refunds row " + refund.refund_id + " has an unknown currency or status"
        );
    }
    refund.amount = Money{rows.GetInt(i, 2), *currency};
    refund.reason = rows.GetString(i, 4);
    refund.trace_id = rows.GetString(i, 5);
    refund.authorization_key = rows.GetString(i, 6);
    refund.refund_key = rows.GetString(i, 7);
    refund.status = *status;
    refund.attempts = static_cast<int>(rows.GetInt(i, 9));
    refund.retries = static_cast<int>(rows.GetInt(i, 10));
    if (!rows.IsNull(i, 11)) {
        refund.next_attempt_at = FromMicros(rows.GetInt(i, 11));
    }
    refund.claim = rows.GetInt(i, 12);
    refund.failure_reason = rows.GetString(i, 13);
    return refund;
}

}  // namespace

bool PgProviderStore::InsertAuthorizing(const NewAuthorization& payment, Clock::TimePoint due) {
    const auto inserted = tx_.Exec(
        "INSERT INTO provider_payments (payment_id, customer_id, amount_cents, currency, "
        "trace_id, status, authorization_key, source_event, next_attempt_at, "
        "capture_on_authorize) "
        "VALUES ($1, $2, $3, $4, $5, 'AUTHORIZING', $6, $7::jsonb, $8::timestamptz, $9) "
        "ON CONFLICT (payment_id) DO NOTHING RETURNING payment_id",
        {payment.payment_id.Value(),
         payment.customer_id.Value(),
         payment.amount.amount_minor,
         payment.amount.currency.Code(),
         payment.trace_id,
         payment.authorization_key,
         EncodeEnvelope(payment.source_event),
         FormatIsoUtc(due),
         payment.capture_on_authorize}
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

std::vector<ProviderPayment> PgProviderStore::ClaimDue(
    Clock::TimePoint now, int limit, std::chrono::milliseconds lease
) {
    // Fresh work (first attempts, captures, releases) before retries and janitor checks: a storm
    // of timeouts never delays a new payment (index ix_provider_payments_claim serves this order).
    // The k-th claimed payment is due again at now + k * lease (the worker calls the PSP for them
    // in this order), and each claim is bumped.
    // Claims of workers whose database session ended (killed, connection lost) are due at once:
    // the session is the claim's real lease. A claiming session holds the advisory lock
    // (kClaimLockSpace, its pid) while it lives, so a claim is dead exactly when that lock is free
    // now. (Not pg_stat_activity: it is a snapshot taken once per transaction, missing sessions
    // that connected since; a live worker that had just connected and claimed was taken for dead,
    // its payments claimed again by a second worker and both workers' outcomes lost to the
    // compare-and-swap, leaving the payment to wait out the second claim's lease.)
    // The session takes its lock at every claim: after the first time that is a re-entry counted
    // in the session's own lock table, with no shared-memory work (the earlier check of
    // pg_locks first, to take it once, read every backend's locks: 0.3-0.5 ms a claim, the
    // provider's largest statement at low rates). Nothing releases it but the session's end.
    // `claimed_since` says when the claim was taken, for an operator; nothing decides by it.
    tx_.ExecDeferred("SELECT pg_advisory_lock($1::int, pg_backend_pid())", {kClaimLockSpace});
    tx_.ExecDeferred(
        "UPDATE provider_payments SET next_attempt_at = $1::timestamptz, claimed_pid = NULL, "
        "claimed_since = NULL WHERE claimed_pid IS NOT NULL AND claimed_pid <> pg_backend_pid() "
        "AND pg_try_advisory_xact_lock_shared($2::int, claimed_pid)",
        {FormatIsoUtc(now), kClaimLockSpace}
    );
    const auto rows = tx_.Exec(
        std::string("WITH due AS (SELECT payment_id, fresh AS was_fresh, next_attempt_at AS due_at "
                    "FROM provider_payments "
                    "WHERE next_attempt_at <= $1::timestamptz AND next_attempt_at IS NOT NULL "
                    "ORDER BY NOT fresh, next_attempt_at LIMIT $2 FOR UPDATE SKIP LOCKED), "
                    "ranked AS (SELECT payment_id, due_at, row_number() OVER "
                    "(ORDER BY NOT was_fresh, due_at) AS rank FROM due), "
                    "claimed AS (UPDATE provider_payments p SET next_attempt_at = "
                    "$1::timestamptz + ranked.rank * make_interval(secs => $3::float8 / 1000), "
                    "claim = p.claim + 1, claimed_pid = pg_backend_pid(), claimed_since = now() "
                    "FROM ranked WHERE p.payment_id = ranked.payment_id "
                    "RETURNING p.*, ranked.rank) SELECT ") +
            kRowColumns + " FROM claimed ORDER BY rank",
        {FormatIsoUtc(now), limit, static_cast<std::int64_t>(lease.count())}
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
        "SELECT (extract(epoch FROM least((SELECT min(next_attempt_at) FROM provider_payments "
        "WHERE next_attempt_at IS NOT NULL), (SELECT min(next_attempt_at) FROM provider_refunds "
        "WHERE next_attempt_at IS NOT NULL))) * 1000000)::bigint"
    );
    if (rows.IsNull(0, 0)) {
        return std::nullopt;
    }
    return FromMicros(rows.GetInt(0, 0));
}

bool PgProviderStore::Save(const ProviderPayment& before, const ProviderPayment& after) {
    const auto saved = tx_.Exec(
        "UPDATE provider_payments SET status = $4, authorization_id = nullif($5, ''), "
        "attempts = $6, next_attempt_at = $7::timestamptz, fresh = $8, retries = $9, "
        "checks = $10, capture_amount_cents = nullif($11::bigint, 0), claim = claim + 1, "
        "claimed_pid = NULL, claimed_since = NULL, updated_at = now() "
        "WHERE payment_id = $1 AND status = $2 AND claim = $3 RETURNING claim",
        {after.payment_id.Value(),
         ToString(before.status),
         before.claim,
         ToString(after.status),
         after.authorization_id,
         after.attempts,
         after.next_attempt_at ? postgres::Param(FormatIsoUtc(*after.next_attempt_at))
                               : postgres::Param(std::nullopt),
         after.fresh,
         after.retries,
         after.checks,
         after.capture_amount_minor}
    );
    return !saved.Empty();
}

bool PgProviderStore::InsertRefund(const ProviderRefund& refund, Clock::TimePoint due) {
    const auto inserted = tx_.Exec(
        "INSERT INTO provider_refunds (refund_id, payment_id, amount_cents, currency, reason, "
        "trace_id, authorization_key, refund_key, status, next_attempt_at) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'REFUNDING', $9::timestamptz) "
        "ON CONFLICT (refund_id) DO NOTHING RETURNING refund_id",
        {refund.refund_id,
         refund.payment_id.Value(),
         refund.amount.amount_minor,
         refund.amount.currency.Code(),
         refund.reason,
         refund.trace_id,
         refund.authorization_key,
         refund.refund_key,
         FormatIsoUtc(due)}
    );
    return !inserted.Empty();
}

std::optional<ProviderRefund> PgProviderStore::LockRefund(const std::string& refund_id) {
    const auto rows = tx_.Exec(
        std::string("SELECT ") + kRefundColumns +
            " FROM provider_refunds WHERE refund_id = $1 FOR UPDATE",
        {refund_id}
    );
    if (rows.Empty()) {
        return std::nullopt;
    }
    return ReadRefund(rows, 0);
}

std::vector<ProviderRefund> PgProviderStore::ClaimDueRefunds(
    Clock::TimePoint now, int limit, std::chrono::milliseconds lease
) {
    const auto rows = tx_.Exec(
        std::string("WITH due AS (SELECT refund_id, next_attempt_at AS due_at FROM "
                    "provider_refunds WHERE next_attempt_at <= $1::timestamptz "
                    "ORDER BY next_attempt_at LIMIT $2 FOR UPDATE SKIP LOCKED), "
                    "ranked AS (SELECT refund_id, row_number() OVER (ORDER BY due_at) AS rank "
                    "FROM due), "
                    "claimed AS (UPDATE provider_refunds r SET next_attempt_at = "
                    "$1::timestamptz + ranked.rank * make_interval(secs => $3::float8 / 1000), "
                    "claim = r.claim + 1 FROM ranked WHERE r.refund_id = ranked.refund_id "
                    "RETURNING r.*, ranked.rank) SELECT ") +
            kRefundColumns + " FROM claimed ORDER BY rank",
        {FormatIsoUtc(now), limit, static_cast<std::int64_t>(lease.count())}
    );
    std::vector<ProviderRefund> due;
    due.reserve(static_cast<std::size_t>(rows.Size()));
    for (int i = 0; i < rows.Size(); ++i) {
        due.push_back(ReadRefund(rows, i));
    }
    return due;
}

bool PgProviderStore::SaveRefund(const ProviderRefund& before, const ProviderRefund& after) {
    const auto saved = tx_.Exec(
        "UPDATE provider_refunds SET status = $4, attempts = $5, retries = $6, "
        "next_attempt_at = $7::timestamptz, failure_reason = nullif($8, ''), claim = claim + 1, "
        "updated_at = now() WHERE refund_id = $1 AND status = $2 AND claim = $3 RETURNING claim",
        {before.refund_id,
         ToString(before.status),
         before.claim,
         ToString(after.status),
         after.attempts,
         after.retries,
         after.next_attempt_at ? postgres::Param(FormatIsoUtc(*after.next_attempt_at))
                               : postgres::Param(std::nullopt),
         after.failure_reason}
    );
    return !saved.Empty();
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

void PgProviderUnitsOfWork::Run(const Work& work) {
    postgres::Transaction tx(conn_);
    PgProviderStore store(tx);
    TransactionOutbox outbox(tx);
    work(store, outbox);
    tx.Commit();
}

}  // namespace sagapay::provider
