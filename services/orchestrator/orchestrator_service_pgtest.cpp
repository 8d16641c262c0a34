// The composition root against the test PostgreSQL and Redis: the saga's consumers are wired to
// the right topics and groups, and what they consume moves payments.
#include "services/orchestrator/orchestrator_service.hpp"

#include <cstdint>

#include <gtest/gtest.h>

#include "core/messaging/events.hpp"
#include "runtime/bootstrap.hpp"
#include "services/orchestrator/pg_payment_store.hpp"
#include "services/orchestrator/schema.hpp"
#include "testing/fake_clock.hpp"
#include "testing/service_test.hpp"
#include "testing/test_env.hpp"

namespace sagapay::orchestrator {
namespace {

using testing::Eventually;
using testing::ServiceThread;

TEST(OrchestratorService, DrivesAPaymentWithWhatItConsumesUntilStopped) {
    testing::TestDatabase db;
    const Config config = testing::ServiceTestConfig("orchestrator", "orchestrator", db.Dsn());
    testing::FakeClock clock;
    ServiceThread service([&] { return RunOrchestrator(config, clock); });

    auto conn = postgres::Connection::Open(db.Dsn());
    const auto status_of = [&](const PaymentId& id) {
        try {
            const auto rows =
                conn.Exec("SELECT status FROM payments WHERE payment_id = $1", {id.Value()});
            return rows.Empty() ? std::string() : rows.GetString(0, 0);
        } catch (const postgres::SqlError&) {
            return std::string();  // not migrated yet
        }
    };
    // Each migration commits on its own: the table exists before the last one has added its
    // columns, so wait for every migration, not for the first table.
    const auto migrations = static_cast<std::int64_t>(OrchestratorMigrations().size());
    ASSERT_TRUE(Eventually([&] {
        return testing::CountOrMinusOne(conn, "SELECT count(*) FROM schema_migrations") ==
               migrations;
    }));
    const PaymentRequest request{
        CustomerId("c-1"), Money{1200, *Currency::Parse("USD")}, IdempotencyKey("order-svc")};
    const PaymentId payment = PgPaymentStore::Create(conn, request, "trace-svc", clock).payment_id;

    RiskApproved approved;
    approved.decision = Verdict::kApprove;
    approved.reason = "rule_passed";
    approved.customer_id = request.customer_id;
    testing::PublishForTest(config, NewEnvelope(approved, payment, "trace-svc", clock));

    const bool approved_seen = Eventually([&] { return status_of(payment) == "APPROVED"; });
    EXPECT_EQ(service.Stop(), 0) << service.Error();
    EXPECT_TRUE(approved_seen);
    EXPECT_EQ(
        conn.Exec("SELECT count(*) FROM outbox_events WHERE topic = 'provider.authorize.requested'")
            .GetInt(0, 0),
        1
    );
}

}  // namespace
}  // namespace sagapay::orchestrator
