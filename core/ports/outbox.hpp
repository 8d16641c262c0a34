#pragma once

#include <functional>
#include <string>

#include "core/clock.hpp"
#include "core/messaging/envelope.hpp"
#include "core/messaging/events.hpp"
#include "core/strong_id.hpp"

namespace sagapay {

/// Port: the events one unit of work publishes. What is appended leaves only if the unit of work
/// (the handler's database transaction) commits, and then exactly with it: the transactional
/// outbox. Implemented by TransactionOutbox (runtime/) over a PostgreSQL transaction and by
/// testing::RecordingOutbox in tests. One outbox belongs to one unit of work and one thread.
class Outbox {
public:
    virtual ~Outbox() = default;

    /// Queues `envelope` to be published if the unit of work commits.
    virtual void Append(Envelope envelope) = 0;

    /// Runs `fn` once the unit of work has committed (metrics, waking a worker): never for a
    /// rolled-back attempt. A throwing `fn` is logged, never undoes the commit.
    virtual void AfterCommit(std::function<void()> fn) = 0;

    /// Appends `event` about `payment` in a new envelope (fresh event id, stamped by `clock`).
    void Emit(
        const SagaEvent& event, const PaymentId& payment, std::string trace_id, const Clock& clock
    ) {
        Append(NewEnvelope(event, payment, std::move(trace_id), clock));
    }
};

}  // namespace sagapay
