#include "services/provider/pg_provider_store.hpp"

#include <cstdio>
#include <memory>
#include <string>
#include <type_traits>

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
    InTransaction([&](ProviderStore& s) { s.MarkAuthorized(Payment(1), "psp-1", 1); });

    EXPECT_FALSE(Insert(Payment(1), clock_.Now() + 1h));

    const ProviderPayment row = Read(Payment(1));
    EXPECT_EQ(row.status, ProviderStatus::kAuthorized);
    EXPECT_FALSE(row.next_attempt_at.has_value());
}

TEST_F(PgProviderStoreTest, LockOfAnUnknownPaymentIsNothing) {
    EXPECT_FALSE(InTransaction([&](ProviderStore& s) { return s.Lock(Payment(9)); }).has_value());
}

TEST_F(PgProviderStoreTest, ClaimDueTakesWhatIsDueFirstAttemptsFirstUpToTheLimit) {
    const auto now = clock_.Now();
    Insert(Payment(1), now - 10s);  // a retry, due first
    InTransaction([&](ProviderStore& s) { s.Reschedule(Payment(1), 1, now - 10s); });
    Insert(Payment(2), now - 1s);
    Insert(Payment(3), now - 2s);
    Insert(Payment(4), now + 1us);  // not yet due
    Insert(Payment(5), now);
    InTransaction([&](ProviderStore& s) { s.MarkDeclined(Payment(5), 1); });  // not due at all

    const auto claimed = InTransaction([&](ProviderStore& s) { return s.ClaimDue(now, 16); });
    const auto limited = InTransaction([&](ProviderStore& s) { return s.ClaimDue(now, 2); });

    ASSERT_EQ(claimed.size(), 3U);
    EXPECT_EQ(claimed[0].payment_id, Payment(3));
    EXPECT_EQ(claimed[1].payment_id, Payment(2));
    EXPECT_EQ(claimed[2].payment_id, Payment(1));
    EXPECT_EQ(claimed[2].attempts, 1);
    ASSERT_EQ(limited.size(), 2U);
    EXPECT_EQ(limited[1].payment_id, Payment(2));
    EXPECT_EQ(
        InTransaction([&](ProviderStore& s) { return s.ClaimDue(now + 1us, 16); }).size(), 4U
    );
}

TEST_F(PgProviderStoreTest, ClaimDueSkipsPaymentsAnotherUnitOfWorkHolds) {
    Insert(Payment(1), clock_.Now());
    Insert(Payment(2), clock_.Now());
    postgres::Connection other_conn = db_.Connect();
    auto other = std::make_unique<postgres::Transaction>(other_conn);
    ASSERT_TRUE(PgProviderStore(*other).Lock(Payment(1)).has_value());

    postgres::Transaction worker(conn_);
    const auto claimed = PgProviderStore(worker).ClaimDue(clock_.Now(), 16);
    other.reset();  // rolls back: payment 1 is free, payment 2 is the worker's
    postgres::Transaction second_worker(other_conn);
    const auto rest = PgProviderStore(second_worker).ClaimDue(clock_.Now(), 16);

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
    InTransaction([&](ProviderStore& s) { s.MarkTimedOut(Payment(3)); });

    EXPECT_EQ(InTransaction([&](ProviderStore& s) { return s.NextDue(); }), clock_.Now() + 750ms);
}

TEST_F(PgProviderStoreTest, MarksEveryOutcome) {
    for (int n = 1; n <= 4; ++n) {
        Insert(Payment(n), clock_.Now());
    }
    const auto later = clock_.Now() + 2s + 500us;

    InTransaction([&](ProviderStore& s) {
        s.MarkAuthorized(Payment(1), "psp-1", 2);
        s.MarkDeclined(Payment(2), 3);
        s.Reschedule(Payment(3), 1, later);
        s.MarkTimedOut(Payment(4));
    });

    const ProviderPayment authorized = Read(Payment(1));
    EXPECT_EQ(authorized.status, ProviderStatus::kAuthorized);
    EXPECT_EQ(authorized.authorization_id, "psp-1");
    EXPECT_EQ(authorized.attempts, 2);
    EXPECT_FALSE(authorized.next_attempt_at.has_value());
    const ProviderPayment declined = Read(Payment(2));
    EXPECT_EQ(declined.status, ProviderStatus::kDeclined);
    EXPECT_EQ(declined.attempts, 3);
    EXPECT_FALSE(declined.next_attempt_at.has_value());
    const ProviderPayment rescheduled = Read(Payment(3));
    EXPECT_EQ(rescheduled.status, ProviderStatus::kAuthorizing);
    EXPECT_EQ(rescheduled.attempts, 1);
    EXPECT_EQ(rescheduled.next_attempt_at, later);
    const ProviderPayment timed_out = Read(Payment(4));
    EXPECT_EQ(timed_out.status, ProviderStatus::kTimedOut);
    EXPECT_FALSE(timed_out.next_attempt_at.has_value());
}

TEST_F(PgProviderStoreTest, CaptureKeepsTheAuthorization) {
    Insert(Payment(1), clock_.Now());
    InTransaction([&](ProviderStore& s) { s.MarkAuthorized(Payment(1), "psp-1", 1); });

    InTransaction([&](ProviderStore& s) { s.MarkCaptured(Payment(1)); });

    const ProviderPayment row = Read(Payment(1));
    EXPECT_EQ(row.status, ProviderStatus::kCaptured);
    EXPECT_EQ(row.authorization_id, "psp-1");
    EXPECT_EQ(row.attempts, 1);
}

TEST_F(PgProviderStoreTest, ResetForReplayMakesATimedOutPaymentDueWithNoAttempt) {
    Insert(Payment(1), clock_.Now());
    InTransaction([&](ProviderStore& s) {
        s.Reschedule(Payment(1), 3, clock_.Now());
        s.MarkTimedOut(Payment(1));
    });
    const auto due = clock_.Now() + 1h;

    InTransaction([&](ProviderStore& s) { s.ResetForReplay(Payment(1), due); });

    const ProviderPayment row = Read(Payment(1));
    EXPECT_EQ(row.status, ProviderStatus::kAuthorizing);
    EXPECT_EQ(row.attempts, 0);
    EXPECT_EQ(row.next_attempt_at, due);
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
