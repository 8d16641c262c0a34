#include "services/orchestrator/sweeper.hpp"

#include <atomic>
#include <latch>
#include <thread>

#include <gtest/gtest.h>

#include "adapters/postgres/migrator.hpp"
#include "services/orchestrator/pg_payment_store.hpp"
#include "services/orchestrator/schema.hpp"
#include "testing/fake_clock.hpp"
#include "testing/test_env.hpp"

namespace sagapay::orchestrator {
namespace {

class SweeperTest : public ::testing::Test {
protected:
    void SetUp() override {
        conn_.emplace(db_.Connect());
        postgres::Migrate(*conn_, "orchestrator", OrchestratorMigrations());
        options_.service = "orchestrator";
        options_.stuck_after = std::chrono::seconds(30);
    }

    PaymentId Create(const std::string& key, const std::string& status, const std::string& age) {
        const PaymentRequest request{
            CustomerId("c-1"), Money{700, *Currency::Parse("GBP")}, IdempotencyKey(key)};
        PaymentId id = PgPaymentStore::Create(*conn_, request, "trace-s", clock_).payment_id;
        conn_->Exec(
            "UPDATE payments SET status = $2, updated_at = now() - $3::interval WHERE payment_id = "
            "$1",
            {id.Value(), status, age}
        );
        return id;
    }

    std::vector<std::string> OutboxTopicsFor(const PaymentId& id) {
        const auto rows = conn_->Exec(
            "SELECT topic FROM outbox_events WHERE aggregate_id = $1 ORDER BY seq", {id.Value()}
        );
        std::vector<std::string> topics;
        topics.reserve(static_cast<std::size_t>(rows.Size()));
        for (int i = 0; i < rows.Size(); ++i) {
            topics.push_back(rows.GetString(i, 0));
        }
        return topics;
    }

    testing::TestDatabase db_;
    std::optional<postgres::Connection> conn_;
    testing::FakeClock clock_;
    SweeperOptions options_;
};

TEST_F(SweeperTest, ReemitsThePendingStepOfStuckPaymentsOnlyAndBacksOff) {
    const PaymentId stuck = Create("k-stuck", "AUTHORIZED", "5 minutes");
    const PaymentId fresh = Create("k-fresh", "AUTHORIZED", "1 second");
    const PaymentId review = Create("k-review", "RISK_REVIEW", "1 hour");
    const PaymentId settled = Create("k-done", "SETTLED", "1 hour");

    EXPECT_EQ(SweepStuckPayments(*conn_, options_, clock_), 2);

    const auto topics = OutboxTopicsFor(stuck);
    ASSERT_EQ(topics.size(), 2U);  // payments.requested at creation, then the re-drive
    EXPECT_EQ(topics[1], "provider.capture.requested");
    const auto envelope =
        conn_
            ->Exec(
                "SELECT payload::text FROM outbox_events WHERE topic = 'provider.capture.requested'"
            )
            .GetString(0, 0);
    EXPECT_NE(envelope.find("trace-s"), std::string::npos);
    EXPECT_NE(envelope.find("GBP"), std::string::npos);
    EXPECT_EQ(OutboxTopicsFor(fresh).size(), 1U);
    // A review is asked again: risk answers with the manual decision if its event was lost.
    EXPECT_EQ(OutboxTopicsFor(review).back(), "payments.requested");
    EXPECT_EQ(OutboxTopicsFor(settled).size(), 1U);
    EXPECT_EQ(
        conn_->Exec("SELECT redrive_count FROM payments WHERE payment_id = $1", {stuck.Value()})
            .GetInt(0, 0),
        1
    );

    // Just re-driven: it waits (doubled) before the next one.
    EXPECT_EQ(SweepStuckPayments(*conn_, options_, clock_), 0);
}

TEST_F(SweeperTest, EachWaitingStateGetsItsOwnRequest) {
    const PaymentId created = Create("k-1", "CREATED", "2 minutes");
    const PaymentId approved = Create("k-2", "APPROVED", "2 minutes");
    const PaymentId captured = Create("k-3", "CAPTURED", "2 minutes");

    EXPECT_EQ(SweepStuckPayments(*conn_, options_, clock_), 3);

    EXPECT_EQ(OutboxTopicsFor(created).back(), "payments.requested");
    EXPECT_EQ(OutboxTopicsFor(approved).back(), "provider.authorize.requested");
    EXPECT_EQ(OutboxTopicsFor(captured).back(), "payments.captured");
}

// Several orchestrators run the sweeper on one database at once (`sagapay up --replicas
// orchestrator=2`): FOR UPDATE SKIP LOCKED gives each stuck payment to one of them, and the one
// that re-drives it moves updated_at, so the other, reading after its commit, finds it not stuck.
TEST_F(SweeperTest, TwoInstancesSweepingAtOnceReDriveEachStuckPaymentOnce) {
    const char* states[] = {"CREATED", "RISK_REVIEW", "APPROVED", "AUTHORIZED", "CAPTURED"};
    constexpr int kPayments = 250;
    for (int i = 0; i < kPayments; ++i) {
        (void)Create("k-many-" + std::to_string(i), states[i % 5], "10 minutes");
    }
    SweeperOptions small = options_;
    small.batch = 7;  // many rounds each, so the two interleave
    std::atomic<int> redriven{0};
    std::latch start(2);
    const auto instance = [&] {
        auto conn = db_.Connect();
        start.arrive_and_wait();
        // Sweep until a round finds nothing: by then every stuck payment was taken by one of us.
        while (true) {
            const int n = SweepStuckPayments(conn, small, clock_);
            if (n == 0) {
                return;
            }
            redriven += n;
        }
    };
    {
        std::jthread first(instance);
        std::jthread second(instance);
    }

    EXPECT_EQ(redriven.load(), kPayments);
    // Per payment: its payments.requested at creation and exactly one re-drive.
    const auto counts = conn_->Exec(
        "SELECT p.redrive_count, count(o.*) FROM payments p JOIN outbox_events o ON "
        "o.aggregate_id = p.payment_id::text GROUP BY p.payment_id, p.redrive_count"
    );
    ASSERT_EQ(counts.Size(), kPayments);
    for (int i = 0; i < counts.Size(); ++i) {
        EXPECT_EQ(counts.GetInt(i, 0), 1);
        EXPECT_EQ(counts.GetInt(i, 1), 2);
    }
}

}  // namespace
}  // namespace sagapay::orchestrator
