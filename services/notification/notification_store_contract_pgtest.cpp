#include "services/notification/notification_store_contract.hpp"

#include <algorithm>

#include <gtest/gtest.h>

#include "adapters/postgres/migrator.hpp"
#include "services/notification/pg_notification_store.hpp"
#include "services/notification/schema.hpp"
#include "testing/test_env.hpp"

namespace sagapay::notification::contract {
namespace {

/// PgNotificationStore over a fresh database: each Run is one transaction.
class PgHarness {
public:
    PgHarness() : conn_(db_.Connect()) {
        postgres::Migrate(conn_, "notification", NotificationMigrations());
    }

    void Run(const std::function<void(NotificationStore&)>& work) {
        postgres::Transaction tx(conn_);
        PgNotificationStore store(tx);
        work(store);
        tx.Commit();
    }

    std::vector<RecordedRow> Recorded() {
        const auto rows = conn_.Exec(
            "SELECT payment_id::text, outcome, message, event_id, "
            "coalesce(refund_id::text, '') FROM notification_logs"
        );
        std::vector<RecordedRow> recorded;
        recorded.reserve(static_cast<std::size_t>(rows.Size()));
        for (int i = 0; i < rows.Size(); ++i) {
            recorded.emplace_back(
                rows.GetString(i, 0),
                rows.GetString(i, 1),
                rows.GetString(i, 2),
                rows.GetString(i, 3),
                rows.GetString(i, 4)
            );
        }
        std::sort(recorded.begin(), recorded.end());
        return recorded;
    }

private:
    testing::TestDatabase db_;
    postgres::Connection conn_;
};

INSTANTIATE_TYPED_TEST_SUITE_P(Postgres, NotificationStoreContract, PgHarness);

}  // namespace
}  // namespace sagapay::notification::contract
