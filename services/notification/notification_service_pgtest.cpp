// The composition root against the test PostgreSQL and Redis: the consumers are wired to the
// right topics and record what they consume.
#include "services/notification/notification_service.hpp"

#include <chrono>
#include <csignal>
#include <functional>
#include <thread>

#include <gtest/gtest.h>
#include <unistd.h>

#include "adapters/postgres/migrator.hpp"
#include "core/messaging/events.hpp"
#include "runtime/bootstrap.hpp"
#include "services/notification/schema.hpp"
#include "testing/fake_clock.hpp"
#include "testing/service_test.hpp"
#include "testing/test_env.hpp"

namespace sagapay::notification {
namespace {

using namespace std::chrono_literals;

using testing::Eventually;
using testing::ServiceThread;

TEST(NotificationService, RecordsTheOutcomesItConsumesUntilStopped) {
    testing::TestDatabase db;
    const Config config = testing::ServiceTestConfig("notification", "notification", db.Dsn());
    testing::FakeClock clock;
    const PaymentId payment("5a6b7c8d-0000-4000-8000-00000000000a");
    const Money amount{100, *Currency::Parse("USD")};
    PaymentFailed failed;
    failed.error_code = FailureCode::kProviderDecline;
    failed.customer_id = CustomerId("c");
    const std::vector<Envelope> events = {
        NewEnvelope(PaymentSettled{"settlement:x", amount}, payment, "t", clock),
        NewEnvelope(failed, payment, "t", clock),
        NewEnvelope(
            PaymentReversed{"r", EventId("e"), {CustomerId("c"), amount}}, payment, "t", clock
        ),
    };
    for (const Envelope& event : events) {
        testing::PublishForTest(config, event);
    }

    ServiceThread service([&] { return RunNotification(config, clock); });

    auto conn = postgres::Connection::Open(db.Dsn());
    const bool recorded = Eventually([&] {
        return testing::CountOrMinusOne(conn, "SELECT count(*) FROM notification_logs") == 3;
    });
    EXPECT_EQ(service.Stop(), 0) << service.Error();
    ASSERT_TRUE(recorded);
    const auto outcomes = conn.Exec("SELECT outcome FROM notification_logs ORDER BY outcome");
    EXPECT_EQ(outcomes.GetString(0, 0), "FAILED");
    EXPECT_EQ(outcomes.GetString(1, 0), "REVERSED");
    EXPECT_EQ(outcomes.GetString(2, 0), "SETTLED");
}

TEST(NotificationService, RecordsAndAnnouncesRefundsInTheConsumingTransaction) {
    testing::TestDatabase db;
    const Config config = testing::ServiceTestConfig("notification", "notification", db.Dsn());
    testing::FakeClock clock;
    const PaymentId payment("5a6b7c8d-0000-4000-8000-00000000000b");
    const Money refund{250, *Currency::Parse("USD")};
    const std::string refunded_id = "8b9c0d1e-0000-4000-8000-0000000000c1";
    const std::string failed_id = "8b9c0d1e-0000-4000-8000-0000000000c2";
    // An endpoint for refunds and one for settlements, registered before the events are
    // consumed.
    const std::string refunds_endpoint = "9c0d1e2f-0000-4000-8000-000000000001";
    {
        auto conn = postgres::Connection::Open(db.Dsn());
        postgres::Migrate(conn, "notification", NotificationMigrations());
        conn.Exec(
            "INSERT INTO webhook_endpoints (endpoint_id, merchant_id, url, event_types, secret, "
            "status) VALUES ($1, 'm', 'http://127.0.0.1:9/hook', "
            "'{payment.refunded,refund.failed}', 'whsec_x', 'ENABLED'), "
            "(gen_random_uuid(), 'm', 'http://127.0.0.1:9/other', '{payment.settled}', "
            "'whsec_y', 'ENABLED')",
            {refunds_endpoint}
        );
    }
    const Envelope refunded = NewEnvelope(
        PaymentRefunded{refunded_id, refund, 250, 1000, CustomerId("c"), "requested_by_customer"},
        payment,
        "t",
        clock
    );
    const Envelope failed = NewEnvelope(
        RefundFailed{failed_id, refund, CustomerId("c"), "psp_refused"}, payment, "t", clock
    );
    for (const Envelope& event : {refunded, failed, refunded}) {
        testing::PublishForTest(config, event);
    }

    ServiceThread service([&] { return RunNotification(config, clock); });

    auto conn = postgres::Connection::Open(db.Dsn());
    const bool announced = Eventually([&] {
        return testing::CountOrMinusOne(conn, "SELECT count(*) FROM webhook_events") == 2 &&
               testing::CountOrMinusOne(conn, "SELECT count(*) FROM notification_logs") == 2;
    });
    EXPECT_EQ(service.Stop(), 0) << service.Error();
    ASSERT_TRUE(announced);
    const auto logs =
        conn.Exec("SELECT outcome, refund_id::text FROM notification_logs ORDER BY outcome");
    EXPECT_EQ(logs.GetString(0, 0), "PARTIALLY_REFUNDED");
    EXPECT_EQ(logs.GetString(0, 1), refunded_id);
    EXPECT_EQ(logs.GetString(1, 0), "REFUND_FAILED");
    EXPECT_EQ(logs.GetString(1, 1), failed_id);
    // Two consumers (one per topic): the order of the payment's two events is the order their
    // transactions committed, numbered 1 and 2 either way.
    const auto events = conn.Exec(
        "SELECT event_type, sequence, body, source_event_id FROM webhook_events "
        "ORDER BY event_type DESC"
    );
    ASSERT_EQ(events.Size(), 2);
    EXPECT_EQ(events.GetString(0, 0), "refund.failed");
    EXPECT_EQ(events.GetString(0, 3), failed.event_id);
    EXPECT_EQ(events.GetString(1, 0), "payment.refunded");
    EXPECT_EQ(events.GetString(1, 3), refunded.event_id);
    EXPECT_EQ(events.GetInt(0, 1) + events.GetInt(1, 1), 3);
    const auto body = nlohmann::json::parse(events.GetString(1, 2));
    EXPECT_EQ(body["data"]["payment_id"], payment.Value());
    EXPECT_EQ(body["data"]["object"]["refund_id"], refunded_id);
    EXPECT_EQ(body["data"]["object"]["status"], "PARTIALLY_REFUNDED");
    EXPECT_EQ(body["data"]["object"]["refunded_total_cents"], 250);
    EXPECT_EQ(body["data"]["object"]["captured_cents"], 1000);
    // One delivery per event, to the endpoint subscribed to refunds only.
    const auto deliveries = conn.Exec(
        "SELECT count(*), count(*) FILTER (WHERE endpoint_id = $1::uuid) FROM webhook_deliveries",
        {refunds_endpoint}
    );
    EXPECT_EQ(deliveries.GetInt(0, 0), 2);
    EXPECT_EQ(deliveries.GetInt(0, 1), 2);
}

}  // namespace
}  // namespace sagapay::notification
