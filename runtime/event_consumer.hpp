#pragma once

#include <chrono>
#include <functional>
#include <span>
#include <stdexcept>
#include <stop_token>
#include <string>

#include "adapters/postgres/connection.hpp"
#include "core/clock.hpp"
#include "core/error.hpp"
#include "core/messaging/envelope.hpp"
#include "core/ports/event_bus.hpp"

namespace sagapay {

/// Thrown by a handler for an event that can never succeed (a payload that is not what the topic
/// promises): an Exception with kInvalidArgument, so the message is dead-lettered at once with
/// this reason instead of being retried.
class PermanentEventError : public Exception {
public:
    explicit PermanentEventError(const std::string& message)
        : Exception(ErrorCode::kInvalidArgument, message) {}
};

/// What the consumer does with an event whose handler failed with `code` (the one error rule,
/// docs/architecture.md): retryable codes (IsRetryable: kAborted, kUnavailable) are retried at
/// once a few times, then left for redelivery; codes that say the event itself is wrong
/// (kInvalidArgument, kFailedPrecondition, kNotFound) park it at once; anything else (kInternal,
/// kDeadlineExceeded, kAlreadyExists, an exception that is not an Exception) is left for
/// redelivery. Redeliveries of a failing event back off (RedeliveryPolicy) and it is parked only
/// once it has kept failing for `park_after`.
enum class FailureAction { kRetryNow, kRedeliverLater, kDeadLetterNow };
[[nodiscard]] FailureAction ActionForFailure(ErrorCode code) noexcept;

/// When a failing event is tried again, and when it is given up on. Redelivery happens when the
/// bus hands the event out again (after the visibility timeout); until the delay has passed the
/// consumer leaves it pending instead of running the handler, so the effective delays are
/// multiples of the visibility timeout. Other events of the stream are not held back.
struct RedeliveryPolicy {
    std::chrono::milliseconds initial_delay{std::chrono::seconds(15)};  ///< after the 1st failure
    std::chrono::milliseconds max_delay{std::chrono::minutes(5)};       ///< the cap
    /// Parked when it fails again this long after its first failure (BUS_PARK_AFTER_MS).
    std::chrono::milliseconds park_after{std::chrono::minutes(30)};

    /// The wait before the next try after `failures` (>= 1) failed tries: initial_delay doubled
    /// per further failure, capped at max_delay.
    [[nodiscard]] std::chrono::milliseconds DelayAfter(std::int64_t failures) const noexcept;
    /// True when an event that first failed at `first_failure` and failed again at `now` is to
    /// be parked.
    [[nodiscard]] bool ParkNow(
        std::chrono::system_clock::time_point first_failure,
        std::chrono::system_clock::time_point now
    ) const noexcept;
};

/// Handles one event inside the consumer's transaction; the inbox row is already written. Throws
/// to fail: the transaction rolls back and ActionForFailure decides what follows. Side effects
/// that must wait for the commit go through the transaction's AfterCommit (TransactionOutbox).
using EventHandler = std::function<void(postgres::Transaction& tx, const Envelope& envelope)>;

/// Runs once per batch transaction, after the inbox rows and before the handlers, with the batch's
/// new events (in handling order): lets a service read or lock what the whole batch needs in one
/// statement instead of one per event.
using BatchPrelude =
    std::function<void(postgres::Transaction& tx, std::span<const Envelope* const> events)>;

/// How a consumer groups events into transactions.
enum class BatchMode {
    /// A whole polled batch in one transaction (one commit for up to `batch` events).
    kOneTransaction,
    /// One transaction per event: for handlers with side effects outside the database that must
    /// not repeat on a batch retry.
    kTransactionPerEvent,
};

/// In which order a consumer handles a polled batch.
enum class HandlingOrder {
    /// By payment id, so consumers of different topics lock payments in one order (no deadlock).
    kByPaymentId,
    /// As the bus delivered them, where that order matters (risk counts in arrival order).
    kArrival,
};

struct ConsumerOptions {
    std::string service;  ///< Inbox consumer name and metrics label, e.g. "orchestrator".
    std::string topic;
    std::string group;  ///< The seed's group ids, e.g. "orchestrator-risk-approved".
    std::string dsn;
    std::size_t batch = 100;
    /// Backstop for events this consumer has no failure record of (a handler that crashes the
    /// process, a consumer that restarted): parked after this many deliveries (BUS_MAX_DELIVERIES).
    /// Set it above park_after / visibility_timeout so that it never parks before the horizon.
    std::int64_t max_deliveries = 500;
    std::chrono::milliseconds visibility_timeout{std::chrono::seconds(15)};
    RedeliveryPolicy redelivery;
    /// How long one poll waits for new events; redeliveries are looked for between polls.
    std::chrono::milliseconds poll_wait{1000};
    /// The time source for redelivery delays and the park horizon; nullptr: the system clock.
    const Clock* clock = nullptr;
    BatchMode batch_mode = BatchMode::kOneTransaction;
    HandlingOrder order = HandlingOrder::kByPaymentId;
    /// Optional; see BatchPrelude. Not run for events handled one per transaction.
    BatchPrelude prelude;
};

/// Consumes one (topic, group) until `stop` is requested. For each polled batch: decode, write the
/// inbox row and run the handler, all in one transaction (falling back to one transaction per
/// event when any event of the batch fails), commit, then ack. An event whose transaction fails is
/// retried a few times at once (a compare-and-swap conflict clears on retry), then left unacked for
/// redelivery with growing delays (RedeliveryPolicy); once it has failed for `park_after` it goes
/// to the dead-letter stream with the last error.
/// Database and bus outages are waited out with capped backoff; nothing is acked that did not
/// commit.
void RunEventConsumer(
    std::stop_token stop, EventBus& bus, const ConsumerOptions& options, const EventHandler& handler
);

}  // namespace sagapay
