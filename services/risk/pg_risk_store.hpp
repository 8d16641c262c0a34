#pragma once

#include "adapters/postgres/connection.hpp"
#include "adapters/postgres/pool.hpp"
#include "services/risk/risk_store.hpp"

namespace sagapay::risk {

/// RiskStore over `risk_decisions` and `risk_reviews` (schema/0002_risk.sql), inside `tx`.
/// Review timestamps are the database's (`now()`), as the API has always shown them.
class PgRiskStore final : public RiskStore {
public:
    explicit PgRiskStore(postgres::Transaction& tx) noexcept : tx_(tx) {}

    // RiskStore
    [[nodiscard]] std::optional<KnownDecision> FindDecision(const PaymentId& payment) override;
    void InsertDecision(const DecisionRecord& decision) override;
    void InsertReview(const NewReview& review) override;
    [[nodiscard]] std::vector<Review> ListReviews(const ReviewPageQuery& query) override;
    DecideReviewOutcome DecideReview(const PaymentId& payment, const ReviewVerdict& verdict)
        override;
    std::vector<ExpiredReview> ExpireReviews(std::chrono::seconds older_than, std::int64_t limit)
        override;

private:
    postgres::Transaction& tx_;
};

/// RiskUnitsOfWork over a pool: each Run borrows a connection for one transaction with a
/// PgRiskStore and a TransactionOutbox on it.
class PgRiskUnitsOfWork final : public RiskUnitsOfWork {
public:
    explicit PgRiskUnitsOfWork(postgres::Pool& pool) noexcept : pool_(pool) {}

    // RiskUnitsOfWork
    void Run(const Work& work) override;

private:
    postgres::Pool& pool_;
};

}  // namespace sagapay::risk
