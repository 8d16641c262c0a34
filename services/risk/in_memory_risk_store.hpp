#pragma once

#include <algorithm>
#include <map>
#include <tuple>
#include <utility>
#include <vector>

#include "core/clock.hpp"
#include "core/error.hpp"
#include "core/ids.hpp"
#include "services/risk/risk_store.hpp"
#include "testing/recording_outbox.hpp"

namespace sagapay::risk {

/// RiskStore in memory for tests, with PgRiskStore's semantics (risk_store_contract.hpp: pending
/// reviews listed oldest first by (created_at, review_id); an unknown `after` gives an empty page;
/// a second decision for a payment throws kAlreadyExists; ids that are not UUIDs and negative
/// limits throw kInvalidArgument, as the uuid columns and LIMIT do). Timestamps come from
/// `clock`, where PostgreSQL uses now(). Copyable, so a unit of work can roll back.
class InMemoryRiskStore final : public RiskStore {
public:
    explicit InMemoryRiskStore(const Clock& clock) noexcept : clock_(&clock) {}

    // RiskStore
    [[nodiscard]] std::optional<KnownDecision> FindDecision(const PaymentId& payment) override {
        RequireUuid(payment.Value());
        const auto it = decisions_.find(payment);
        if (it == decisions_.end()) {
            return std::nullopt;
        }
        KnownDecision known{it->second.verdict, it->second.reason, std::nullopt};
        if (const Stored* stored = Find(payment);
            stored != nullptr && stored->review.status != ReviewStatus::kPending) {
            known.manual = ManualOutcome{
                stored->review.status == ReviewStatus::kApproved,
                stored->review.reviewed_by.value_or(""),
                stored->review.reviewed_at.value_or(""),
                stored->decision_event_id};
        }
        return known;
    }

    void InsertDecision(const DecisionRecord& decision) override {
        RequireUuid(decision.payment_id.Value());
        if (!decisions_.emplace(decision.payment_id, decision).second) {
            throw Exception(
                ErrorCode::kAlreadyExists, "risk decision exists for " + decision.payment_id.Value()
            );
        }
    }

    void InsertReview(const NewReview& review) override {
        RequireUuid(review.payment_id.Value());
        if (Find(review.payment_id) != nullptr) {
            return;
        }
        Stored stored;
        stored.review = Review{
            .review_id = ReviewId(NewUuid()),
            .payment_id = review.payment_id,
            .customer_id = review.customer_id,
            .amount = review.amount,
            .reason = review.reason,
            .status = ReviewStatus::kPending,
            .reviewed_by = std::nullopt,
            .reviewed_at = std::nullopt,
            .created_at = FormatIsoUtc(clock_->Now()),
        };
        stored.created = clock_->Now();
        stored.trace_id = review.trace_id;
        reviews_.push_back(std::move(stored));
    }

    [[nodiscard]] std::vector<Review> ListReviews(const ReviewPageQuery& query) override {
        RequireLimit(query.limit);
        if (query.after) {
            RequireUuid(query.after->Value());
        }
        std::vector<const Stored*> ordered = Ordered();
        std::optional<std::tuple<Clock::TimePoint, ReviewId>> after;
        if (query.after) {
            const auto it = std::find_if(ordered.begin(), ordered.end(), [&](const Stored* s) {
                return s->review.review_id == *query.after;
            });
            if (it == ordered.end()) {
                return {};  // as in SQL: a comparison with no row is never true
            }
            after = Key(**it);
        }
        std::vector<Review> page;
        for (const Stored* s : ordered) {
            if (static_cast<std::int64_t>(page.size()) >= query.limit) {
                break;
            }
            if (s->review.status == query.status && (!after || Key(*s) > *after)) {
                page.push_back(s->review);
            }
        }
        return page;
    }

    DecideReviewOutcome DecideReview(const PaymentId& payment, const ReviewVerdict& verdict)
        override {
        RequireUuid(payment.Value());
        Stored* stored = Find(payment);
        if (stored == nullptr) {
            return ReviewNotFound{};
        }
        if (stored->review.status != ReviewStatus::kPending) {
            return ReviewAlreadyDecided{stored->review.status};
        }
        Decide(*stored, verdict.status, verdict.reviewed_by, verdict.decision_event_id);
        return DecidedReview{
            stored->review.customer_id, stored->trace_id, *stored->review.reviewed_at};
    }

    std::vector<ExpiredReview> ExpireReviews(std::chrono::seconds older_than, std::int64_t limit)
        override {
        RequireLimit(limit);
        std::vector<ExpiredReview> expired;
        for (const Stored* s : Ordered()) {
            if (static_cast<std::int64_t>(expired.size()) >= limit) {
                break;
            }
            if (s->review.status != ReviewStatus::kPending ||
                s->created >= clock_->Now() - older_than) {
                continue;
            }
            Stored& stored = *Find(s->review.payment_id);
            Decide(stored, ReviewStatus::kDenied, "system:expiry", EventId(NewUuid()));
            expired.push_back(ExpiredReview{
                stored.review.payment_id,
                stored.review.customer_id,
                stored.trace_id,
                stored.decision_event_id});
        }
        return expired;
    }

    // For tests
    [[nodiscard]] const std::map<PaymentId, DecisionRecord>& Decisions() const noexcept {
        return decisions_;
    }
    /// The payment's review, or nullopt.
    [[nodiscard]] std::optional<Review> ReviewOf(const PaymentId& payment) const {
        for (const Stored& s : reviews_) {
            if (s.review.payment_id == payment) {
                return s.review;
            }
        }
        return std::nullopt;
    }
    [[nodiscard]] std::size_t ReviewCount() const noexcept { return reviews_.size(); }

private:
    struct Stored {
        Review review;
        Clock::TimePoint created;
        std::string trace_id;
        EventId decision_event_id;
    };

    /// What a uuid column refuses (SQLSTATE 22P02, mapped to kInvalidArgument).
    static void RequireUuid(const std::string& id) {
        if (!IsUuid(id)) {
            throw Exception(
                ErrorCode::kInvalidArgument, "invalid input syntax for type uuid: " + id
            );
        }
    }
    /// What LIMIT refuses (SQLSTATE 2201W).
    static void RequireLimit(std::int64_t limit) {
        if (limit < 0) {
            throw Exception(ErrorCode::kInvalidArgument, "LIMIT must not be negative");
        }
    }

    static std::tuple<Clock::TimePoint, ReviewId> Key(const Stored& s) {
        return {s.created, s.review.review_id};
    }

    [[nodiscard]] std::vector<const Stored*> Ordered() const {
        std::vector<const Stored*> ordered;
        for (const Stored& s : reviews_) {
            ordered.push_back(&s);
        }
        std::sort(ordered.begin(), ordered.end(), [](const Stored* a, const Stored* b) {
            return Key(*a) < Key(*b);
        });
        return ordered;
    }

    Stored* Find(const PaymentId& payment) {
        for (Stored& s : reviews_) {
            if (s.review.payment_id == payment) {
                return &s;
            }
        }
        return nullptr;
    }

    void Decide(
        Stored& stored, ReviewStatus status, const std::string& by, const EventId& event_id
    ) {
        stored.review.status = status;
        stored.review.reviewed_by = by;
        stored.review.reviewed_at = FormatIsoUtc(clock_->Now());
        stored.decision_event_id = event_id;
    }

    const Clock* clock_;
    std::map<PaymentId, DecisionRecord> decisions_;
    std::vector<Stored> reviews_;
};

/// RiskUnitsOfWork over one InMemoryRiskStore and one RecordingOutbox: a unit of work that throws
/// leaves the store as it was and its events unpublished, as a rolled-back transaction would.
class InMemoryRiskUnitsOfWork final : public RiskUnitsOfWork {
public:
    explicit InMemoryRiskUnitsOfWork(const Clock& clock) : store_(clock) {}

    // RiskUnitsOfWork
    void Run(const Work& work) override {
        ++runs_;
        const InMemoryRiskStore before = store_;
        try {
            work(store_, outbox_);
        } catch (...) {
            store_ = before;
            outbox_.Rollback();
            throw;
        }
        outbox_.Commit();
    }

    [[nodiscard]] InMemoryRiskStore& Store() noexcept { return store_; }
    [[nodiscard]] testing::RecordingOutbox& Events() noexcept { return outbox_; }
    [[nodiscard]] int Runs() const noexcept { return runs_; }

private:
    InMemoryRiskStore store_;
    testing::RecordingOutbox outbox_;
    int runs_ = 0;
};

}  // namespace sagapay::risk
