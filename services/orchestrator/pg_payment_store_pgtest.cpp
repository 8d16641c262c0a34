#include "services/orchestrator/pg_payment_store.hpp"

#include <thread>

#include <gtest/gtest.h>

#include "adapters/postgres/migrator.hpp"
#include "services/orchestrator/schema.hpp"
#include "testing/fake_clock.hpp"
#include "testing/service_test.hpp"
#include "testing/test_env.hpp"

namespace sagapay::orchestrator {
namespace {

using S = PaymentStatus;

PaymentRequest Request(std::string customer, std::int64_t amount, std::string key) {
    return PaymentRequest{
        CustomerId(std::move(customer)),
        Money{amount, *Currency::Parse("USD")},
        IdempotencyKey(std::move(key))};
}

class PgPaymentStoreTest : public ::testing::Test {
protected:
    void SetUp() override {
        conn_.emplace(db_.Connect());
        postgres::Migrate(*conn_, "orchestrator", OrchestratorMigrations());
    }

    PaymentId Create(const std::string& key = "order-1", std::int64_t amount = 1500) {
        const auto created =
            PgPaymentStore::Create(*conn_, Request("cust-1", amount, key), "t-1", clock_);
        EXPECT_EQ(created.outcome, CreateOutcome::kCreated);
        return created.payment_id;
    }

    std::int64_t Count(const std::string& sql) { return conn_->Exec(sql).GetInt(0, 0); }

    testing::TestDatabase db_;
    std::optional<postgres::Connection> conn_;
    testing::FakeClock clock_;
};

TEST_F(PgPaymentStoreTest, CreateWritesThePaymentItsTimelineAndItsEventTogether) {
    const PaymentId id = Create();

    EXPECT_EQ(Count("SELECT count(*) FROM payments WHERE status = 'CREATED'"), 1);
    EXPECT_EQ(Count("SELECT count(*) FROM payment_timeline WHERE to_state = 'CREATED'"), 1);
    const auto outbox = conn_->Exec("SELECT topic, aggregate_id FROM outbox_events");
    ASSERT_EQ(outbox.Size(), 1);
    EXPECT_EQ(outbox.GetString(0, 0), "payments.requested");
    EXPECT_EQ(outbox.GetString(0, 1), id.Value());
}

TEST_F(PgPaymentStoreTest, TheSameKeyReplaysTheSamePaymentAndAnotherBodyIsRefused) {
    const PaymentId id = Create("order-7");

    const auto replay =
        PgPaymentStore::Create(*conn_, Request("cust-1", 1500, "order-7"), "t", clock_);
    EXPECT_EQ(replay.outcome, CreateOutcome::kReplayed);
    EXPECT_EQ(replay.payment_id, id);
    const auto reused =
        PgPaymentStore::Create(*conn_, Request("cust-1", 1501, "order-7"), "t", clock_);
    EXPECT_EQ(reused.outcome, CreateOutcome::kKeyReused);
    const auto other_customer =
        PgPaymentStore::Create(*conn_, Request("cust-2", 1500, "order-7"), "t", clock_);
    EXPECT_EQ(other_customer.outcome, CreateOutcome::kCreated);  // keys are per customer
    EXPECT_EQ(Count("SELECT count(*) FROM payments"), 2);
    EXPECT_EQ(Count("SELECT count(*) FROM outbox_events"), 2);
}

TEST_F(PgPaymentStoreTest, LockReadsThePaymentAndUnknownIdsAreNullopt) {
    const PaymentId id = Create("order-2", 4200);
    postgres::Transaction tx(*conn_);
    PgPaymentStore store(tx);

    const auto locked = store.Lock(id);
    ASSERT_TRUE(locked.has_value());
    EXPECT_EQ(locked->snapshot.payment_id, id);
    EXPECT_EQ(locked->snapshot.customer_id, CustomerId("cust-1"));
    EXPECT_EQ(locked->snapshot.amount, (Money{4200, *Currency::Parse("USD")}));
    EXPECT_EQ(locked->snapshot.status, S::kCreated);
    EXPECT_GE(locked->age_seconds, 0.0);
    EXPECT_FALSE(store.Lock(PaymentId("00000000-0000-4000-8000-000000000000")).has_value());
    EXPECT_FALSE(store.Lock(PaymentId("not-a-uuid")).has_value());
}

TEST_F(PgPaymentStoreTest, ApplyWritesEveryStepOfTheTransactionWithItsTimeline) {
    const PaymentId a = Create("order-a");
    const PaymentId b = Create("order-b");
    {
        postgres::Transaction tx(*conn_);
        PgPaymentStore store(tx);
        const std::vector<PaymentId> batch = {b, a, PaymentId("junk")};
        store.LockAll(batch);
        auto pa = store.Lock(a)->snapshot;
        store.Apply(pa, {S::kApproved, "risk_approved"}, EventId("e-1"));
        store.Apply(pa, {S::kAuthorized, "provider_authorized"}, EventId("e-2"));
        // What Lock serves later in the same transaction starts from the applied steps.
        EXPECT_EQ(store.Lock(a)->snapshot.status, S::kAuthorized);
        auto pb = store.Lock(b)->snapshot;
        store.Apply(pb, {S::kFailed, "risk_denied:x"}, EventId());
        tx.Commit();
    }
    const auto rows = conn_->Exec(
        "SELECT status, state_version FROM payments WHERE payment_id = $1", {a.Value()}
    );
    EXPECT_EQ(rows.GetString(0, 0), "AUTHORIZED");
    EXPECT_EQ(rows.GetInt(0, 1), 2);
    EXPECT_EQ(Count("SELECT count(*) FROM payment_timeline WHERE from_state IS NOT NULL"), 3);
    EXPECT_EQ(Count("SELECT count(*) FROM payment_timeline WHERE event_id = 'e-2'"), 1);
    EXPECT_EQ(
        Count("SELECT count(*) FROM payment_timeline WHERE to_state = 'FAILED' AND event_id IS NULL"
        ),
        1
    );
}

TEST_F(PgPaymentStoreTest, ProgressResetsTheSweepersRedriveCount) {
    // Finding 10: a payment re-driven often in one state must not wait the doubled delay for
    // its first re-drive in the next.
    const PaymentId payment = Create();
    conn_->Exec("UPDATE payments SET redrive_count = 5 WHERE payment_id = $1", {payment.Value()});
    {
        postgres::Transaction tx(*conn_);
        PgPaymentStore store(tx);
        auto snapshot = store.Lock(payment)->snapshot;
        store.Apply(snapshot, {S::kApproved, "risk_approved"}, EventId("e-1"));
        tx.Commit();
    }

    EXPECT_EQ(
        Count("SELECT redrive_count FROM payments WHERE payment_id = '" + payment.Value() + "'"), 0
    );
}

TEST_F(PgPaymentStoreTest, AForbiddenTransitionThrowsAndWritesNothing) {
    const PaymentId id = Create();
    postgres::Transaction tx(*conn_);
    PgPaymentStore store(tx);
    auto payment = store.Lock(id)->snapshot;

    EXPECT_THROW(store.Apply(payment, {S::kSettled, "nope"}, EventId("e")), Exception);
    EXPECT_EQ(payment.status, S::kCreated);
}

TEST_F(PgPaymentStoreTest, ALostCompareAndSwapFailsTheCommitWithAborted) {
    const PaymentId id = Create();
    postgres::Transaction tx(*conn_);
    PgPaymentStore store(tx);
    auto payment = store.Lock(id)->snapshot;
    // Pretend the snapshot is stale: another writer moved the payment past this version.
    payment.state_version = 7;
    store.Apply(payment, {S::kApproved, "risk_approved"}, EventId("e"));

    try {
        tx.Commit();
        FAIL() << "expected a compare-and-swap conflict";
    } catch (const Exception& e) {
        EXPECT_EQ(e.Code(), ErrorCode::kAborted);
    }
    EXPECT_EQ(Count("SELECT count(*) FROM payments WHERE status = 'CREATED'"), 1);
}

TEST_F(PgPaymentStoreTest, LockBlocksAConcurrentWriterUntilCommit) {
    const PaymentId id = Create();
    postgres::Transaction tx(*conn_);
    PgPaymentStore store(tx);
    auto payment = store.Lock(id)->snapshot;

    std::atomic<bool> second_locked{false};
    std::thread other([&] {
        auto conn = db_.Connect();
        postgres::Transaction other_tx(conn);
        PgPaymentStore other_store(other_tx);
        const auto seen = other_store.Lock(id);
        second_locked = true;
        EXPECT_EQ(seen->snapshot.status, S::kApproved);  // saw the committed step, not a stale one
        other_tx.Commit();
    });
    // Wait until the other transaction is provably blocked on our row lock (not just slow).
    auto observer = db_.Connect();
    EXPECT_TRUE(testing::Eventually([&] {
        return testing::CountOrMinusOne(
                   observer,
                   "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                   "AND wait_event_type = 'Lock'"
               ) == 1;
    }));
    EXPECT_FALSE(second_locked.load());
    store.Apply(payment, {S::kApproved, "risk_approved"}, EventId("e"));
    tx.Commit();
    other.join();
    EXPECT_TRUE(second_locked.load());
}

TEST_F(PgPaymentStoreTest, ReadShowsThePaymentWithItsTimeline) {
    const PaymentId id = Create("order-r", 999);

    const auto json = PgPaymentStore::Read(*conn_, id);
    ASSERT_TRUE(json.has_value());
    EXPECT_EQ((*json)["payment_id"], id.Value());
    EXPECT_EQ((*json)["status"], "CREATED");
    EXPECT_EQ((*json)["amount_cents"], 999);
    EXPECT_EQ((*json)["currency"], "USD");
    EXPECT_EQ((*json)["idempotency_key"], "order-r");
    ASSERT_EQ((*json)["timeline"].size(), 1U);
    EXPECT_TRUE((*json)["timeline"][0]["from_state"].is_null());
    EXPECT_FALSE(PgPaymentStore::Read(*conn_, PaymentId("00000000-0000-4000-8000-000000000000")));
    EXPECT_FALSE(PgPaymentStore::Read(*conn_, PaymentId("x")));
}

}  // namespace
}  // namespace sagapay::orchestrator
