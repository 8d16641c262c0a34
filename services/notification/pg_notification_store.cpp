#include "services/notification/pg_notification_store.hpp"

#include <optional>

namespace sagapay::notification {

bool PgNotificationStore::Record(const Notification& notification) {
    // A payment's outcome is unique per payment, a refund's per refund (the partial unique
    // indexes of schema/0012_refund_notifications.sql); the outcome's CHECK refuses a refund id
    // on a payment's outcome and a refund's outcome without one.
    const bool refund = !notification.refund_id.empty();
    const auto inserted = tx_.Exec(
        refund ? "INSERT INTO notification_logs (payment_id, outcome, message, event_id, "
                 "refund_id) VALUES ($1, $2, $3, $4, $5::uuid) ON CONFLICT (refund_id, outcome) "
                 "WHERE refund_id IS NOT NULL DO NOTHING RETURNING id"
               : "INSERT INTO notification_logs (payment_id, outcome, message, event_id, "
                 "refund_id) VALUES ($1, $2, $3, $4, $5::uuid) ON CONFLICT (payment_id, outcome) "
                 "WHERE refund_id IS NULL DO NOTHING RETURNING id",
        {notification.payment_id.Value(),
         ToString(notification.outcome),
         notification.message,
         notification.event_id.Value(),
         refund ? std::optional<std::string>(notification.refund_id) : std::nullopt}
    );
    return !inserted.Empty();
}

}  // namespace sagapay::notification
