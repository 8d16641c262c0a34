#include "services/risk/risk_handler.hpp"

#include "core/ids.hpp"
#include "runtime/event_consumer.hpp"
#include "runtime/log.hpp"

namespace sagapay::risk {

void RiskHandler::OnPaymentRequested(RiskStore& store, Outbox& outbox, const Envelope& event) {
    auto requested = DecodeEvent<PaymentRequested>(event);
    if (!requested) {
        throw PermanentEventError(requested.error().message);
    }
    if (!IsUuid(event.aggregate_id)) {
        throw PermanentEventError(
            "payments.requested needs a payment id, got " + event.aggregate_id
        );
    }
    const PaymentId payment(event.aggregate_id);
    const PaymentFacts& facts = requested->facts;

    KnownDecision decision;
    if (const auto known = store.FindDecision(payment)) {
        // Re-requested (the orchestrator's sweeper, a redelivery): the decision made stands.
        if (known->manual) {
            // A review decided since: its announcement may have been lost; say it again, as the
            // same event (consumers that had it skip it as a duplicate).
            AnnounceManualOutcome(outbox, event, payment, facts, *known->manual);
            return;
        }
        decision = *known;
    } else {
        const VelocityCounts counts =
            velocity_.RecordAndCount(facts.customer_id, payment, clock_.Now());
        const RiskDecision rules = Decide(
            {.amount_minor = facts.amount.amount_minor,
             .payments_last_hour = counts.payments_last_hour,
             .failed_attempts = counts.failed_attempts},
            thresholds_
        );
        decision = {rules.verdict, std::string(rules.reason), std::nullopt};
        store.InsertDecision(
            {payment, facts.customer_id, facts.amount, decision.verdict, decision.reason, counts}
        );
        if (decision.verdict == Verdict::kReview) {
            store.InsertReview(
                {payment, facts.customer_id, facts.amount, decision.reason, event.trace_id}
            );
        }
        log::Info(
            "risk decision",
            {{"decision", std::string(ToString(decision.verdict))}, {"reason", decision.reason}}
        );
    }
    RiskDecided decided;
    decided.decision = decision.verdict;
    decided.reason = decision.reason;
    decided.customer_id = facts.customer_id;
    if (decision.verdict == Verdict::kApprove) {
        outbox.Emit(RiskApproved{decided}, payment, event.trace_id, clock_);
    } else {
        outbox.Emit(RiskDenied{decided}, payment, event.trace_id, clock_);
    }
}

void RiskHandler::AnnounceManualOutcome(
    Outbox& outbox,
    const Envelope& request,
    const PaymentId& payment,
    const PaymentFacts& facts,
    const ManualOutcome& manual
) const {
    RiskDecided decision;
    decision.decision = manual.approved ? Verdict::kApprove : Verdict::kDeny;
    decision.reason = manual.approved ? "manual_approve" : "manual_deny";
    decision.customer_id = facts.customer_id;
    decision.review = ManualReview{
        manual.reviewed_by,
        manual.reviewed_at,
        std::string(ToString(manual.approved ? ReviewStatus::kApproved : ReviewStatus::kDenied))};
    Envelope envelope = manual.approved
                            ? NewEnvelope(RiskApproved{decision}, payment, request.trace_id, clock_)
                            : NewEnvelope(RiskDenied{decision}, payment, request.trace_id, clock_);
    if (!manual.decision_event_id.Empty()) {
        envelope.event_id = manual.decision_event_id.Value();
    }
    log::Info("re-announcing a review's decision", {{"reason", decision.reason}});
    outbox.Append(std::move(envelope));
}

void RiskHandler::OnPaymentFailed(const Envelope& event) {
    auto failed = DecodeEvent<PaymentFailed>(event);
    if (!failed) {
        throw PermanentEventError(failed.error().message);
    }
    // Only a provider's decline says something about the customer; timeouts and risk denials
    // do not count towards the failed-attempts rule.
    if (failed->error_code != FailureCode::kProviderDecline || failed->customer_id.Empty()) {
        return;
    }
    velocity_.RecordFailure(failed->customer_id, PaymentId(event.aggregate_id), clock_.Now());
}

}  // namespace sagapay::risk
