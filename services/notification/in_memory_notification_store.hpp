#pragma once

#include <map>
#include <utility>

#include "core/error.hpp"
#include "core/ids.hpp"
#include "services/notification/notification_store.hpp"

namespace sagapay::notification {

/// NotificationStore in memory for tests and the simulation, with PgNotificationStore's rules
/// (notification_store_contract.hpp): one notification per (payment, outcome); a payment id that
/// is not a UUID is refused with kInvalidArgument, as the uuid column does.
class InMemoryNotificationStore final : public NotificationStore {
public:
    // NotificationStore
    bool Record(const Notification& notification) override {
        if (!IsUuid(notification.payment_id.Value())) {
            throw Exception(
                ErrorCode::kInvalidArgument,
                "invalid input syntax for type uuid: " + notification.payment_id.Value()
            );
        }
        return recorded_.try_emplace({notification.payment_id, notification.outcome}, notification)
            .second;
    }

    // For tests
    [[nodiscard]] const std::map<std::pair<PaymentId, Outcome>, Notification>& Recorded(
    ) const noexcept {
        return recorded_;
    }

private:
    std::map<std::pair<PaymentId, Outcome>, Notification> recorded_;
};

}  // namespace sagapay::notification
