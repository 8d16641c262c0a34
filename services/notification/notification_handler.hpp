#pragma once

#include "core/messaging/envelope.hpp"
#include "services/notification/notification_store.hpp"

namespace sagapay::notification {

/// Records exactly one notification per payment outcome, whatever the redeliveries, from
/// `payments.settled`, `payments.failed` and `payments.reversed`. Only the envelope is read (the
/// topic names the outcome): no payload field is needed, so none can make an outcome unrecorded.
class NotificationHandler {
public:
    /// Throws PermanentEventError for a topic that is no outcome or an aggregate id that is not a
    /// payment id.
    void Handle(NotificationStore& store, const Envelope& event);
};

}  // namespace sagapay::notification
