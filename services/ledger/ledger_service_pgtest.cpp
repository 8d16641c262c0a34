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

TEST(LedgerService, PostsEachRefundOnceAndDeadLettersAnOverRefund) {
    testing::TestDatabase db;
    Config config = testing::ServiceTestConfig("ledger", "ledger", db.Dsn());
    config.ops_api_key = "ops-key";
    testing::FakeClock clock;
    const PaymentId payment("3e4f5a6b-0000-4000-8000-0000000000bb");
    const Money settled{1000, *Currency::Parse("USD")};
    const auto publish = [&](const Envelope& event) { testing::PublishForTest(config, event); };
    const auto refund = [&](const std::string& refund_id, std::int64_t amount) {
        return NewEnvelope(
            PaymentRefunded{
                refund_id,
                Money{amount, settled.currency},
                amount,
                settled.amount_minor,
                CustomerId("c"),
                "requested_by_customer"},
            payment,
            "t",
            clock
        );
    };
    publish(NewEnvelope(PaymentCaptured{{CustomerId("c"), settled}}, payment, "t", clock));

    ServiceThread service([&] { return RunLedger(config, clock); });

    auto conn = postgres::Connection::Open(db.Dsn());
    const auto count = [&](const char* sql) { return testing::CountOrMinusOne(conn, sql); };
    const bool settled_first = Eventually([&] {
        return count("SELECT count(*) FROM ledger_transactions WHERE purpose = 'SETTLEMENT'") == 1;
    });
    const std::string first = "7a1b2c3d-0000-4000-8000-0000000000a1";
    const std::string over = "7a1b2c3d-0000-4000-8000-0000000000a2";
    const std::string last = "7a1b2c3d-0000-4000-8000-0000000000a3";
    publish(refund(first, 400));
    publish(refund(first, 400));  // the same refund announced again: posted once
    publish(refund(over, 700));   // 1100 of 1000: dead-lettered, never posted
    publish(refund(last, 600));   // handled after it: the consumer went on
    const bool refunded = Eventually([&] {
        return count("SELECT count(*) FROM ledger_transactions WHERE purpose = 'REFUND'") == 2;
    });
    EXPECT_EQ(service.Stop(), 0) << service.Error();
    EXPECT_TRUE(settled_first);
    EXPECT_TRUE(refunded);
    EXPECT_EQ(
        conn.Exec("SELECT string_agg(transaction_id, ',' ORDER BY transaction_id) FROM "
                  "ledger_transactions WHERE purpose = 'REFUND'")
            .GetString(0, 0),
        "refund:" + payment.Value() + ":" + first + ",refund:" + payment.Value() + ":" + last
    );
    EXPECT_EQ(count("SELECT count(*) FROM ledger_entries"), 6);
    EXPECT_EQ(
        count("SELECT coalesce(sum(CASE WHEN direction = 'DEBIT' THEN amount_cents ELSE "
              "-amount_cents END), 0)::bigint FROM ledger_entries WHERE account_id = "
              "'customer_cash:USD'"),
        0
    );
}

}  // namespace
}  // namespace sagapay::ledger
