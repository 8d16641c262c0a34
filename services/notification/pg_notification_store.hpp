#pragma once

#include "adapters/postgres/connection.hpp"
#include "services/notification/notification_store.hpp"

namespace sagapay::notification {

/// NotificationStore over `notification_logs` (schema/0002_notification.sql, 0012), inside `tx`;
/// the channel is the column's default, `webhook`.
class PgNotificationStore final : public NotificationStore {
public:
    explicit PgNotificationStore(postgres::Transaction& tx) noexcept : tx_(tx) {}

    // NotificationStore
    bool Record(const Notification& notification) override;

private:
    postgres::Transaction& tx_;
};

}  // namespace sagapay::notification
