#include "services/orchestrator/payment_saga.hpp"

#include <array>
#include <type_traits>
#include <utility>

namespace sagapay::orchestrator {

namespace {

using S = PaymentStatus;

Plan Ignore(const PaymentSnapshot& payment, std::string_view topic) {
    Plan plan;
    plan.ignored_because = std::string(topic) + " does not apply to a payment in " +
                           std::string(ToString(payment.status));
    return plan;
}

/// An authorization or capture that arrived after the payment ended unpaid: nothing changes,
/// and the provider is asked to void or refund whatever the PSP holds or took for it.
Plan ReleaseAfterTheEnd(const PaymentSnapshot& payment, std::string_view topic) {
    Plan plan;
    plan.emits.emplace_back(ReleaseRequested{
        payment.Facts(), std::string(topic) + " after " + std::string(ToString(payment.status))});
    return plan;
}

bool EndedUnpaid(PaymentStatus status) noexcept {
    return status == S::kFailed || status == S::kReversed;
}

/// Automatic capture: the provider captures as soon as the PSP authorized (no capture request,
/// two bus hops fewer); manual capture: it only authorizes, the merchant captures.
AuthorizeRequested AuthorizeRequest(const PaymentSnapshot& payment) {
    return AuthorizeRequested{
        payment.Facts(), false, payment.capture_method == CaptureMethod::kAutomatic};
}

Plan Approved(const PaymentSnapshot& payment, const RiskApproved& event) {
    if (payment.status != S::kCreated && payment.status != S::kRiskReview) {
        return Ignore(payment, RiskApproved::kTopic);
    }
    Plan plan;
    plan.steps.push_back(
        {S::kApproved, event.reason == "manual_approve" ? "manual_approve" : "risk_approved"}
    );
    plan.emits.emplace_back(AuthorizeRequest(payment));
    return plan;
}

Plan Denied(const PaymentSnapshot& payment, const RiskDenied& event) {
    Plan plan;
    if (event.decision == Verdict::kReview) {
        if (payment.status != S::kCreated) {
            return Ignore(payment, RiskDenied::kTopic);
        }
        plan.steps.push_back({S::kRiskReview, "risk_review_required:" + event.reason});
        return plan;
    }
    if (payment.status != S::kCreated && payment.status != S::kRiskReview) {
        return Ignore(payment, RiskDenied::kTopic);
    }
    const bool manual = event.reason == "manual_deny";
    plan.steps.push_back({S::kFailed, manual ? "manual_deny" : "risk_denied:" + event.reason});
    PaymentFailed failed;
    failed.error_code = manual ? FailureCode::kManualDeny : FailureCode::kRiskDenied;
    failed.reason = event.reason;
    failed.customer_id = payment.customer_id;
    failed.amount = payment.amount;
    failed.from_orchestrator = true;
    plan.emits.emplace_back(std::move(failed));
    return plan;
}

Plan Authorized(const PaymentSnapshot& payment, const PaymentAuthorized& event) {
    const bool automatic = payment.capture_method == CaptureMethod::kAutomatic;
    if (automatic && event.captured) {
        // The provider captured too, and its provider.capture.completed was committed with this
        // event: that one moves the payment (or releases what an ended payment took). Nothing
        // to do here, and nothing stale either.
        return Plan{};
    }
    if (EndedUnpaid(payment.status)) {
        return ReleaseAfterTheEnd(payment, PaymentAuthorized::kTopic);
    }
    if (payment.status != S::kApproved) {
        return Ignore(payment, PaymentAuthorized::kTopic);
    }
    Plan plan;
    if (payment.capture_method == CaptureMethod::kManual) {
        // Held for the merchant: POST …/capture or …/cancel, or the capture window's end.
        plan.steps.push_back({S::kAuthorized, "provider_authorized_awaiting_capture"});
        return plan;
    }
    plan.steps.push_back({S::kAuthorized, "provider_authorized"});
    if (!event.capture_follows) {
        // A provider asked to authorize only (an older one, or a DLQ replay): ask for the capture.
        plan.emits.emplace_back(CaptureRequested{payment.Facts(), event.authorization_id, 0});
    }
    return plan;
}

/// What a capture of `payment` is expected to take: the merchant's amount, else all of it.
std::int64_t ExpectedCapture(const PaymentSnapshot& payment) noexcept {
    return payment.capture_amount_minor > 0 ? payment.capture_amount_minor
                                            : payment.amount.amount_minor;
}

Plan Captured(const PaymentSnapshot& payment, const CaptureCompleted& event) {
    if (EndedUnpaid(payment.status)) {
        return ReleaseAfterTheEnd(payment, CaptureCompleted::kTopic);
    }
    // APPROVED: an automatic capture the provider made right after authorizing, announced
    // before (or instead of) its payments.authorized: both steps at once.
    const bool captured_on_authorize =
        payment.status == S::kApproved && payment.capture_method == CaptureMethod::kAutomatic;
    if (payment.status != S::kAuthorized && !captured_on_authorize) {
        return Ignore(payment, CaptureCompleted::kTopic);
    }
    // The PSP's figure when it is one the payment allows; the amount asked for otherwise (an
    // older provider that reports no amount, or a figure that cannot be: never more than
    // authorized, never another currency).
    const bool plausible = event.amount.currency == payment.amount.currency &&
                           event.amount.amount_minor > 0 &&
                           event.amount.amount_minor <= payment.amount.amount_minor;
    const std::int64_t captured = plausible ? event.amount.amount_minor : ExpectedCapture(payment);
    Plan plan;
    if (captured_on_authorize) {
        plan.steps.push_back({S::kAuthorized, "provider_authorized"});
    }
    plan.steps.push_back({S::kCaptured, "provider_captured"});
    plan.captured_minor = captured;
    plan.emits.emplace_back(PaymentCaptured{
        {payment.customer_id, Money{captured, payment.amount.currency}}});
    return plan;
}

Plan RefundEnded(
    const PaymentSnapshot& payment, const RefundCompleted& event, const RefundSnapshot* refund
) {
    Plan plan;
    if (refund == nullptr) {
        plan.ignored_because = "provider.refund.completed names refund " + event.refund_id +
                               ", which this payment does not have";
        return plan;
    }
    if (refund->status != RefundStatus::kPending) {
        plan.ignored_because = "refund " + refund->refund_id + " is " +
                               std::string(ToString(refund->status)) + " already";
        return plan;
    }
    plan.refund = RefundSettlement{refund->refund_id, event.succeeded, event.failure_reason};
    if (!event.succeeded) {
        plan.notes.push_back("refund_failed:" + refund->refund_id);
        plan.emits.emplace_back(RefundFailed{
            refund->refund_id,
            refund->amount,
            payment.customer_id,
            event.failure_reason.empty() ? "refused_by_psp" : event.failure_reason});
        return plan;
    }
    // The stored amount, not the event's: the refund is what was reserved for it.
    const std::int64_t total = payment.refunded_minor + refund->amount.amount_minor;
    const S to = total >= payment.captured_minor ? S::kRefunded : S::kPartiallyRefunded;
    const std::string reason = "refund_succeeded:" + refund->refund_id;
    if (to != payment.status && CanTransition(payment.status, to)) {
        plan.steps.push_back({to, reason});
    } else {
        plan.notes.push_back(reason);
    }
    plan.emits.emplace_back(PaymentRefunded{
        refund->refund_id,
        refund->amount,
        total,
        payment.captured_minor,
        payment.customer_id,
        refund->reason});
    return plan;
}

Plan Failed(const PaymentSnapshot& payment, const PaymentFailed& event, const EventId& event_id) {
    Plan plan;
    if (event.from_orchestrator) {
        plan.ignored_because = "payments.failed emitted by the orchestrator itself";
        return plan;
    }
    if (payment.status != S::kApproved && payment.status != S::kAuthorized) {
        return Ignore(payment, PaymentFailed::kTopic);
    }
    const std::string code = event.error_code_text.empty() ? "UNKNOWN" : event.error_code_text;
    plan.steps.push_back({S::kFailed, "provider_failed:" + code});
    if (event.error_code == FailureCode::kProviderTimeout) {
        plan.steps.push_back({S::kReversed, "provider_timeout_compensation"});
        plan.emits.emplace_back(PaymentReversed{
            "provider_timeout_compensation", event_id, payment.Facts()});
    }
    return plan;
}

Plan Settled(const PaymentSnapshot& payment) {
    if (payment.status != S::kCaptured) {
        return Ignore(payment, PaymentSettled::kTopic);
    }
    Plan plan;
    plan.steps.push_back({S::kSettled, "ledger_settled"});
    return plan;
}

}  // namespace

std::optional<PaymentStatus> Plan::Terminal() const {
    if (steps.empty() || !IsTerminal(steps.back().to)) {
        return std::nullopt;
    }
    return steps.back().to;
}

std::string_view Plan::FailureReason(const SagaEvent& consumed) const {
    const auto terminal = Terminal();
    if (!terminal || *terminal == PaymentStatus::kSettled) {
        return {};
    }
    for (const SagaEvent& emitted : emits) {
        if (const auto* failed = std::get_if<PaymentFailed>(&emitted)) {
            return ToString(failed->error_code);
        }
    }
    if (const auto* failed = std::get_if<PaymentFailed>(&consumed)) {
        return ToString(failed->error_code);
    }
    return "REVERSED";
}

Plan PlanFor(
    const PaymentSnapshot& payment,
    const SagaEvent& event,
    const EventId& event_id,
    const RefundSnapshot* refund
) {
    return std::visit(
        [&](const auto& e) -> Plan {
            using E = std::decay_t<decltype(e)>;
            if constexpr (std::is_same_v<E, RiskApproved>) {
                return Approved(payment, e);
            } else if constexpr (std::is_same_v<E, RiskDenied>) {
                return Denied(payment, e);
            } else if constexpr (std::is_same_v<E, PaymentAuthorized>) {
                return Authorized(payment, e);
            } else if constexpr (std::is_same_v<E, CaptureCompleted>) {
                return Captured(payment, e);
            } else if constexpr (std::is_same_v<E, RefundCompleted>) {
                return RefundEnded(payment, e, refund);
            } else if constexpr (std::is_same_v<E, PaymentFailed>) {
                return Failed(payment, e, event_id);
            } else if constexpr (std::is_same_v<E, PaymentSettled>) {
                return Settled(payment);
            } else {
                Plan plan;
                plan.ignored_because = "the orchestrator does not handle " + std::string(E::kTopic);
                return plan;
            }
        },
        event
    );
}

std::optional<SagaEvent> PendingStepRequest(const PaymentSnapshot& payment) {
    switch (payment.status) {
        case S::kCreated:
        case S::kRiskReview:
            // In review, risk answers a repeated request with the manual decision once made
            // (its event may have been lost), and with nothing new while it is pending.
            return PaymentRequested{payment.Facts(), false};
        case S::kApproved:
            return AuthorizeRequest(payment);
        case S::kAuthorized:
            if (payment.AwaitingCapture()) {
                return std::nullopt;  // waits on the merchant, not on a service
            }
            return CaptureRequested{payment.Facts(), "", payment.capture_amount_minor};
        case S::kCaptured:
            return PaymentCaptured{
                {payment.customer_id,
                 Money{
                     payment.captured_minor > 0 ? payment.captured_minor : ExpectedCapture(payment),
                     payment.amount.currency}}};
        case S::kSettled:
        case S::kFailed:
        case S::kReversed:
        case S::kPartiallyRefunded:
        case S::kRefunded:
            return std::nullopt;
    }
    return std::nullopt;
}

namespace {

CommandPlan Refuse(int http_status, std::string code, std::string message, std::string field = "") {
    CommandPlan command;
    command.refused = Refusal{http_status, std::move(code), std::move(message), std::move(field)};
    return command;
}

CommandPlan Replay() {
    CommandPlan command;
    command.replay = true;
    return command;
}

std::string Status(const PaymentSnapshot& payment) {
    return std::string(ToString(payment.status));
}

}  // namespace

CommandPlan PlanCapture(const PaymentSnapshot& payment, std::optional<std::int64_t> amount_minor) {
    if (payment.capture_method != CaptureMethod::kManual) {
        return Refuse(
            409,
            "capture_not_manual",
            "this payment was created with capture_method automatic: it is captured right after "
            "its authorization"
        );
    }
    if (payment.capture_amount_minor > 0) {
        // Asked before: the same capture again is answered as it was; another is refused.
        if (!amount_minor || *amount_minor == payment.capture_amount_minor) {
            return Replay();
        }
        return Refuse(
            409,
            "capture_already_requested",
            "a capture of " + std::to_string(payment.capture_amount_minor) +
                " was already requested for this payment; it is " + Status(payment)
        );
    }
    if (payment.status != S::kAuthorized) {
        const bool not_yet = payment.status == S::kCreated || payment.status == S::kRiskReview ||
                             payment.status == S::kApproved;
        return Refuse(
            409,
            not_yet ? "payment_not_authorized" : "payment_not_capturable",
            "the payment is " + Status(payment) +
                (not_yet ? "; capture it once it is AUTHORIZED"
                         : "; only an AUTHORIZED payment can be captured")
        );
    }
    const std::int64_t amount = amount_minor.value_or(payment.amount.amount_minor);
    if (amount > payment.amount.amount_minor) {
        return Refuse(
            422,
            "validation_error",
            "amount_cents must be at most the authorized " +
                std::to_string(payment.amount.amount_minor),
            "amount_cents"
        );
    }
    CommandPlan command;
    command.plan.capture_amount_minor = amount;
    command.plan.notes.push_back("capture_requested:" + std::to_string(amount));
    command.plan.emits.emplace_back(CaptureRequested{
        payment.Facts(), "", amount == payment.amount.amount_minor ? 0 : amount});
    return command;
}

CommandPlan PlanCancel(const PaymentSnapshot& payment, std::string_view reason) {
    if (payment.capture_method != CaptureMethod::kManual) {
        return Refuse(
            409,
            "payment_not_cancelable",
            "this payment was created with capture_method automatic; only a manual-capture "
            "authorization can be canceled (refund a settled payment instead)"
        );
    }
    if (payment.status == S::kReversed && payment.capture_amount_minor == 0) {
        return Replay();  // canceled (or voided at the window's end) before
    }
    if (payment.status == S::kAuthorized && payment.capture_amount_minor > 0) {
        return Refuse(
            409,
            "capture_in_progress",
            "a capture was requested for this payment; it can no longer be canceled"
        );
    }
    if (!payment.AwaitingCapture()) {
        return Refuse(
            409,
            "payment_not_cancelable",
            "the payment is " + Status(payment) + "; only an AUTHORIZED payment can be canceled"
        );
    }
    CommandPlan command;
    command.plan.steps.push_back({S::kReversed, std::string(reason)});
    command.plan.emits.emplace_back(ReleaseRequested{payment.Facts(), std::string(reason)});
    command.plan.emits.emplace_back(PaymentReversed{std::string(reason), EventId(), payment.Facts()}
    );
    return command;
}

CommandPlan PlanRefund(
    const PaymentSnapshot& payment,
    const std::string& refund_id,
    std::optional<std::int64_t> amount_minor,
    const std::string& reason
) {
    if (payment.status == S::kRefunded) {
        return Refuse(409, "payment_fully_refunded", "the payment is refunded in full already");
    }
    if (payment.status != S::kSettled && payment.status != S::kPartiallyRefunded) {
        const bool soon = payment.status == S::kCaptured;
        return Refuse(
            409,
            soon ? "payment_not_settled" : "payment_not_refundable",
            "the payment is " + Status(payment) +
                (soon ? "; it settles in a moment: retry with the same idempotency_key"
                      : "; only a SETTLED or PARTIALLY_REFUNDED payment can be refunded")
        );
    }
    const std::int64_t refundable = payment.Refundable();
    const std::int64_t amount = amount_minor.value_or(refundable);
    if (amount <= 0 || amount > refundable) {
        return Refuse(
            409,
            "refund_exceeds_captured",
            "refunds may total at most the captured " + std::to_string(payment.captured_minor) +
                "; " + std::to_string(payment.refund_reserved_minor) +
                " is refunded or pending, so at most " + std::to_string(refundable) + " is left",
            "amount_cents"
        );
    }
    CommandPlan command;
    command.plan.notes.push_back("refund_requested:" + refund_id);
    command.plan.emits.emplace_back(RefundRequested{
        refund_id, Money{amount, payment.amount.currency}, payment.customer_id, reason});
    return command;
}

namespace {

constexpr std::array<std::pair<RefundStatus, std::string_view>, 3> kRefundStatuses = {{
    {RefundStatus::kPending, "PENDING"},
    {RefundStatus::kSucceeded, "SUCCEEDED"},
    {RefundStatus::kFailed, "FAILED"},
}};

}  // namespace

std::string_view ToString(RefundStatus status) noexcept {
    for (const auto& [value, name] : kRefundStatuses) {
        if (value == status) {
            return name;
        }
    }
    return "PENDING";
}

std::optional<RefundStatus> ParseRefundStatus(std::string_view text) noexcept {
    for (const auto& [value, name] : kRefundStatuses) {
        if (name == text) {
            return value;
        }
    }
    return std::nullopt;
}

}  // namespace sagapay::orchestrator
