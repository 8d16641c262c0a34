#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/messaging/events.hpp"
#include "core/money.hpp"
#include "core/payments/payment_status.hpp"
#include "core/strong_id.hpp"

namespace sagapay::orchestrator {

/// What the saga knows of a payment when an event arrives.
struct PaymentSnapshot {
    PaymentId payment_id;
    CustomerId customer_id;
    Money amount;
    PaymentStatus status = PaymentStatus::kCreated;
    std::int64_t state_version = 0;

    [[nodiscard]] PaymentFacts Facts() const { return PaymentFacts{customer_id, amount}; }
};

struct Step {
    PaymentStatus to;
    std::string reason;  ///< Timeline reason, e.g. "risk_approved".
};

/// The saga's answer to one event: the transitions to apply in order, the events to emit, or why
/// the event has no effect (a duplicate, or an event that no longer fits the payment's state).
struct Plan {
    std::vector<Step> steps;
    std::vector<SagaEvent> emits;
    std::string ignored_because;  ///< Non-empty: acknowledge and count, change nothing.

    [[nodiscard]] bool Ignored() const noexcept { return !ignored_because.empty(); }
    /// The terminal state this plan reaches, if it reaches one.
    [[nodiscard]] std::optional<PaymentStatus> Terminal() const;
    /// For a plan that ends the payment FAILED or REVERSED, why, as a bounded label for metrics:
    /// the failure code of the payments.failed it emits or consumes (RISK_DENIED,
    /// PROVIDER_DECLINE, …), else "REVERSED"; empty for any other plan.
    [[nodiscard]] std::string_view FailureReason(const SagaEvent& consumed) const;
};

/// Decides what `event` (whose envelope id is `event_id`) does to `payment`. Pure: no I/O, no
/// clock. Every path of the saga is here; the store only applies the plan with compare-and-swap
/// updates.
///
///  risk.approved            CREATED|RISK_REVIEW → APPROVED, emit provider.authorize.requested
///  risk.denied (REVIEW)     CREATED → RISK_REVIEW
///  risk.denied (DENY)       CREATED|RISK_REVIEW → FAILED, emit payments.failed (RISK_DENIED)
///  payments.authorized      APPROVED → AUTHORIZED, emit provider.capture.requested
///  provider.capture.completed  AUTHORIZED → CAPTURED, emit payments.captured
///  payments.failed          APPROVED|AUTHORIZED → FAILED; PROVIDER_TIMEOUT adds → REVERSED and
///                           emits payments.reversed
///  payments.settled         CAPTURED → SETTLED
///  payments.authorized, provider.capture.completed in FAILED|REVERSED: no change, emit
///                           provider.release.requested (void or refund what the PSP holds)
/// Anything else is ignored with the reason (a topic the saga does not consume, a state that
/// does not fit).
[[nodiscard]] Plan PlanFor(
    const PaymentSnapshot& payment, const SagaEvent& event, const EventId& event_id
);

/// The event the saga is waiting for in `status`, re-emitted by the sweeper when a payment makes
/// no progress: the pending step's request (for RISK_REVIEW, payments.requested: risk answers it
/// with the manual decision if one was made). Nullopt for final states.
[[nodiscard]] std::optional<SagaEvent> PendingStepRequest(const PaymentSnapshot& payment);

}  // namespace sagapay::orchestrator
