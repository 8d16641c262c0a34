#pragma once

#include <string>

#include "core/strong_id.hpp"
#include "services/notification/notification_outcome.hpp"

namespace sagapay::notification {

/// One notification of a payment's outcome.
struct Notification {
    PaymentId payment_id;
    Outcome outcome = Outcome::kSettled;
    std::string message;
    EventId event_id;  ///< The event that announced the outcome.
};

/// Port: the notifications sent, used within one unit of work: at most one per (payment,
/// outcome). Implemented by PgNotificationStore and InMemoryNotificationStore. Failures throw.
class NotificationStore {
public:
    virtual ~NotificationStore() = default;

    /// Records `notification`; false, recording nothing, when the payment's outcome was recorded
    /// before (whatever the event).
    virtual bool Record(const Notification& notification) = 0;
};

}  // namespace sagapay::notification
