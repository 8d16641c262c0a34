#include "services/notification/notification_store_contract.hpp"

#include <algorithm>

#include <gtest/gtest.h>

#include "services/notification/in_memory_notification_store.hpp"

namespace sagapay::notification::contract {
namespace {

/// InMemoryNotificationStore with PgNotificationStore's unit of work: a throwing unit leaves the
/// store as it was.
class InMemoryHarness {
public:
    void Run(const std::function<void(NotificationStore&)>& work) {
        const InMemoryNotificationStore before = store_;
        try {
            work(store_);
        } catch (...) {
            store_ = before;
            throw;
        }
    }

    [[nodiscard]] std::vector<RecordedRow> Recorded() const {
        std::vector<RecordedRow> rows;
        const auto add = [&](const Notification& n) {
            rows.emplace_back(
                n.payment_id.Value(),
                std::string(ToString(n.outcome)),
                n.message,
                n.event_id.Value(),
                n.refund_id
            );
        };
        for (const auto& [key, n] : store_.Recorded()) {
            add(n);
        }
        for (const auto& [key, n] : store_.RecordedRefunds()) {
            add(n);
        }
        std::sort(rows.begin(), rows.end());
        return rows;
    }

private:
    InMemoryNotificationStore store_;
};

INSTANTIATE_TYPED_TEST_SUITE_P(InMemory, NotificationStoreContract, InMemoryHarness);

}  // namespace
}  // namespace sagapay::notification::contract
