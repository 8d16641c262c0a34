#include "services/risk/pg_risk_store.hpp"

#include "core/error.hpp"
#include "core/ids.hpp"
#include "runtime/transaction_outbox.hpp"

namespace sagapay::risk {

namespace {

Money StoredMoney(std::int64_t amount_minor, std::string_view code) {
    const auto currency = Currency::Parse(code);
    if (!currency) {
        // Only validated events write reviews: an unknown code is a broken invariant.
        throw Exception(
            ErrorCode::kInternal, "risk_reviews holds unknown currency " + std::string(code)
        );
    }
    return Money{amount_minor, *currency};
}

ReviewStatus StoredStatus(std::string_view text) {
    const auto status = ParseReviewStatus(text);
    if (!status) {
        throw Exception(
            ErrorCode::kInternal, "risk_reviews holds unknown status " + std::string(text)
        );
    }
    return *status;
}

}  // namespace

std::optional<KnownDecision> PgRiskStore::FindDecision(const PaymentId& payment) {
    const auto rows = tx_.Exec(
        "SELECT d.decision, d.reason, r.status, r.reviewed_by, "
        "to_char(r.reviewed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"+00:00\"'), "
        "r.decision_event_id FROM risk_decisions d LEFT JOIN risk_reviews r "
        "ON r.payment_id = d.payment_id AND r.status <> 'PENDING' WHERE d.payment_id = $1",
        {payment.Value()}
    );
    if (rows.Empty()) {
        return std::nullopt;
    }
    const auto verdict = ParseVerdict(rows.Get(0, 0));
    if (!verdict) {
        // The CHECK constraint allows only the three verdicts.
        throw Exception(
            ErrorCode::kInternal, "risk_decisions holds unknown decision " + rows.GetString(0, 0)
        );
    }
    KnownDecision known{*verdict, rows.GetString(0, 1), std::nullopt};
    if (!rows.IsNull(0, 2)) {
        known.manual = ManualOutcome{
            rows.Get(0, 2) == "APPROVED",
            rows.GetOptional(0, 3).value_or(""),
            rows.GetOptional(0, 4).value_or(""),
            EventId(rows.GetOptional(0, 5).value_or(""))};
    }
    return known;
}

void PgRiskStore::InsertDecision(const DecisionRecord& decision) {
    tx_.Exec(
        "INSERT INTO risk_decisions (payment_id, customer_id, amount_cents, currency, decision, "
        "reason, payments_last_hour, failed_attempts) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        {decision.payment_id.Value(),
         decision.customer_id.Value(),
         decision.amount.amount_minor,
         decision.amount.currency.Code(),
         ToString(decision.verdict),
         decision.reason,
         decision.counts.payments_last_hour,
         decision.counts.failed_attempts}
    );
}

void PgRiskStore::InsertReview(const NewReview& review) {
    tx_.Exec(
        "INSERT INTO risk_reviews (review_id, payment_id, customer_id, amount_cents, currency, "
        "reason, status, trace_id) VALUES ($1, $2, $3, $4, $5, $6, 'PENDING', $7) "
        "ON CONFLICT (payment_id) DO NOTHING",
        {NewUuid(),
         review.payment_id.Value(),
         review.customer_id.Value(),
         review.amount.amount_minor,
         review.amount.currency.Code(),
         review.reason,
         review.trace_id}
    );
}

std::vector<Review> PgRiskStore::ListReviews(const ReviewPageQuery& query) {
    const auto rows = tx_.Exec(
        "SELECT r.review_id, r.payment_id, r.customer_id, r.amount_cents, r.currency, r.reason, "
        "r.status, r.reviewed_by, "
        "to_char(r.reviewed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"+00:00\"'), "
        "to_char(r.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"+00:00\"') "
        "FROM risk_reviews r WHERE r.status = $1 AND "
        "($2::uuid IS NULL OR (r.created_at, r.review_id) > (SELECT created_at, review_id FROM "
        "risk_reviews WHERE review_id = $2::uuid)) ORDER BY r.created_at, r.review_id LIMIT $3",
        {ToString(query.status),
         query.after ? postgres::Param(query.after->Value()) : postgres::Param(std::nullopt),
         query.limit}
    );
    std::vector<Review> reviews;
    reviews.reserve(static_cast<std::size_t>(rows.Size()));
    for (int i = 0; i < rows.Size(); ++i) {
        reviews.push_back(Review{
            .review_id = ReviewId(rows.Get(i, 0)),
            .payment_id = PaymentId(rows.Get(i, 1)),
            .customer_id = CustomerId(rows.Get(i, 2)),
            .amount = StoredMoney(rows.GetInt(i, 3), rows.Get(i, 4)),
            .reason = rows.GetString(i, 5),
            .status = StoredStatus(rows.Get(i, 6)),
            .reviewed_by = rows.GetOptional(i, 7),
            .reviewed_at = rows.GetOptional(i, 8),
            .created_at = rows.GetString(i, 9),
        });
    }
    return reviews;
}

DecideReviewOutcome PgRiskStore::DecideReview(
    const PaymentId& payment, const ReviewVerdict& verdict
) {
    // One conditional UPDATE: of two concurrent decisions exactly one finds the review PENDING;
    // the other waits for its row lock, then finds it decided.
    const auto decided = tx_.Exec(
        "UPDATE risk_reviews SET status = $2, reviewed_by = $3, reviewed_at = now(), "
        "decision_event_id = $4 WHERE payment_id = $1 AND status = 'PENDING' "
        "RETURNING customer_id, trace_id, "
        "to_char(reviewed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"+00:00\"')",
        {payment.Value(),
         ToString(verdict.status),
         verdict.reviewed_by,
         verdict.decision_event_id.Value()}
    );
    if (!decided.Empty()) {
        return DecidedReview{
            CustomerId(decided.Get(0, 0)), decided.GetString(0, 1), decided.GetString(0, 2)};
    }
    const auto existing =
        tx_.Exec("SELECT status FROM risk_reviews WHERE payment_id = $1", {payment.Value()});
    if (existing.Empty()) {
        return ReviewNotFound{};
    }
    return ReviewAlreadyDecided{StoredStatus(existing.Get(0, 0))};
}

std::vector<ExpiredReview> PgRiskStore::ExpireReviews(
    std::chrono::seconds older_than, std::int64_t limit
) {
    const auto expired = tx_.Exec(
        "UPDATE risk_reviews SET status = 'DENIED', reviewed_by = 'system:expiry', "
        "reviewed_at = now(), decision_event_id = gen_random_uuid()::text "
        "WHERE review_id IN (SELECT review_id FROM risk_reviews WHERE status = 'PENDING' "
        "AND created_at < now() - make_interval(secs => $1) ORDER BY created_at LIMIT $2 "
        "FOR UPDATE SKIP LOCKED) RETURNING payment_id, customer_id, trace_id, decision_event_id",
        {static_cast<std::int64_t>(older_than.count()), limit}
    );
    std::vector<ExpiredReview> reviews;
    reviews.reserve(static_cast<std::size_t>(expired.Size()));
    for (int i = 0; i < expired.Size(); ++i) {
        reviews.push_back(ExpiredReview{
            PaymentId(expired.Get(i, 0)),
            CustomerId(expired.Get(i, 1)),
            expired.GetString(i, 2),
            EventId(expired.Get(i, 3))});
    }
    return reviews;
}

void PgRiskUnitsOfWork::Run(const Work& work) {
    auto lease = pool_.Acquire();
    postgres::Transaction tx(*lease);
    PgRiskStore store(tx);
    TransactionOutbox outbox(tx);
    work(store, outbox);
    tx.Commit();
}

}  // namespace sagapay::risk
