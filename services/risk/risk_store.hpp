#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/messaging/events.hpp"
#include "core/money.hpp"
#include "core/ports/outbox.hpp"
#include "core/strong_id.hpp"
#include "services/risk/velocity_counter.hpp"

namespace sagapay::risk {

using ReviewId = StrongId<struct ReviewIdTag>;  ///< A manual review (UUID text).

/// A manual review's state (the `status` column and the API's `status` values).
enum class ReviewStatus { kPending, kApproved, kDenied };
[[nodiscard]] std::string_view ToString(ReviewStatus status
) noexcept;  ///< PENDING, APPROVED, DENIED
[[nodiscard]] std::optional<ReviewStatus> ParseReviewStatus(std::string_view text) noexcept;

/// The rules' decision for one payment, with what they read (a `risk_decisions` row).
struct DecisionRecord {
    PaymentId payment_id;
    CustomerId customer_id;
    Money amount;
    Verdict verdict = Verdict::kApprove;
    std::string reason;
    VelocityCounts counts;
};

/// A person's (or the expiry's) decision on a payment's review.
struct ManualOutcome {
    bool approved = false;
    std::string reviewed_by;
    std::string reviewed_at;    ///< ISO-8601 UTC.
    EventId decision_event_id;  ///< The event that announced it (announced again with this id).
};

/// A decision made before: what a re-requested payment is told again.
struct KnownDecision {
    Verdict verdict = Verdict::kApprove;
    std::string reason;
    std::optional<ManualOutcome> manual;  ///< Set once a REVIEW verdict's review is decided.
};

/// A payment the rules sent to a person.
struct NewReview {
    PaymentId payment_id;
    CustomerId customer_id;
    Money amount;
    std::string reason;
    std::string trace_id;  ///< The payment's trace, for the decision's event.
};

/// A review as the ops API lists it. Timestamps are ISO-8601 UTC text, as the API shows them.
struct Review {
    ReviewId review_id;
    PaymentId payment_id;
    CustomerId customer_id;
    Money amount;
    std::string reason;
    ReviewStatus status = ReviewStatus::kPending;
    std::optional<std::string> reviewed_by;
    std::optional<std::string> reviewed_at;
    std::string created_at;
};

/// One page of reviews in one status, oldest first (keyset pagination).
struct ReviewPageQuery {
    ReviewStatus status = ReviewStatus::kPending;
    std::int64_t limit = 100;
    std::optional<ReviewId> after;  ///< The last review of the previous page.
};

/// A person's decision on a pending review.
struct ReviewVerdict {
    ReviewStatus status = ReviewStatus::kApproved;  ///< kApproved or kDenied.
    std::string reviewed_by;
    EventId decision_event_id;  ///< The id of the event that announces it.
};

/// The review was pending and is now decided.
struct DecidedReview {
    CustomerId customer_id;
    std::string trace_id;     ///< The payment's trace.
    std::string reviewed_at;  ///< ISO-8601 UTC.
};
struct ReviewNotFound {};
struct ReviewAlreadyDecided {
    ReviewStatus status = ReviewStatus::kApproved;
};
using DecideReviewOutcome = std::variant<DecidedReview, ReviewNotFound, ReviewAlreadyDecided>;

/// A pending review the expiry denied.
struct ExpiredReview {
    PaymentId payment_id;
    CustomerId customer_id;
    std::string trace_id;
    EventId decision_event_id;
};

/// Port: the risk service's records (one decision per payment, manual reviews), used within one
/// unit of work. Implemented by PgRiskStore (risk_decisions, risk_reviews) and InMemoryRiskStore.
/// Failures throw (the owner of the unit of work rolls it back).
class RiskStore {
public:
    virtual ~RiskStore() = default;

    /// The decision already made for `payment`, if any.
    [[nodiscard]] virtual std::optional<KnownDecision> FindDecision(const PaymentId& payment) = 0;
    /// Records the rules' decision (one per payment: a second one for the same payment throws).
    virtual void InsertDecision(const DecisionRecord& decision) = 0;
    /// Opens a PENDING review; nothing when the payment has one already.
    virtual void InsertReview(const NewReview& review) = 0;
    /// One page of `query.status` reviews after `query.after`, oldest first.
    [[nodiscard]] virtual std::vector<Review> ListReviews(const ReviewPageQuery& query) = 0;
    /// Decides the payment's review if it is still PENDING: one conditional update, so of two
    /// concurrent decisions exactly one finds it pending.
    virtual DecideReviewOutcome DecideReview(
        const PaymentId& payment, const ReviewVerdict& verdict
    ) = 0;
    /// Denies (as `system:expiry`) up to `limit` PENDING reviews created more than `older_than`
    /// ago, oldest first, skipping those another transaction holds; returns them.
    virtual std::vector<ExpiredReview> ExpireReviews(
        std::chrono::seconds older_than, std::int64_t limit
    ) = 0;
};

/// Port: opens units of work over the risk database. Run() gives `work` a store and an outbox
/// bound to one new transaction, commits it when `work` returns and rolls it back (rethrowing)
/// when `work` throws. Implemented by PgRiskUnitsOfWork and InMemoryRiskUnitsOfWork.
class RiskUnitsOfWork {
public:
    using Work = std::function<void(RiskStore& store, Outbox& outbox)>;
    virtual ~RiskUnitsOfWork() = default;
    virtual void Run(const Work& work) = 0;
};

}  // namespace sagapay::risk
