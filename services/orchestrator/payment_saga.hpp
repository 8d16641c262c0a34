#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/messaging/envelope.hpp"
#include "core/payments/payment_status.hpp"

namespace sagapay::orchestrator {

/// What the saga knows of a payment when an event arrives.
struct PaymentSnapshot {
    std::string payment_id;
    std::string customer_id;
    std::int64_t amount_cents = 0;
    std::string currency;
    PaymentStatus status = PaymentStatus::kCreated;
    std::int64_t state_version = 0;
};

struct Step {
    PaymentStatus to;
    std::string reason;  ///< Timeline reason, e.g. "risk_approved".
};

struct Emit {
    std::string topic;
    nlohmann::json payload;
};

/// The saga's answer to one event: the transitions to apply in order, the events to emit, or why
/// the event has no effect (a duplicate, or an event that no longer fits the payment's state).
struct Plan {
    std::vector<Step> steps;
    std::vector<Emit> emits;
    std::string ignored_because;  ///< Non-empty: acknowledge and count, change nothing.

    [[nodiscard]] bool Ignored() const noexcept { return !ignored_because.empty(); }
    /// The terminal state this plan reaches, if it reaches one.
    [[nodiscard]] std::optional<PaymentStatus> Terminal() const;
};

/// Decides what `event` does to `payment`. Pure: no I/O, no clock. Every path of the saga is
/// here; the store only applies the plan with compare-and-swap updates.
///
///  risk.approved            CREATED|RISK_REVIEW → APPROVED, emit provider.authorize.requested
///  risk.denied (REVIEW)     CREATED → RISK_REVIEW
///  risk.denied (DENY)       CREATED|RISK_REVIEW → FAILED, emit payments.failed (RISK_DENIED)
///  payments.authorized      APPROVED → AUTHORIZED, emit provider.capture.requested
///  provider.capture.completed  AUTHORIZED → CAPTURED, emit payments.captured
///  payments.failed          APPROVED|AUTHORIZED → FAILED; PROVIDER_TIMEOUT adds → REVERSED and
///                           emits payments.reversed
///  payments.settled         CAPTURED → SETTLED
/// Anything else is ignored with the reason (unknown type, state that does not fit).
[[nodiscard]] Plan PlanFor(const PaymentSnapshot& payment, const Envelope& event);

/// The event the saga is waiting for in `status`, re-emitted by the sweeper when a payment makes
/// no progress: the pending step's request. Nullopt for states that wait on a person or are final.
[[nodiscard]] std::optional<Emit> PendingStepRequest(const PaymentSnapshot& payment);

}  // namespace sagapay::orchestrator
