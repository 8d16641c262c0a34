#pragma once

#include <map>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "services/orchestrator/payment_store.hpp"

namespace sagapay::orchestrator {

/// PaymentStore in memory, for handler tests: the same rules as PgPaymentStore (unknown ids are
/// nullopt, forbidden transitions throw kInternal) without a database.
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
            throw Exception(ErrorCode::kInternal, "invalid transition");
        }
        timeline_.push_back({payment.payment_id, payment.status, step.to, step.reason, event_id});
        payment.status = step.to;
        payment.state_version += 1;
        payments_[payment.payment_id].snapshot = payment;
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
};

}  // namespace sagapay::orchestrator
