#pragma once

#include <chrono>
#include <functional>
#include <span>
#include <stdexcept>
#include <stop_token>
#include <string>

#include "adapters/postgres/connection.hpp"
#include "core/messaging/envelope.hpp"
#include "core/ports/event_bus.hpp"

namespace sagapay {

/// Thrown by a handler for an event that can never succeed (a payload that is not what the topic
/// promises). The message is dead-lettered at once with this reason instead of being retried.
class PermanentEventError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// Handles one event inside the consumer's transaction; the inbox row is already written. Throws
/// to fail: the transaction rolls back and the event is retried (PermanentEventError: parked).
using EventHandler = std::function<void(postgres::Transaction& tx, const Envelope& envelope)>;

/// Runs once per batch transaction, after the inbox rows and before the handlers, with the batch's
/// new events (in handling order): lets a service read or lock what the whole batch needs in one
/// statement instead of one per event.
using BatchPrelude =
    std::function<void(postgres::Transaction& tx, std::span<const Envelope* const> events)>;

/// From inside an EventHandler: runs `fn` once the handler's transaction has committed (metrics,
/// notifications that must not count a rolled-back attempt). Dropped if it rolls back.
void AfterCommit(std::function<void()> fn);

struct ConsumerOptions {
    std::string service;  ///< Inbox consumer name and metrics label, e.g. "orchestrator".
    std::string topic;
    std::string group;  ///< The seed's group ids, e.g. "orchestrator-risk-approved".
    std::string dsn;
    std::size_t batch = 100;
    std::int64_t max_deliveries = 5;  ///< After this many failed deliveries: dead letter.
    std::chrono::milliseconds visibility_timeout{std::chrono::seconds(15)};
    /// Handle a whole batch in one transaction (one commit for up to `batch` events). Off for
    /// handlers with side effects outside the database that must not repeat on a batch retry.
    bool batch_transactions = true;
    /// Handle a batch in payment-id order, so consumers of different topics lock payments in one
    /// order (no deadlocks). Off where the bus order itself matters (risk counts in arrival order).
    bool order_by_key = true;
    /// Optional; see BatchPrelude. Not run for events handled one per transaction.
    BatchPrelude prelude;
};

/// Consumes one (topic, group) until `stop` is requested. For each polled batch: decode, write the
/// inbox row and run the handler, all in one transaction (falling back to one transaction per
/// event when any event of the batch fails), commit, then ack. An event whose transaction fails is
/// retried a few times at once (a compare-and-swap conflict clears on retry), then left unacked for
/// redelivery; after `max_deliveries` it goes to the dead-letter stream with the last error.
/// Database and bus outages are waited out with capped backoff; nothing is acked that did not
/// commit.
void RunEventConsumer(
    std::stop_token stop, EventBus& bus, const ConsumerOptions& options, const EventHandler& handler
);

}  // namespace sagapay
