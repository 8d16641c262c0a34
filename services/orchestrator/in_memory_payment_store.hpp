#pragma once

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/error.hpp"
#include "core/ids.hpp"
#include "services/orchestrator/payment_store.hpp"

namespace sagapay::orchestrator {

/// PaymentStore in memory, for handler tests and the simulation: the same rules as PgPaymentStore
/// (payment_store_contract.hpp: unknown and malformed ids are nullopt, forbidden transitions throw
/// kInternal, a stale snapshot fails with kAborted) without a database. Where PgPaymentStore
/// finds a lost compare-and-swap at COMMIT, this throws at Apply and changes nothing; the owner of
/// the unit of work restores a copy taken before it (it is copyable) to roll back.
class InMemoryPaymentStore final : public PaymentStore {
public:
    struct TimelineRow {
        PaymentId payment_id;
        PaymentStatus from;
        PaymentStatus to;
        std::string reason;
        EventId event_id;
    };

    void Add(const PaymentSnapshot& payment, double age_seconds = 0) {
        payments_[payment.payment_id] = LockedPayment{payment, age_seconds};
    }

    // PaymentStore
    [[nodiscard]] std::optional<LockedPayment> Lock(const PaymentId& payment_id) override {
        if (!IsUuid(payment_id.Value())) {
            return std::nullopt;  // as PgPaymentStore: never a payment id
        }
        const auto found = payments_.find(payment_id);
        if (found == payments_.end()) {
            return std::nullopt;
        }
        return found->second;
    }
    void LockAll(std::span<const PaymentId> payment_ids) override {
        locked_batches_.emplace_back(payment_ids.begin(), payment_ids.end());
    }
    void Apply(PaymentSnapshot& payment, const Step& step, const EventId& event_id) override {
        if (!CanTransition(payment.status, step.to)) {
            throw Exception(
                ErrorCode::kInternal,
                "saga planned an invalid transition " + std::string(ToString(payment.status)) +
                    " -> " + std::string(ToString(step.to))
            );
        }
        // PgPaymentStore's compare-and-swap on (status, state_version): an unknown payment or a
        // stale snapshot updates no row, and the unit of work fails with kAborted.
        const auto stored = payments_.find(payment.payment_id);
        if (stored == payments_.end() || stored->second.snapshot.status != payment.status ||
            stored->second.snapshot.state_version != payment.state_version) {
            throw Exception(
                ErrorCode::kAborted,
                "compare-and-swap conflict: " + payment.payment_id.Value() +
                    " was not in the state it was read in; the events will be retried"
            );
        }
        timeline_.push_back({payment.payment_id, payment.status, step.to, step.reason, event_id});
        payment.status = step.to;
        payment.state_version += 1;
        stored->second.snapshot = payment;
    }

    [[nodiscard]] std::optional<RefundSnapshot> FindRefund(
        const PaymentId& payment, const std::string& refund_id
    ) override {
        const auto found = refunds_.find(refund_id);
        if (found == refunds_.end() || found->second.first != payment) {
            return std::nullopt;
        }
        return found->second.second;
    }

    void Record(PaymentSnapshot& payment, const Plan& plan, const EventId& event_id) override {
        const auto stored = payments_.find(payment.payment_id);
        if (stored == payments_.end()) {
            throw Exception(ErrorCode::kAborted, "payment " + payment.payment_id.Value() + " gone");
        }
        if (plan.captured_minor) {
            payment.captured_minor = *plan.captured_minor;
        }
        if (plan.capture_amount_minor) {
            payment.capture_amount_minor = *plan.capture_amount_minor;
        }
        if (plan.refund) {
            // As the database's trigger: a refund ends once, and moves the payment's totals.
            const auto refund = refunds_.find(plan.refund->refund_id);
            if (refund == refunds_.end() ||
                refund->second.second.status != RefundStatus::kPending) {
                throw Exception(
                    ErrorCode::kAborted, "refund " + plan.refund->refund_id + " is not PENDING"
                );
            }
            RefundSnapshot& r = refund->second.second;
            r.status = plan.refund->succeeded ? RefundStatus::kSucceeded : RefundStatus::kFailed;
            if (plan.refund->succeeded) {
                payment.refunded_minor += r.amount.amount_minor;
            } else {
                payment.refund_reserved_minor -= r.amount.amount_minor;
            }
        }
        for (const std::string& note : plan.notes) {
            timeline_.push_back({payment.payment_id, payment.status, payment.status, note, event_id}
            );
        }
        stored->second.snapshot = payment;
    }

    /// Adds a PENDING refund of `payment` (reserving its amount, as the database's trigger).
    void AddRefund(const PaymentId& payment, const RefundSnapshot& refund) {
        refunds_[refund.refund_id] = {payment, refund};
        payments_.at(payment).snapshot.refund_reserved_minor += refund.amount.amount_minor;
    }
    [[nodiscard]] std::optional<RefundStatus> RefundStatusOf(const std::string& refund_id) const {
        const auto found = refunds_.find(refund_id);
        if (found == refunds_.end()) {
            return std::nullopt;
        }
        return found->second.second.status;
    }
    [[nodiscard]] const PaymentSnapshot& SnapshotOf(const PaymentId& id) const {
        return payments_.at(id).snapshot;
    }

    [[nodiscard]] PaymentStatus StatusOf(const PaymentId& id) const {
        return payments_.at(id).snapshot.status;
    }
    [[nodiscard]] const std::vector<TimelineRow>& Timeline() const noexcept { return timeline_; }
    [[nodiscard]] const std::vector<std::vector<PaymentId>>& LockedBatches() const noexcept {
        return locked_batches_;
    }

private:
    std::map<PaymentId, LockedPayment> payments_;
    std::vector<TimelineRow> timeline_;
    std::vector<std::vector<PaymentId>> locked_batches_;
    std::map<std::string, std::pair<PaymentId, RefundSnapshot>> refunds_;
};

}  // namespace sagapay::orchestrator
