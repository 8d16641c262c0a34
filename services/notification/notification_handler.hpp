#pragma once

#include "core/messaging/envelope.hpp"
#include "services/notification/notification_store.hpp"

namespace sagapay::notification {

/// Records exactly one notification per payment outcome, whatever the redeliveries, from
/// `payments.settled`, `payments.failed` and `payments.reversed`: only the envelope is read (the
/// topic names the outcome), so no payload field can make an outcome unrecorded. And one per
/// refund outcome from `payments.refunded` (PARTIALLY_REFUNDED or REFUNDED, by the payload's
/// refunded_total_cents and captured_cents) and `refunds.failed` (REFUND_FAILED), which need the
/// payload's refund_id.
class NotificationHandler {
public:
    /// Throws PermanentEventError for a topic that is no outcome, an aggregate id that is not a
    /// payment id, and a refund event whose payload cannot be decoded or whose refund_id is not a
    /// UUID.
    void Handle(NotificationStore& store, const Envelope& event);
};

}  // namespace sagapay::notification
