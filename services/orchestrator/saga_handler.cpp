#include "services/orchestrator/saga_handler.hpp"

#include "runtime/event_consumer.hpp"
#include "runtime/log.hpp"

namespace sagapay::orchestrator {

void SagaHandler::Handle(PaymentStore& store, Outbox& outbox, const Envelope& event) const {
    auto decoded = DecodeSagaEvent(event);
    if (!decoded) {
        throw PermanentEventError(decoded.error().message);
    }
    const std::string topic = event.event_type;
    auto locked = store.Lock(PaymentId(event.aggregate_id));
    if (!locked) {
        log::Warn("event for an unknown payment acknowledged", {{"event_type", topic}});
        outbox.AfterCommit([this, topic] { observer_.Ignored(topic); });
        return;
    }
    PaymentSnapshot& payment = locked->snapshot;
    const PaymentStatus initial = payment.status;
    std::optional<RefundSnapshot> refund;
    if (const auto* completed = std::get_if<RefundCompleted>(&*decoded)) {
        refund = store.FindRefund(payment.payment_id, completed->refund_id);
    }
    const Plan plan =
        PlanFor(payment, *decoded, EventId(event.event_id), refund ? &*refund : nullptr);
    if (plan.Ignored()) {
        log::Info("event did not fit the payment's state", {{"reason", plan.ignored_because}});
        outbox.AfterCommit([this, topic] { observer_.Ignored(topic); });
        return;
    }
    for (const Step& step : plan.steps) {
        store.Apply(payment, step, EventId(event.event_id));
    }
    store.Record(payment, plan, EventId(event.event_id));
    for (const SagaEvent& emit : plan.emits) {
        outbox.Emit(emit, payment.payment_id, event.trace_id, clock_);
    }
    // A payment ends once: a refund of a settled one is not a second ending.
    if (const auto terminal = plan.Terminal(); terminal && !IsTerminal(initial)) {
        outbox.AfterCommit([this,
                            state = *terminal,
                            age = locked->age_seconds,
                            reason = std::string(plan.FailureReason(*decoded))] {
            observer_.Finished(state, age, reason);
        });
    }
}

}  // namespace sagapay::orchestrator
