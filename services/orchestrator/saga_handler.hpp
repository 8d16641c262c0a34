#pragma once

#include <string_view>

#include "core/clock.hpp"
#include "core/messaging/envelope.hpp"
#include "core/payments/payment_status.hpp"
#include "core/ports/outbox.hpp"
#include "services/orchestrator/payment_store.hpp"

namespace sagapay::orchestrator {

/// What the saga reports for metrics; called only after the unit of work committed.
class SagaObserver {
public:
    virtual ~SagaObserver() = default;
    /// An event that changed nothing (a duplicate, an unknown payment, a state that moved on).
    virtual void Ignored(std::string_view topic) = 0;
    /// A payment reached a terminal state `age_seconds` after it was created; `reason` is
    /// Plan::FailureReason (empty when it settled).
    virtual void Finished(PaymentStatus terminal, double age_seconds, std::string_view reason) = 0;
};

/// The orchestrator's consumer: applies one event to its payment inside the caller's unit of
/// work: lock, PlanFor, the transitions (compare-and-swap), the emitted events through the
/// outbox. Stateless and thread-safe; one instance serves every consumer thread.
class SagaHandler {
public:
    SagaHandler(const Clock& clock, SagaObserver& observer) noexcept
        : clock_(clock), observer_(observer) {}

    /// Throws PermanentEventError for a payload that does not decode (dead-lettered with the
    /// reason); an unknown payment or an event that no longer fits is acknowledged and counted.
    void Handle(PaymentStore& store, Outbox& outbox, const Envelope& event) const;

private:
    const Clock& clock_;
    SagaObserver& observer_;
};

}  // namespace sagapay::orchestrator
