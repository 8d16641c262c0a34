#include "services/provider/pg_provider_store.hpp"

#include <cstdio>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include <gtest/gtest.h>

#include "adapters/postgres/migrator.hpp"
#include "core/error.hpp"
#include "services/provider/schema.hpp"
#include "testing/fake_clock.hpp"
#include "testing/test_env.hpp"

namespace sagapay::provider {
namespace {

using namespace std::chrono_literals;
using ::sagapay::testing::TestDatabase;

PaymentId Payment(int n) {
    char id[40];
    std::snprintf(id, sizeof(id), "00000000-0000-4000-8000-%012d", n);
    return PaymentId(id);
}

class PgProviderStoreTest : public ::testing::Test {
protected:
    PgProviderStoreTest() : conn_(db_.Connect()) {
        postgres::Migrate(conn_, "provider", ProviderMigrations());
    }

    NewAuthorization Request(const PaymentId& payment) {
        AuthorizeRequested request;
        request.facts = {CustomerId("cust-1"), Money{1500, *Currency::Parse("JPY")}};
        return {
            payment,
            CustomerId("cust-1"),
            Money{1500, *Currency::Parse("JPY")},
            "trace-1",
            "auth-" + payment.Value(),
            NewEnvelope(request, payment, "trace-1", clock_)};
    }

    /// Runs `fn` with a store over its own committed transaction.
    template <class Fn>
    auto InTransaction(Fn&& fn) {
        return testing::InCommittedTransaction<PgProviderStore>(conn_, std::forward<Fn>(fn));
    }

    bool Insert(const PaymentId& payment, Clock::TimePoint due) {
        return InTransaction([&](ProviderStore& s) {
            return s.InsertAuthorizing(Request(payment), due);
        });
    }
    ProviderPayment Read(const PaymentId& payment) {
        return *InTransaction([&](ProviderStore& s) { return s.Lock(payment); });
    }
    /// Reads the payment, lets `change` edit a copy and saves it over the original.
    template <class Change>
    bool Update(const PaymentId& payment, Change change) {
        return InTransaction([&](ProviderStore& s) {
            const ProviderPayment before = *s.Lock(payment);
            ProviderPayment after = before;
            change(after);
            return s.Save(before, after);
        });
    }
    void Authorized(const PaymentId& payment) {
        Update(payment, [](ProviderPayment& p) {
            p.status = ProviderStatus::kAuthorized;
            p.authorization_id = "psp-1";
            p.attempts = 1;
            p.next_attempt_at.reset();
        });
    }

    testing::FakeClock clock_;
    TestDatabase db_;
    postgres::Connection conn_;
};

TEST_F(PgProviderStoreTest, InsertRecordsAnAuthorizingPaymentDueAtTheGivenTime) {
    const NewAuthorization request = Request(Payment(1));
    const auto due = clock_.Now() + 123456us;

    EXPECT_TRUE(InTransaction([&](ProviderStore& s) { return s.InsertAuthorizing(request, due); }));

    const ProviderPayment row = Read(Payment(1));
    EXPECT_EQ(row.payment_id, Payment(1));
    EXPECT_EQ(row.customer_id, CustomerId("cust-1"));
    EXPECT_EQ(row.amount, (Money{1500, *Currency::Parse("JPY")}));
    EXPECT_EQ(row.trace_id, "trace-1");
    EXPECT_EQ(row.status, ProviderStatus::kAuthorizing);
    EXPECT_EQ(row.authorization_key, "auth-" + Payment(1).Value());
    EXPECT_EQ(row.authorization_id, "");
    EXPECT_EQ(row.attempts, 0);
    EXPECT_EQ(row.next_attempt_at, due);
    ASSERT_TRUE(row.source_event.has_value());
    EXPECT_EQ(row.source_event->event_id, request.source_event.event_id);
    EXPECT_EQ(row.source_event->event_type, AuthorizeRequested::kTopic);
    EXPECT_EQ(row.source_event->payload, request.source_event.payload);
}

TEST_F(PgProviderStoreTest, InsertOfAKnownPaymentChangesNothing) {
    ASSERT_TRUE(Insert(Payment(1), clock_.Now()));
    Authorized(Payment(1));

    EXPECT_FALSE(Insert(Payment(1), clock_.Now() + 1h));

    const ProviderPayment row = Read(Payment(1));
    EXPECT_EQ(row.status, ProviderStatus::kAuthorized);
    EXPECT_FALSE(row.next_attempt_at.has_value());
}

TEST_F(PgProviderStoreTest, LockOfAnUnknownPaymentIsNothing) {
    EXPECT_FALSE(InTransaction([&](ProviderStore& s) { return s.Lock(Payment(9)); }).has_value());
}

TEST_F(PgProviderStoreTest, ClaimDueTakesWhatIsDueFreshWorkFirstUpToTheLimitAndLeasesIt) {
    const auto now = clock_.Now();
    const auto lease = 2min;
    Insert(Payment(1), now - 10s);  // a retry, due first
    Update(Payment(1), [&](ProviderPayment& p) {
        p.attempts = 1;
        p.fresh = false;
    });
    Insert(Payment(2), now - 1s);
    Insert(Payment(3), now - 2s);
    Insert(Payment(4), now + 1us);  // not yet due
    Insert(Payment(5), now);
    Authorized(Payment(5));  // not due at all

    const auto limited = InTransaction([&](ProviderStore& s) { return s.ClaimDue(now, 2, lease); });
    const auto rest = InTransaction([&](ProviderStore& s) { return s.ClaimDue(now, 16, lease); });

    ASSERT_EQ(limited.size(), 2U);
    EXPECT_EQ(limited[0].payment_id, Payment(3));
    EXPECT_EQ(limited[1].payment_id, Payment(2));
    ASSERT_EQ(rest.size(), 1U);  // the claimed ones are leased, not due
    EXPECT_EQ(rest[0].payment_id, Payment(1));
    EXPECT_EQ(rest[0].attempts, 1);
    const ProviderPayment first = Read(Payment(3));
    EXPECT_EQ(first.next_attempt_at, now + lease);  // the first of its batch
    EXPECT_EQ(first.claim, limited[0].claim);
    EXPECT_EQ(first.claim, 1);
    EXPECT_EQ(Read(Payment(2)).next_attempt_at, now + 2 * lease);  // the second
    EXPECT_EQ(
        InTransaction([&](ProviderStore& s) { return s.ClaimDue(now + 2 * lease, 16, 1s); }).size(),
        4U
    );
}

TEST_F(PgProviderStoreTest, AClaimOfAWorkerWhoseSessionEndedIsReleasedAtOnce) {
    Insert(Payment(1), clock_.Now());
    Insert(Payment(2), clock_.Now());
    {
        postgres::Connection dying = db_.Connect();  // the worker that is killed
        postgres::Transaction tx(dying);
        ASSERT_EQ(PgProviderStore(tx).ClaimDue(clock_.Now(), 1, 1h).size(), 1U);
        tx.Commit();
        // Its session ends: pg_terminate_backend with a timeout returns once the backend is
        // gone (from pg_stat_activity too), as when the worker's process is killed.
        const auto pid = dying.Exec("SELECT pg_backend_pid()").GetInt(0, 0);
        ASSERT_TRUE(conn_.Exec("SELECT pg_terminate_backend($1::int, 10000)", {pid}).GetBool(0, 0));
    }
    postgres::Connection alive = db_.Connect();  // a live worker's claim stays
    {
        postgres::Transaction tx(alive);
        ASSERT_EQ(PgProviderStore(tx).ClaimDue(clock_.Now(), 1, 1h).size(), 1U);
        tx.Commit();
    }

    const auto reclaimed =
        InTransaction([&](ProviderStore& s) { return s.ClaimDue(clock_.Now(), 16, 1h); });

    ASSERT_EQ(reclaimed.size(), 1U);  // the dead worker's, long before its hour-long lease
    EXPECT_EQ(reclaimed[0].payment_id, Payment(1));
}

TEST_F(PgProviderStoreTest, AClaimOfAWorkerThatConnectedAfterAnotherUnitOfWorkBeganStays) {
    Insert(Payment(1), clock_.Now());
    // A worker's unit of work whose view of the server's sessions predates the next worker's
    // connection (pg_stat_activity is read once per transaction; a statement blocked on a row
    // the new worker claims rechecks it against what it read before).
    postgres::Connection older_conn = db_.Connect();
    postgres::Transaction older(older_conn);
    (void)older.Exec("SELECT count(*) FROM pg_stat_activity");
    postgres::Connection newer = db_.Connect();  // a worker that has just connected
    {
        postgres::Transaction tx(newer);
        ASSERT_EQ(PgProviderStore(tx).ClaimDue(clock_.Now(), 16, 1h).size(), 1U);
        tx.Commit();
    }

    // The newer worker is alive: its claim is not released and taken a second time (both
    // workers would call the PSP, and the one whose outcome lost the compare-and-swap records
    // nothing).
    EXPECT_TRUE(PgProviderStore(older).ClaimDue(clock_.Now(), 16, 1h).empty());
}

TEST_F(PgProviderStoreTest, ClaimDueSkipsPaymentsAnotherUnitOfWorkHolds) {
    Insert(Payment(1), clock_.Now());
    Insert(Payment(2), clock_.Now());
    postgres::Connection other_conn = db_.Connect();
    auto other = std::make_unique<postgres::Transaction>(other_conn);
    ASSERT_TRUE(PgProviderStore(*other).Lock(Payment(1)).has_value());
    const auto lease = 1min;

    postgres::Transaction worker(conn_);
    const auto claimed = PgProviderStore(worker).ClaimDue(clock_.Now(), 16, lease);
    other.reset();  // rolls back: payment 1 is free, payment 2 is the worker's
    postgres::Transaction second_worker(other_conn);
    const auto rest = PgProviderStore(second_worker).ClaimDue(clock_.Now(), 16, lease);

    ASSERT_EQ(claimed.size(), 1U);
    EXPECT_EQ(claimed[0].payment_id, Payment(2));
    ASSERT_EQ(rest.size(), 1U);
    EXPECT_EQ(rest[0].payment_id, Payment(1));
}

TEST_F(PgProviderStoreTest, NextDueIsTheEarliestScheduledTime) {
    EXPECT_FALSE(InTransaction([&](ProviderStore& s) { return s.NextDue(); }).has_value());
    Insert(Payment(1), clock_.Now() + 5s);
    Insert(Payment(2), clock_.Now() + 750ms);
    Insert(Payment(3), clock_.Now() - 1s);
    Authorized(Payment(3));

    EXPECT_EQ(InTransaction([&](ProviderStore& s) { return s.NextDue(); }), clock_.Now() + 750ms);
}

TEST_F(PgProviderStoreTest, SaveWritesEveryFieldAndBumpsTheClaim) {
    Insert(Payment(1), clock_.Now());
    const auto later = clock_.Now() + 2s + 500us;

    EXPECT_TRUE(Update(Payment(1), [&](ProviderPayment& p) {
        p.status = ProviderStatus::kTimedOut;
        p.authorization_id = "psp-9";
        p.attempts = 3;
        p.next_attempt_at = later;
        p.fresh = false;
        p.retries = 2;
        p.checks = 1;
    }));

    const ProviderPayment row = Read(Payment(1));
    EXPECT_EQ(row.status, ProviderStatus::kTimedOut);
    EXPECT_EQ(row.authorization_id, "psp-9");
    EXPECT_EQ(row.attempts, 3);
    EXPECT_EQ(row.next_attempt_at, later);
    EXPECT_FALSE(row.fresh);
    EXPECT_EQ(row.retries, 2);
    EXPECT_EQ(row.checks, 1);
    EXPECT_EQ(row.claim, 1);
}

TEST_F(PgProviderStoreTest, SaveIsACompareAndSwapOnStatusAndClaim) {
    Insert(Payment(1), clock_.Now());
    const ProviderPayment before = Read(Payment(1));
    Authorized(Payment(1));  // someone wrote it since `before` was read
    ProviderPayment after = before;
    after.status = ProviderStatus::kDeclined;

    EXPECT_FALSE(InTransaction([&](ProviderStore& s) { return s.Save(before, after); }));

    EXPECT_EQ(Read(Payment(1)).status, ProviderStatus::kAuthorized);
}

TEST_F(PgProviderStoreTest, EveryStatusRoundTrips) {
    Insert(Payment(1), clock_.Now());
    for (const ProviderStatus status :
         {ProviderStatus::kAuthorized,
          ProviderStatus::kCapturing,
          ProviderStatus::kCaptured,
          ProviderStatus::kRefunded}) {
        Update(Payment(1), [&](ProviderPayment& p) { p.status = status; });
        EXPECT_EQ(Read(Payment(1)).status, status);
    }
    Insert(Payment(2), clock_.Now());
    Update(Payment(2), [&](ProviderPayment& p) { p.status = ProviderStatus::kVoided; });
    EXPECT_EQ(Read(Payment(2)).status, ProviderStatus::kVoided);
}

TEST_F(PgProviderStoreTest, RecordAttemptWritesTheAuditRow) {
    Insert(Payment(1), clock_.Now());

    InTransaction([&](ProviderStore& s) {
        s.RecordAttempt(
            {Payment(1),
             1,
             PspOperation::kAuthorize,
             AttemptResult::kTimeout,
             2003ms,
             FailureCode::kProviderTimeout}
        );
        s.RecordAttempt(
            {Payment(1), 1, PspOperation::kInquire, AttemptResult::kNotFound, 4ms, std::nullopt}
        );
        s.RecordAttempt({Payment(1), 1, PspOperation::kVoid, AttemptResult::kVoided, 3ms, {}});
        s.RecordAttempt({Payment(1), 1, PspOperation::kCapture, AttemptResult::kRefused, 1ms, {}});
    });

    const auto rows = conn_.Exec(
        "SELECT payment_id, attempt_number, operation, result, latency_ms, error_code "
        "FROM provider_attempts ORDER BY attempt_id"
    );
    ASSERT_EQ(rows.Size(), 4);
    EXPECT_EQ(rows.GetString(0, 0), Payment(1).Value());
    EXPECT_EQ(rows.GetInt(0, 1), 1);
    EXPECT_EQ(rows.GetString(0, 2), "AUTHORIZE");
    EXPECT_EQ(rows.GetString(0, 3), "TIMEOUT");
    EXPECT_EQ(rows.GetInt(0, 4), 2003);
    EXPECT_EQ(rows.GetString(0, 5), "PROVIDER_TIMEOUT");
    EXPECT_EQ(rows.GetString(1, 2), "INQUIRE");
    EXPECT_EQ(rows.GetString(1, 3), "NOT_FOUND");
    EXPECT_TRUE(rows.IsNull(1, 5));
    EXPECT_EQ(rows.GetString(2, 2), "VOID");
    EXPECT_EQ(rows.GetString(2, 3), "VOIDED");
    EXPECT_EQ(rows.GetString(3, 2), "CAPTURE");
    EXPECT_EQ(rows.GetString(3, 3), "REFUSED");
}

TEST_F(PgProviderStoreTest, AStoredRequestThatNoLongerDecodesIsReadAsMissing) {
    Insert(Payment(1), clock_.Now());
    conn_.Exec(R"(UPDATE provider_payments SET source_event = '{"not": "an envelope"}')");

    EXPECT_FALSE(Read(Payment(1)).source_event.has_value());
}

TEST_F(PgProviderStoreTest, ARowWithAnUnknownCurrencyIsAnInternalError) {
    Insert(Payment(1), clock_.Now());
    conn_.Exec("UPDATE provider_payments SET currency = 'XXX'");

    try {
        (void)Read(Payment(1));
        ADD_FAILURE() << "expected an Exception";
    } catch (const Exception& e) {
        EXPECT_EQ(e.Code(), ErrorCode::kInternal);
        EXPECT_NE(std::string(e.what()).find(Payment(1).Value()), std::string::npos);
    }
}

}  // namespace
}  // namespace sagapay::provider
