// The composition root against the test PostgreSQL and Redis: the consumers are wired to the
// right topics and record what they consume.
#include "services/notification/notification_service.hpp"

#include <chrono>
#include <csignal>
#include <functional>
#include <thread>

#include <gtest/gtest.h>
#include <unistd.h>

#include "core/messaging/events.hpp"
#include "runtime/bootstrap.hpp"
#include "testing/fake_clock.hpp"
#include "testing/service_thread.hpp"
#include "testing/test_env.hpp"

namespace sagapay::notification {
namespace {

using namespace std::chrono_literals;

using testing::Eventually;
using testing::ServiceThread;

TEST(NotificationService, RecordsTheOutcomesItConsumesUntilStopped) {
    testing::TestDatabase db;
    Config config;
    config.service_name = "notification";
    config.dsn["notification"] = db.Dsn();
    config.port["notification"] = 0;
    config.redis_url = testing::TestRedisUrl();
    config.stream_prefix = testing::UniqueName("notification-svc") + ":";
    config.http_threads = 1;
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
    auto publisher = MakeEventBus(config)->CreatePublisher();
    ASSERT_TRUE(publisher.has_value());
    for (const Envelope& event : events) {
        const OutgoingMessage message{event.event_type, event.aggregate_id, EncodeEnvelope(event)};
        ASSERT_TRUE((*publisher)->Publish(std::span(&message, 1)).has_value());
    }

    ServiceThread service([&] { return RunNotification(config, clock); });

    auto conn = postgres::Connection::Open(db.Dsn());
    const bool recorded = Eventually([&] {
        try {
            return conn.Exec("SELECT count(*) FROM notification_logs").GetInt(0, 0) == 3;
        } catch (const postgres::SqlError&) {
            return false;  // not migrated yet
        }
    });
    EXPECT_EQ(service.Stop(), 0) << service.Error();
    ASSERT_TRUE(recorded);
    const auto outcomes = conn.Exec("SELECT outcome FROM notification_logs ORDER BY outcome");
    EXPECT_EQ(outcomes.GetString(0, 0), "FAILED");
    EXPECT_EQ(outcomes.GetString(1, 0), "REVERSED");
    EXPECT_EQ(outcomes.GetString(2, 0), "SETTLED");
}

}  // namespace
}  // namespace sagapay::notification
