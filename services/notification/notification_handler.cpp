#include "services/notification/notification_handler.hpp"

#include "core/ids.hpp"
#include "core/messaging/events.hpp"
#include "runtime/event_consumer.hpp"
#include "runtime/log.hpp"

namespace sagapay::notification {

namespace {

/// The refund a refund event announces and its outcome; PermanentEventError when it cannot be
/// read.
std::pair<std::string, Outcome> RefundOf(const Envelope& event) {
    std::string refund_id;
    Outcome outcome = Outcome::kRefundFailed;
    if (event.event_type == topics::kPaymentsRefunded) {
        auto refunded = DecodeEvent<PaymentRefunded>(event);
        if (!refunded) {
            throw PermanentEventError(refunded.error().message);
        }
        refund_id = std::move(refunded->refund_id);
        outcome = RefundOutcomeOf(refunded->refunded_total_minor, refunded->captured_minor);
    } else {
        auto failed = DecodeEvent<RefundFailed>(event);
        if (!failed) {
            throw PermanentEventError(failed.error().message);
        }
        refund_id = std::move(failed->refund_id);
    }
    if (!IsUuid(refund_id)) {
        throw PermanentEventError(event.event_type + " needs a refund id, got " + refund_id);
    }
    return {std::move(refund_id), outcome};
}

}  // namespace

void NotificationHandler::Handle(NotificationStore& store, const Envelope& event) {
    const bool refund_event =
        event.event_type == topics::kPaymentsRefunded || event.event_type == topics::kRefundsFailed;
    const auto outcome = refund_event ? std::nullopt : OutcomeOf(event.event_type);
    if ((!refund_event && !outcome) || !IsUuid(event.aggregate_id)) {
        throw PermanentEventError("not a payment outcome: " + event.event_type);
    }
    Notification notification{
        PaymentId(event.aggregate_id),
        outcome.value_or(Outcome::kSettled),
        "Payment " + event.aggregate_id + " event=" + event.event_type,
        EventId(event.event_id),
        ""};
    if (refund_event) {
        auto [refund_id, refund_outcome] = RefundOf(event);
        notification.outcome = refund_outcome;
        notification.message = "Refund " + refund_id + " of payment " + event.aggregate_id +
                               " event=" + event.event_type;
        notification.refund_id = std::move(refund_id);
    }
    if (store.Record(notification)) {
        log::Info(
            "notification recorded",
            {{"outcome", std::string(ToString(notification.outcome))}, {"channel", "webhook"}}
        );
    }
}

}  // namespace sagapay::notification
