// The composition root against the test PostgreSQL and Redis: the consumers and the expiry
// worker are wired to the right topics and do their work.
#include "services/risk/risk_service.hpp"

#include <chrono>
#include <csignal>
#include <functional>
#include <thread>

#include <gtest/gtest.h>
#include <unistd.h>

#include "adapters/redis/client.hpp"
#include "core/messaging/events.hpp"
#include "runtime/bootstrap.hpp"
#include "services/risk/velocity_store.hpp"
#include "testing/fake_clock.hpp"
#include "testing/service_test.hpp"
#include "testing/test_env.hpp"

namespace sagapay::risk {
namespace {

using namespace std::chrono_literals;

using testing::Eventually;
using testing::ServiceThread;

TEST(RiskService, DecidesCountsDeclinesAndExpiresReviewsUntilStopped) {
    testing::TestDatabase db;
    Config config = testing::ServiceTestConfig("risk", "risk", db.Dsn());
    config.ops_api_key = "ops-key";
    config.risk_review_expiry_seconds = 1;
    testing::FakeClock clock;
    const CustomerId customer(testing::UniqueName("cust"));
    const PaymentId reviewed("9c4d5e6f-0000-4000-8000-0000000000aa");
    const PaymentId declined("9c4d5e6f-0000-4000-8000-0000000000bb");
    PaymentFailed failed;
    failed.error_code = FailureCode::kProviderDecline;
    failed.customer_id = customer;
    const std::vector<Envelope> events = {
        NewEnvelope(failed, declined, "t", clock),
        NewEnvelope(
            PaymentRequested{{customer, Money{150000, *Currency::Parse("USD")}}},
            reviewed,
            "t",
            clock
        ),
    };
    for (const Envelope& event : events) {
        testing::PublishForTest(config, event);
    }

    ServiceThread service([&] { return RunRisk(config, clock); });

    auto conn = postgres::Connection::Open(db.Dsn());
    // Reviewed (REVIEW, high_amount), then denied by the expiry: two risk.denied in the outbox.
    const bool expired = Eventually([&] {
        return testing::CountOrMinusOne(
                   conn,
                   "SELECT count(*) FROM risk_reviews WHERE status = 'DENIED' AND "
                   "reviewed_by = 'system:expiry'"
               ) == 1 &&
               testing::CountOrMinusOne(
                   conn, "SELECT count(*) FROM outbox_events WHERE topic = 'risk.denied'"
               ) == 2;
    });
    redis::Connection redis(redis::ParseRedisUrl(config.redis_url));
    const bool counted = Eventually([&] {
        return redis.Command({"ZCARD", VelocityStore::FailureKey(customer)}).integer == 1;
    });
    EXPECT_EQ(service.Stop(), 0) << service.Error();
    EXPECT_TRUE(expired);
    EXPECT_TRUE(counted);
    EXPECT_EQ(
        conn.Exec("SELECT decision || ':' || reason FROM risk_decisions").GetString(0, 0),
        "REVIEW:high_amount"
    );
}

}  // namespace
}  // namespace sagapay::risk
