#pragma once

#include <string>

#include "core/strong_id.hpp"
#include "services/notification/notification_outcome.hpp"

namespace sagapay::notification {

/// One notification of a payment's outcome, or of a refund's.
struct Notification {
    PaymentId payment_id;
    Outcome outcome = Outcome::kSettled;
    std::string message;
    EventId event_id;       ///< The event that announced the outcome.
    std::string refund_id;  ///< The refund (a UUID) of a refund outcome; empty otherwise.
};

/// Port: the notifications sent, used within one unit of work: at most one per (payment,
/// outcome) for a payment's outcomes, and one per (refund, outcome) for a refund's (a payment
/// may have many refunds). Implemented by PgNotificationStore and InMemoryNotificationStore.
/// Failures throw.
class NotificationStore {
public:
    virtual ~NotificationStore() = default;

    /// Records `notification`; false, recording nothing, when the payment's outcome (or the
    /// refund's) was recorded before, whatever the event. A refund outcome without a refund id,
    /// or a payment outcome with one, is refused with kInvalidArgument, as is a payment or
    /// refund id that is not a UUID.
    virtual bool Record(const Notification& notification) = 0;
};

}  // namespace sagapay::notification
