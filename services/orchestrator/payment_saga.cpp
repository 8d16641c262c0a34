#include "services/orchestrator/payment_saga.hpp"

#include "core/messaging/topics.hpp"

namespace sagapay::orchestrator {

namespace {

using S = PaymentStatus;

std::string PayloadString(const Envelope& event, const char* field) {
    const auto it = event.payload.find(field);
    if (it == event.payload.end() || !it->is_string()) {
        return {};
    }
    return it->get<std::string>();
}

Plan Ignore(const PaymentSnapshot& payment, const Envelope& event) {
    Plan plan;
    plan.ignored_because = event.event_type + " does not apply to a payment in " +
                           std::string(ToString(payment.status));
    return plan;
}

nlohmann::json PaymentFacts(const PaymentSnapshot& p) {
    return {
        {"amount_cents", p.amount_cents}, {"currency", p.currency}, {"customer_id", p.customer_id}};
}

}  // namespace

std::optional<PaymentStatus> Plan::Terminal() const {
    if (steps.empty() || !IsTerminal(steps.back().to)) {
        return std::nullopt;
    }
    return steps.back().to;
}

Plan PlanFor(const PaymentSnapshot& payment, const Envelope& event) {
    const std::string& type = event.event_type;
    const S status = payment.status;
    Plan plan;

    if (type == topics::kRiskApproved) {
        if (status != S::kCreated && status != S::kRiskReview) {
            return Ignore(payment, event);
        }
        const bool manual = PayloadString(event, "reason") == "manual_approve";
        plan.steps.push_back({S::kApproved, manual ? "manual_approve" : "risk_approved"});
        plan.emits.push_back(
            {std::string(topics::kProviderAuthorizeRequested), PaymentFacts(payment)}
        );
        return plan;
    }
    if (type == topics::kRiskDenied) {
        const std::string decision = PayloadString(event, "decision");
        const std::string reason = PayloadString(event, "reason");
        if (decision == "REVIEW") {
            if (status != S::kCreated) {
                return Ignore(payment, event);
            }
            plan.steps.push_back({S::kRiskReview, "risk_review_required:" + reason});
            return plan;
        }
        if (status != S::kCreated && status != S::kRiskReview) {
            return Ignore(payment, event);
        }
        const bool manual = reason == "manual_deny";
        plan.steps.push_back({S::kFailed, manual ? "manual_deny" : "risk_denied:" + reason});
        nlohmann::json failed = PaymentFacts(payment);
        failed["error_code"] = manual ? "MANUAL_DENY" : "RISK_DENIED";
        failed["reason"] = reason;
        failed["source"] = "orchestrator";
        plan.emits.push_back({std::string(topics::kPaymentsFailed), std::move(failed)});
        return plan;
    }
    if (type == topics::kPaymentsAuthorized) {
        if (status != S::kApproved) {
            return Ignore(payment, event);
        }
        plan.steps.push_back({S::kAuthorized, "provider_authorized"});
        nlohmann::json capture = PaymentFacts(payment);
        capture["authorization_id"] = PayloadString(event, "authorization_id");
        plan.emits.push_back({std::string(topics::kProviderCaptureRequested), std::move(capture)});
        return plan;
    }
    if (type == topics::kProviderCaptureCompleted) {
        if (status != S::kAuthorized) {
            return Ignore(payment, event);
        }
        plan.steps.push_back({S::kCaptured, "provider_captured"});
        plan.emits.push_back({std::string(topics::kPaymentsCaptured), PaymentFacts(payment)});
        return plan;
    }
    if (type == topics::kPaymentsFailed) {
        if (PayloadString(event, "source") == "orchestrator") {
            plan.ignored_because = "payments.failed emitted by the orchestrator itself";
            return plan;
        }
        if (status != S::kApproved && status != S::kAuthorized) {
            return Ignore(payment, event);
        }
        std::string code = PayloadString(event, "error_code");
        if (code.empty()) {
            code = "UNKNOWN";
        }
        plan.steps.push_back({S::kFailed, "provider_failed:" + code});
        if (code == "PROVIDER_TIMEOUT") {
            plan.steps.push_back({S::kReversed, "provider_timeout_compensation"});
            plan.emits.push_back(
                {std::string(topics::kPaymentsReversed),
                 {{"reason", "provider_timeout_compensation"},
                  {"source_event_id", event.event_id},
                  {"amount_cents", payment.amount_cents},
                  {"currency", payment.currency},
                  {"customer_id", payment.customer_id}}}
            );
        }
        return plan;
    }
    if (type == topics::kPaymentsSettled) {
        if (status != S::kCaptured) {
            return Ignore(payment, event);
        }
        plan.steps.push_back({S::kSettled, "ledger_settled"});
        return plan;
    }
    plan.ignored_because = "the orchestrator does not handle " + type;
    return plan;
}

std::optional<Emit> PendingStepRequest(const PaymentSnapshot& payment) {
    switch (payment.status) {
        case S::kCreated:
            return Emit{std::string(topics::kPaymentsRequested), PaymentFacts(payment)};
        case S::kApproved:
            return Emit{std::string(topics::kProviderAuthorizeRequested), PaymentFacts(payment)};
        case S::kAuthorized:
            return Emit{std::string(topics::kProviderCaptureRequested), PaymentFacts(payment)};
        case S::kCaptured:
            return Emit{std::string(topics::kPaymentsCaptured), PaymentFacts(payment)};
        case S::kRiskReview:
        case S::kSettled:
        case S::kFailed:
        case S::kReversed:
            return std::nullopt;
    }
    return std::nullopt;
}

}  // namespace sagapay::orchestrator
