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

}  // namespace
}  // namespace sagapay::notification
