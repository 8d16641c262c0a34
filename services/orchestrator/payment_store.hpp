#pragma once

#include <optional>
#include <span>
#include <string>

#include "core/strong_id.hpp"
#include "services/orchestrator/payment_saga.hpp"

namespace sagapay::orchestrator {

/// A payment locked in a unit of work, and its age then (for payment_e2e_seconds).
struct LockedPayment {
    PaymentSnapshot snapshot;
    double age_seconds = 0;
};

/// Port: the saga's payments inside one unit of work (the handler's transaction). Implemented by
/// PgPaymentStore over a PostgreSQL transaction and by InMemoryPaymentStore in tests.
class PaymentStore {
public:
    virtual ~PaymentStore() = default;

    /// Locks the payment for the rest of the unit of work; nullopt when unknown (or not a UUID).
    [[nodiscard]] virtual std::optional<LockedPayment> Lock(const PaymentId& payment_id) = 0;

    /// Locks the payments of a consumed batch at once, in payment-id order (the order every
    /// consumer locks in), so that Lock serves them without another round trip.
    virtual void LockAll(std::span<const PaymentId> payment_ids) = 0;

    /// Moves `payment` one step (its status and state_version change here too) and records the
    /// timeline row with `event_id`. Throws Exception(kInternal) for a transition the state
    /// machine forbids, and the unit of work fails with kAborted when another writer moved the
    /// payment first (compare-and-swap on status and state_version).
    virtual void Apply(PaymentSnapshot& payment, const Step& step, const EventId& event_id) = 0;

    /// The refund `refund_id` of `payment` as stored (the payment must be locked: its refunds
    /// only change under its lock); nullopt when it has no such refund.
    [[nodiscard]] virtual std::optional<RefundSnapshot> FindRefund(
        const PaymentId& payment, const std::string& refund_id
    ) = 0;

    /// Records the parts of `plan` that are not steps, after its steps were applied: the amount
    /// captured, the merchant's capture amount, a refund's end (the payment's refund totals
    /// follow, as the database's triggers keep them) and the timeline notes (from and to the
    /// current status). Updates `payment` to match.
    virtual void Record(PaymentSnapshot& payment, const Plan& plan, const EventId& event_id) = 0;
};

}  // namespace sagapay::orchestrator
