#include "services/orchestrator/payment_saga.hpp"

#include <type_traits>

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

Plan Approved(const PaymentSnapshot& payment, const RiskApproved& event) {
    if (payment.status != S::kCreated && payment.status != S::kRiskReview) {
        return Ignore(payment, RiskApproved::kTopic);
    }
    Plan plan;
    plan.steps.push_back(
        {S::kApproved, event.reason == "manual_approve" ? "manual_approve" : "risk_approved"}
    );
    plan.emits.emplace_back(AuthorizeRequested{payment.Facts(), false});
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
    if (EndedUnpaid(payment.status)) {
        return ReleaseAfterTheEnd(payment, PaymentAuthorized::kTopic);
    }
    if (payment.status != S::kApproved) {
        return Ignore(payment, PaymentAuthorized::kTopic);
    }
    Plan plan;
    plan.steps.push_back({S::kAuthorized, "provider_authorized"});
    plan.emits.emplace_back(CaptureRequested{payment.Facts(), event.authorization_id});
    return plan;
}

Plan Captured(const PaymentSnapshot& payment) {
    if (EndedUnpaid(payment.status)) {
        return ReleaseAfterTheEnd(payment, CaptureCompleted::kTopic);
    }
    if (payment.status != S::kAuthorized) {
        return Ignore(payment, CaptureCompleted::kTopic);
    }
    Plan plan;
    plan.steps.push_back({S::kCaptured, "provider_captured"});
    plan.emits.emplace_back(PaymentCaptured{payment.Facts()});
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

Plan PlanFor(const PaymentSnapshot& payment, const SagaEvent& event, const EventId& event_id) {
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
                return Captured(payment);
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
            return AuthorizeRequested{payment.Facts(), false};
        case S::kAuthorized:
            return CaptureRequested{payment.Facts(), ""};
        case S::kCaptured:
            return PaymentCaptured{payment.Facts()};
        case S::kSettled:
        case S::kFailed:
        case S::kReversed:
            return std::nullopt;
    }
    return std::nullopt;
}

}  // namespace sagapay::orchestrator
