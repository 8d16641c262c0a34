// The composition root against the test PostgreSQL and Redis: the consumers are wired to the
// right topics and post what they consume.
#include "services/ledger/ledger_service.hpp"

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

namespace sagapay::ledger {
namespace {

using namespace std::chrono_literals;

using testing::Eventually;
using testing::ServiceThread;

TEST(LedgerService, SettlesAndReversesWhatItConsumesUntilStopped) {
    testing::TestDatabase db;
    Config config = testing::ServiceTestConfig("ledger", "ledger", db.Dsn());
    config.ops_api_key = "ops-key";
    testing::FakeClock clock;
    const PaymentId payment("3e4f5a6b-0000-4000-8000-0000000000aa");
    const PaymentFacts facts{CustomerId("c"), Money{4200, *Currency::Parse("EUR")}};
    const auto publish = [&](const Envelope& event) { testing::PublishForTest(config, event); };
    publish(NewEnvelope(PaymentCaptured{facts}, payment, "t", clock));

    ServiceThread service([&] { return RunLedger(config, clock); });

    auto conn = postgres::Connection::Open(db.Dsn());
    const auto count = [&](const char* sql) { return testing::CountOrMinusOne(conn, sql); };
    const bool settled = Eventually([&] {
        return count("SELECT count(*) FROM outbox_events WHERE topic = 'payments.settled'") == 1;
    });
    // The reversal after the settlement: it must find it posted.
    publish(NewEnvelope(PaymentReversed{"r", EventId("e"), facts}, payment, "t", clock));
    const bool reversed = Eventually([&] {
        return count("SELECT count(*) FROM ledger_transactions WHERE purpose = 'REVERSAL'") == 1;
    });
    EXPECT_EQ(service.Stop(), 0) << service.Error();
    EXPECT_TRUE(settled);
    EXPECT_TRUE(reversed);
    EXPECT_EQ(count("SELECT count(*) FROM ledger_entries"), 4);
}

}  // namespace
}  // namespace sagapay::ledger
