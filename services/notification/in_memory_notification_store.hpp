#pragma once

#include <algorithm>
#include <cctype>
#include <map>
#include <string>
#include <utility>

#include "core/error.hpp"
#include "core/ids.hpp"
#include "services/notification/notification_store.hpp"

namespace sagapay::notification {

/// NotificationStore in memory for tests and the simulation, with PgNotificationStore's rules
/// (notification_store_contract.hpp): one notification per (payment, outcome) for a payment's
/// outcomes and per (refund, outcome) for a refund's; a refund outcome without a refund id or a
/// payment outcome with one, and a payment or refund id that is not a UUID, are refused with
/// kInvalidArgument, as the table's CHECK and uuid columns do.
class InMemoryNotificationStore final : public NotificationStore {
public:
    // NotificationStore
    bool Record(const Notification& notification) override {
        RequireUuid(notification.payment_id.Value());
        const bool refund = IsRefundOutcome(notification.outcome);
        if (refund == notification.refund_id.empty()) {
            throw Exception(
                ErrorCode::kInvalidArgument,
                std::string(ToString(notification.outcome)) +
                    (refund ? " needs a refund id" : " is no refund's outcome")
            );
        }
        if (!refund) {
            return recorded_
                .try_emplace({notification.payment_id, notification.outcome}, notification)
                .second;
        }
        RequireUuid(notification.refund_id);
        std::string id = notification.refund_id;  // a uuid: the same in either case
        std::transform(id.begin(), id.end(), id.begin(), [](char c) {
            return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        });
        return refunds_.try_emplace({std::move(id), notification.outcome}, notification).second;
    }

    // For tests
    /// The payments' outcomes, by (payment, outcome).
    [[nodiscard]] const std::map<std::pair<PaymentId, Outcome>, Notification>& Recorded(
    ) const noexcept {
        return recorded_;
    }
    /// The refunds' outcomes, by (refund id in lower case, outcome).
    [[nodiscard]] const std::map<std::pair<std::string, Outcome>, Notification>& RecordedRefunds(
    ) const noexcept {
        return refunds_;
    }

private:
    /// What the uuid columns refuse (SQLSTATE 22P02, mapped to kInvalidArgument).
    static void RequireUuid(const std::string& id) {
        if (!IsUuid(id)) {
            throw Exception(
                ErrorCode::kInvalidArgument, "invalid input syntax for type uuid: " + id
            );
        }
    }

    std::map<std::pair<PaymentId, Outcome>, Notification> recorded_;
    std::map<std::pair<std::string, Outcome>, Notification> refunds_;
};

}  // namespace sagapay::notification
