#include "services/notification/notification_handler.hpp"

#include "core/ids.hpp"
#include "runtime/event_consumer.hpp"
#include "runtime/log.hpp"

namespace sagapay::notification {

void NotificationHandler::Handle(NotificationStore& store, const Envelope& event) {
    const auto outcome = OutcomeOf(event.event_type);
    if (!outcome || !IsUuid(event.aggregate_id)) {
        throw PermanentEventError("not a payment outcome: " + event.event_type);
    }
    const bool recorded = store.Record(
        {PaymentId(event.aggregate_id),
         *outcome,
         "Payment " + event.aggregate_id + " event=" + event.event_type,
         EventId(event.event_id)}
    );
    if (recorded) {
        log::Info(
            "notification recorded",
            {{"outcome", std::string(ToString(*outcome))}, {"channel", "webhook"}}
        );
    }
}

}  // namespace sagapay::notification
