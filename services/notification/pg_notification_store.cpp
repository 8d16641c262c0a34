#include "services/notification/pg_notification_store.hpp"

namespace sagapay::notification {

bool PgNotificationStore::Record(const Notification& notification) {
    const auto inserted = tx_.Exec(
        "INSERT INTO notification_logs (payment_id, outcome, message, event_id) VALUES ($1, $2, "
        "$3, $4) ON CONFLICT ON CONSTRAINT uq_notification_outcome DO NOTHING RETURNING id",
        {notification.payment_id.Value(),
         ToString(notification.outcome),
         notification.message,
         notification.event_id.Value()}
    );
    return !inserted.Empty();
}

}  // namespace sagapay::notification
