#pragma once

#include <map>
#include <utility>

#include "services/notification/notification_store.hpp"

namespace sagapay::notification {

/// NotificationStore in memory for tests: one notification per (payment, outcome).
class InMemoryNotificationStore final : public NotificationStore {
public:
    // NotificationStore
    bool Record(const Notification& notification) override {
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
