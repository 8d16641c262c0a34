#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/messaging/events.hpp"
#include "core/money.hpp"
#include "core/payments/payment_request.hpp"
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
    CaptureMethod capture_method = CaptureMethod::kAutomatic;
    /// Manual capture: what the merchant asked to capture (0: not asked yet).
    std::int64_t capture_amount_minor = 0;
    std::int64_t captured_minor = 0;         ///< What the PSP captured (0: nothing yet).
    std::int64_t refund_reserved_minor = 0;  ///< Refunds PENDING or SUCCEEDED.
    std::int64_t refunded_minor = 0;         ///< Refunds SUCCEEDED.

    [[nodiscard]] PaymentFacts Facts() const { return PaymentFacts{customer_id, amount}; }
    /// A manual-capture payment authorized and waiting for the merchant's capture or cancel:
    /// waiting on nobody the saga can hurry (the sweeper voids it when the window ends).
    [[nodiscard]] bool AwaitingCapture() const noexcept {
        return status == PaymentStatus::kAuthorized && capture_method == CaptureMethod::kManual &&
               capture_amount_minor == 0;
    }
    /// What may still be refunded: captured, minus refunds pending or made.
    [[nodiscard]] std::int64_t Refundable() const noexcept {
        return captured_minor - refund_reserved_minor;
    }
};

enum class RefundStatus { kPending, kSucceeded, kFailed };
[[nodiscard]] std::string_view ToString(RefundStatus status) noexcept;
[[nodiscard]] std::optional<RefundStatus> ParseRefundStatus(std::string_view text) noexcept;

/// A refund of a payment, as the saga sees it when the PSP's answer arrives.
struct RefundSnapshot {
    std::string refund_id;
    Money amount;
    RefundStatus status = RefundStatus::kPending;
    std::string reason;
};

/// How a plan settles a PENDING refund.
struct RefundSettlement {
    std::string refund_id;
    bool succeeded = false;
    std::string failure_reason;
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
    /// Timeline rows that change no status (a capture asked for, a refund asked for or ended).
    std::vector<std::string> notes;
    std::optional<std::int64_t> captured_minor;        ///< Record what the PSP captured.
    std::optional<std::int64_t> capture_amount_minor;  ///< Record the merchant's capture.
    std::optional<RefundSettlement> refund;            ///< Settle a PENDING refund.

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
/// updates. `refund`: for provider.refund.completed, the refund it names as stored (nullptr when
/// unknown).
///
///  risk.approved            CREATED|RISK_REVIEW → APPROVED, emit provider.authorize.requested
///                           (capture_on_authorize for automatic capture)
///  risk.denied (REVIEW)     CREATED → RISK_REVIEW
///  risk.denied (DENY)       CREATED|RISK_REVIEW → FAILED, emit payments.failed (RISK_DENIED)
///  payments.authorized      APPROVED → AUTHORIZED; automatic capture emits
///                           provider.capture.requested unless the provider captures by itself
///                           (capture_follows); manual capture waits for POST …/capture.
///                           `captured` (automatic): no change, the capture.completed committed
///                           with it does it all
///  provider.capture.completed  AUTHORIZED → CAPTURED (recording the amount captured), emit
///                           payments.captured with that amount; automatic capture in APPROVED
///                           (the provider captured on authorization): → AUTHORIZED → CAPTURED
///  provider.refund.completed   a PENDING refund SUCCEEDED: SETTLED|PARTIALLY_REFUNDED →
///                           PARTIALLY_REFUNDED|REFUNDED, emit payments.refunded; FAILED: emit
///                           refunds.failed (the reservation is freed)
///  payments.failed          APPROVED|AUTHORIZED → FAILED; PROVIDER_TIMEOUT adds → REVERSED and
///                           emits payments.reversed
///  payments.settled         CAPTURED → SETTLED
///  payments.authorized, provider.capture.completed in FAILED|REVERSED: no change, emit
///                           provider.release.requested (void or refund what the PSP holds)
/// Anything else is ignored with the reason (a topic the saga does not consume, a state that
/// does not fit).
[[nodiscard]] Plan PlanFor(
    const PaymentSnapshot& payment,
    const SagaEvent& event,
    const EventId& event_id,
    const RefundSnapshot* refund = nullptr
);

/// Why a merchant's command was refused: the HTTP status and the stable error code.
struct Refusal {
    int http_status = 409;
    std::string code;
    std::string message;
    std::string field;
};

/// The saga's answer to a merchant's command (capture, cancel, refund): a plan to apply, the
/// answer that it was done before (an idempotent repeat: change nothing, answer 200), or a
/// refusal. Pure, like PlanFor.
struct CommandPlan {
    Plan plan;
    bool replay = false;
    std::optional<Refusal> refused;
};

/// POST /payments/{id}/capture: a manual-capture payment AUTHORIZED and not yet asked to capture
/// gets provider.capture.requested for `amount_minor` (nullopt: all of it; at most the
/// authorized amount, 422 beyond). The same capture again is a replay; another amount, 409.
[[nodiscard]] CommandPlan PlanCapture(
    const PaymentSnapshot& payment, std::optional<std::int64_t> amount_minor
);

/// POST /payments/{id}/cancel (reason "canceled") and the capture window's end (reason
/// "authorization_expired"): a manual-capture payment AUTHORIZED and not yet asked to capture
/// becomes REVERSED; emits provider.release.requested (the PSP voids the authorization) and
/// payments.reversed. Cancelling it again is a replay.
[[nodiscard]] CommandPlan PlanCancel(const PaymentSnapshot& payment, std::string_view reason);

/// POST /payments/{id}/refunds: a SETTLED or PARTIALLY_REFUNDED payment gets
/// provider.refund.requested for `amount_minor` (nullopt: all still refundable) under
/// `refund_id`, at most what is captured and not yet refunded or pending (409 beyond; the
/// database refuses it too).
[[nodiscard]] CommandPlan PlanRefund(
    const PaymentSnapshot& payment,
    const std::string& refund_id,
    std::optional<std::int64_t> amount_minor,
    const std::string& reason
);

/// The event the saga is waiting for in `status`, re-emitted by the sweeper when a payment makes
/// no progress: the pending step's request (for RISK_REVIEW, payments.requested: risk answers it
/// with the manual decision if one was made). Nullopt for final states and for a payment awaiting
/// its manual capture.
[[nodiscard]] std::optional<SagaEvent> PendingStepRequest(const PaymentSnapshot& payment);

}  // namespace sagapay::orchestrator
