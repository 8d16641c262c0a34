#pragma once

// The contract of ProviderStore and ProviderUnitsOfWork, run against InMemoryProviderUnitsOfWork
// (provider_store_contract_test.cpp) and PgProviderUnitsOfWork
// (provider_store_contract_pgtest.cpp). The deterministic simulation runs the provider's handlers
// and workers over the in-memory store: it is only valid while both pass this suite.
//
// A harness `H` gives each test empty stores and provides:
//   ProviderUnitsOfWork& Units();
//   std::vector<AttemptRow> Attempts();   attempts of committed units of work, in order
//   std::size_t PublishedEvents();        events of committed units of work
//
// Every time in this store comes from the caller's Clock (never the database's now()), so the
// suite uses fixed times. PostgreSQL keeps microseconds: a time with nanoseconds is truncated.
// Not covered: PgProviderStore also releases at once the claims of workers whose database session
// ended; the in-memory store has no sessions (a simulated crash must wait for the lease).

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include <gtest/gtest.h>

#include "core/error.hpp"
#include "core/messaging/envelope.hpp"
#include "services/provider/provider_store.hpp"
#include "testing/contract.hpp"
#include "testing/fake_clock.hpp"

namespace sagapay::provider::contract {

/// One provider_attempts row as both stores keep it: payment, attempt number, operation, result,
/// latency in ms, error code ("" when none).
using AttemptRow =
    std::tuple<std::string, int, std::string, std::string, std::int64_t, std::string>;

inline AttemptRow RowOf(const AttemptRecord& attempt) {
    return {
        attempt.payment_id.Value(),
        attempt.attempt_number,
        std::string(ToString(attempt.operation)),
        std::string(ToString(attempt.result)),
        static_cast<std::int64_t>(attempt.latency.count()),
        attempt.error_code ? std::string(ToString(*attempt.error_code)) : std::string()};
}

template <class Harness>
class ProviderStoreContract : public ::testing::Test {
protected:
    using Ms = std::chrono::milliseconds;
    static constexpr Ms kLease{30'000};

    static Clock::TimePoint At(int seconds) {
        return testing::FakeClock::kStart + std::chrono::seconds(seconds);
    }
    static PaymentId Payment(int n) { return PaymentId(testing::UuidNo(n)); }

    static NewAuthorization Authorization(int n) {
        testing::FakeClock clock;
        return NewAuthorization{
            Payment(n),
            CustomerId("cust-" + std::to_string(n)),
            Money{700 + n, *Currency::Parse("EUR")},
            "trace-" + std::to_string(n),
            "auth-" + Payment(n).Value(),
            NewEnvelope(
                PaymentRequested{
                    {CustomerId("cust-" + std::to_string(n)), Money{1, *Currency::Parse("EUR")}},
                    false},
                Payment(n),
                "trace-" + std::to_string(n),
                clock
            )};
    }

    void Run(const std::function<void(ProviderStore&)>& work) {
        harness_.Units().Run([&](ProviderStore& store, Outbox&) { work(store); });
    }
    std::optional<ErrorCode> RunFails(const std::function<void(ProviderStore&)>& work) {
        return testing::ErrorCodeOf([&] { Run(work); });
    }

    bool Insert(int n, Clock::TimePoint due) {
        bool inserted = false;
        Run([&](ProviderStore& store) { inserted = store.InsertAuthorizing(Authorization(n), due); }
        );
        return inserted;
    }
    std::optional<ProviderPayment> Lock(const PaymentId& id) {
        std::optional<ProviderPayment> row;
        Run([&](ProviderStore& store) { row = store.Lock(id); });
        return row;
    }
    std::optional<ProviderPayment> Lock(int n) { return Lock(Payment(n)); }
    std::vector<ProviderPayment> Claim(Clock::TimePoint now, int limit) {
        std::vector<ProviderPayment> claimed;
        Run([&](ProviderStore& store) { claimed = store.ClaimDue(now, limit, kLease); });
        return claimed;
    }
    std::optional<Clock::TimePoint> NextDue() {
        std::optional<Clock::TimePoint> next;
        Run([&](ProviderStore& store) { next = store.NextDue(); });
        return next;
    }
    bool Save(const ProviderPayment& before, const ProviderPayment& after) {
        bool saved = false;
        Run([&](ProviderStore& store) { saved = store.Save(before, after); });
        return saved;
    }
    /// Saves the payment as a retry (not fresh) due at `due`.
    void MakeRetry(int n, Clock::TimePoint due) {
        const ProviderPayment before = *Lock(n);
        ProviderPayment after = before;
        after.fresh = false;
        after.attempts = 1;
        after.next_attempt_at = due;
        ASSERT_TRUE(Save(before, after));
    }

    static std::vector<PaymentId> IdsOf(const std::vector<ProviderPayment>& rows) {
        std::vector<PaymentId> ids;
        ids.reserve(rows.size());
        for (const ProviderPayment& row : rows) {
            ids.push_back(row.payment_id);
        }
        return ids;
    }

    Harness harness_;
};

TYPED_TEST_SUITE_P(ProviderStoreContract);

TYPED_TEST_P(ProviderStoreContract, ANewAuthorizationIsFreshAuthorizingAndDueAtItsTime) {
    const NewAuthorization authorization = this->Authorization(1);

    bool inserted = false;
    this->Run([&](ProviderStore& store) {
        inserted = store.InsertAuthorizing(authorization, this->At(5));
    });

    EXPECT_TRUE(inserted);

    const auto row = this->Lock(1);
    ASSERT_TRUE(row.has_value());
    EXPECT_EQ(row->payment_id, authorization.payment_id);
    EXPECT_EQ(row->customer_id, authorization.customer_id);
    EXPECT_EQ(row->amount, authorization.amount);
    EXPECT_EQ(row->trace_id, authorization.trace_id);
    EXPECT_EQ(row->status, ProviderStatus::kAuthorizing);
    EXPECT_EQ(row->authorization_key, authorization.authorization_key);
    EXPECT_EQ(row->authorization_id, "");
    EXPECT_EQ(row->attempts, 0);
    EXPECT_EQ(row->next_attempt_at, this->At(5));
    ASSERT_TRUE(row->source_event.has_value());
    EXPECT_EQ(EncodeEnvelope(*row->source_event), EncodeEnvelope(authorization.source_event));
    EXPECT_EQ(row->claim, 0);
    EXPECT_TRUE(row->fresh);
    EXPECT_EQ(row->retries, 0);
    EXPECT_EQ(row->checks, 0);
    EXPECT_FALSE(row->capture_on_authorize);
}

TYPED_TEST_P(ProviderStoreContract, CaptureOnAuthorizeIsKeptAndClaimedWithThePayment) {
    NewAuthorization automatic = this->Authorization(2);
    automatic.capture_on_authorize = true;
    this->Run([&](ProviderStore& store) {
        ASSERT_TRUE(store.InsertAuthorizing(this->Authorization(1), this->At(1)));
        ASSERT_TRUE(store.InsertAuthorizing(automatic, this->At(1)));
    });

    EXPECT_FALSE(this->Lock(1)->capture_on_authorize);
    EXPECT_TRUE(this->Lock(2)->capture_on_authorize);
    const auto claimed = this->Claim(this->At(1), 10);
    ASSERT_EQ(claimed.size(), 2U);
    for (const ProviderPayment& row : claimed) {
        EXPECT_EQ(row.capture_on_authorize, row.payment_id == this->Payment(2));
    }
    // Authorized and captured in one outcome: kept through the save.
    const ProviderPayment before = *this->Lock(2);
    ProviderPayment captured = before;
    captured.status = ProviderStatus::kCaptured;
    bool saved = false;
    this->Run([&](ProviderStore& store) { saved = store.Save(before, captured); });
    EXPECT_TRUE(saved);
    EXPECT_EQ(this->Lock(2)->status, ProviderStatus::kCaptured);
    EXPECT_TRUE(this->Lock(2)->capture_on_authorize);
}

TYPED_TEST_P(ProviderStoreContract, ASecondInsertOfAKnownPaymentChangesNothing) {
    ASSERT_TRUE(this->Insert(1, this->At(5)));

    bool again = true;
    this->Run([&](ProviderStore& store) {
        NewAuthorization other = this->Authorization(1);
        other.customer_id = CustomerId("someone-else");
        again = store.InsertAuthorizing(other, this->At(99));
    });

    EXPECT_FALSE(again);
    EXPECT_EQ(this->Lock(1)->customer_id, CustomerId("cust-1"));
    EXPECT_EQ(this->Lock(1)->next_attempt_at, this->At(5));
}

TYPED_TEST_P(ProviderStoreContract, AnUnknownPaymentLocksAsNullopt) {
    ASSERT_TRUE(this->Insert(1, this->At(5)));

    EXPECT_FALSE(this->Lock(2).has_value());
}

TYPED_TEST_P(ProviderStoreContract, APaymentIdThatIsNotAUuidIsRefusedAsInvalid) {
    NewAuthorization authorization = this->Authorization(1);
    authorization.payment_id = PaymentId("not-a-uuid");

    EXPECT_EQ(
        this->RunFails([&](ProviderStore& store) {
            (void)store.InsertAuthorizing(authorization, this->At(1));
        }),
        ErrorCode::kInvalidArgument
    );
    EXPECT_EQ(
        this->RunFails([](ProviderStore& store) { (void)store.Lock(PaymentId("not-a-uuid")); }),
        ErrorCode::kInvalidArgument
    );
}

TYPED_TEST_P(ProviderStoreContract, TimesAreKeptToTheMicrosecond) {
    using std::chrono::microseconds;
    using std::chrono::nanoseconds;
    ASSERT_TRUE(this->Insert(1, this->At(5) + nanoseconds(1'234'567)));
    EXPECT_EQ(this->Lock(1)->next_attempt_at, this->At(5) + microseconds(1'234));
    EXPECT_EQ(this->NextDue(), this->At(5) + microseconds(1'234));

    const ProviderPayment before = *this->Lock(1);
    ProviderPayment after = before;
    after.next_attempt_at = this->At(7) + nanoseconds(999);
    ASSERT_TRUE(this->Save(before, after));
    EXPECT_EQ(this->Lock(1)->next_attempt_at, this->At(7));

    // Due to the microsecond: a due time 999 ns past `now` is not in the future any more.
    ASSERT_EQ(this->Claim(this->At(7) + nanoseconds(500), 1).size(), 1U);
    EXPECT_EQ(this->Lock(1)->next_attempt_at, this->At(7) + this->kLease);
}

TYPED_TEST_P(ProviderStoreContract, ClaimDueTakesFreshWorkFirstThenEachByDueTime) {
    ASSERT_TRUE(this->Insert(1, this->At(3)));   // fresh, due third
    ASSERT_TRUE(this->Insert(2, this->At(1)));   // a retry, due first
    ASSERT_TRUE(this->Insert(3, this->At(2)));   // fresh, due second
    ASSERT_TRUE(this->Insert(4, this->At(10)));  // not due yet
    this->MakeRetry(2, this->At(1));

    const auto claimed = this->Claim(this->At(5), 10);

    EXPECT_EQ(
        this->IdsOf(claimed), (std::vector{this->Payment(3), this->Payment(1), this->Payment(2)})
    );
    ASSERT_EQ(claimed.size(), 3U);
    // Returned as claimed: bumped, and due again at now + k * lease.
    for (std::size_t k = 0; k < claimed.size(); ++k) {
        SCOPED_TRACE(claimed[k].payment_id.Value());
        const auto due_again = this->At(5) + this->kLease * static_cast<int>(k + 1);
        EXPECT_EQ(claimed[k].next_attempt_at, due_again);
        const auto stored = this->Lock(claimed[k].payment_id);
        EXPECT_EQ(stored->next_attempt_at, due_again);
        EXPECT_EQ(stored->claim, claimed[k].claim);
    }
    EXPECT_EQ(claimed[0].claim, 1);  // 3: inserted, claimed
    EXPECT_EQ(claimed[2].claim, 2);  // 2: inserted, saved, claimed
    EXPECT_EQ(this->Lock(4)->claim, 0);
    EXPECT_EQ(this->Lock(4)->next_attempt_at, this->At(10));
}

TYPED_TEST_P(ProviderStoreContract, ClaimDueTakesAtMostLimit) {
    for (int n = 1; n <= 3; ++n) {
        ASSERT_TRUE(this->Insert(n, this->At(n)));
    }

    EXPECT_TRUE(this->Claim(this->At(5), 0).empty());
    const auto claimed = this->Claim(this->At(5), 2);

    EXPECT_EQ(this->IdsOf(claimed), (std::vector{this->Payment(1), this->Payment(2)}));
    EXPECT_EQ(this->NextDue(), this->At(3));
    EXPECT_EQ(this->Lock(3)->claim, 0);
}

TYPED_TEST_P(ProviderStoreContract, ANegativeLimitIsRefusedAsInvalid) {
    ASSERT_TRUE(this->Insert(1, this->At(1)));

    EXPECT_EQ(
        this->RunFails([&](ProviderStore& store) {
            (void)store.ClaimDue(this->At(5), -1, this->kLease);
        }),
        ErrorCode::kInvalidArgument
    );
    EXPECT_EQ(this->Lock(1)->claim, 0);
}

TYPED_TEST_P(ProviderStoreContract, AClaimedPaymentIsDueAgainOnlyWhenItsLeaseEnds) {
    ASSERT_TRUE(this->Insert(1, this->At(1)));
    ASSERT_EQ(this->Claim(this->At(5), 4).size(), 1U);

    EXPECT_TRUE(this->Claim(this->At(5) + this->kLease - std::chrono::seconds(1), 4).empty());
    EXPECT_EQ(this->NextDue(), this->At(5) + this->kLease);
    const auto again = this->Claim(this->At(5) + this->kLease, 4);

    ASSERT_EQ(again.size(), 1U);
    EXPECT_EQ(again[0].claim, 2);
}

TYPED_TEST_P(ProviderStoreContract, NextDueIsTheEarliestDueTimeOrNullopt) {
    EXPECT_EQ(this->NextDue(), std::nullopt);
    ASSERT_TRUE(this->Insert(1, this->At(30)));
    ASSERT_TRUE(this->Insert(2, this->At(20)));
    EXPECT_EQ(this->NextDue(), this->At(20));

    for (const int n : {1, 2}) {
        const ProviderPayment before = *this->Lock(n);
        ProviderPayment after = before;
        after.status = ProviderStatus::kDeclined;
        after.next_attempt_at = std::nullopt;  // nothing left to do
        ASSERT_TRUE(this->Save(before, after));
    }
    EXPECT_EQ(this->NextDue(), std::nullopt);
    EXPECT_TRUE(this->Claim(this->At(100), 4).empty());
}

TYPED_TEST_P(ProviderStoreContract, SaveWritesEveryFieldAndBumpsTheClaim) {
    ASSERT_TRUE(this->Insert(1, this->At(1)));
    const ProviderPayment before = this->Claim(this->At(5), 1).at(0);
    ProviderPayment after = before;
    after.status = ProviderStatus::kAuthorized;
    after.authorization_id = "psp-auth-1";
    after.attempts = 3;
    after.next_attempt_at = std::nullopt;
    after.fresh = false;
    after.retries = 2;
    after.checks = 4;
    after.capture_amount_minor = 300;

    EXPECT_TRUE(this->Save(before, after));

    const auto row = this->Lock(1);
    EXPECT_EQ(row->status, ProviderStatus::kAuthorized);
    EXPECT_EQ(row->authorization_id, "psp-auth-1");
    EXPECT_EQ(row->attempts, 3);
    EXPECT_EQ(row->next_attempt_at, std::nullopt);
    EXPECT_FALSE(row->fresh);
    EXPECT_EQ(row->retries, 2);
    EXPECT_EQ(row->checks, 4);
    EXPECT_EQ(row->capture_amount_minor, 300);
    EXPECT_EQ(row->claim, before.claim + 1);
}

TYPED_TEST_P(ProviderStoreContract, SaveIsFalseWhenAnotherClaimCameFirst) {
    ASSERT_TRUE(this->Insert(1, this->At(1)));
    const ProviderPayment mine = this->Claim(this->At(5), 1).at(0);
    // My lease ran out and another worker claimed the payment.
    ASSERT_EQ(this->Claim(this->At(5) + this->kLease, 1).size(), 1U);
    ProviderPayment after = mine;
    after.status = ProviderStatus::kAuthorized;

    EXPECT_FALSE(this->Save(mine, after));

    const auto row = this->Lock(1);
    EXPECT_EQ(row->status, ProviderStatus::kAuthorizing);
    EXPECT_EQ(row->claim, 2);
}

TYPED_TEST_P(ProviderStoreContract, SaveIsFalseWhenTheStatusMoved) {
    ASSERT_TRUE(this->Insert(1, this->At(1)));
    const ProviderPayment authorizing = *this->Lock(1);
    ProviderPayment authorized = authorizing;
    authorized.status = ProviderStatus::kAuthorized;
    ASSERT_TRUE(this->Save(authorizing, authorized));

    // Same claim as now stored, but another status than the stored one.
    ProviderPayment stale = *this->Lock(1);
    stale.status = ProviderStatus::kAuthorizing;
    ProviderPayment declined = stale;
    declined.status = ProviderStatus::kDeclined;
    EXPECT_FALSE(this->Save(stale, declined));
    EXPECT_FALSE(this->Save(authorizing, declined));  // old claim and old status

    EXPECT_EQ(this->Lock(1)->status, ProviderStatus::kAuthorized);
    EXPECT_EQ(this->Lock(1)->claim, 1);
}

TYPED_TEST_P(ProviderStoreContract, SaveOfAnUnknownPaymentIsFalse) {
    ProviderPayment ghost;
    ghost.payment_id = this->Payment(9);
    ProviderPayment after = ghost;
    after.status = ProviderStatus::kAuthorized;

    EXPECT_FALSE(this->Save(ghost, after));
    EXPECT_FALSE(this->Lock(9).has_value());
}

TYPED_TEST_P(ProviderStoreContract, EveryAttemptIsRecordedInOrder) {
    ASSERT_TRUE(this->Insert(1, this->At(1)));
    const AttemptRecord timeout{
        this->Payment(1),
        1,
        PspOperation::kAuthorize,
        AttemptResult::kTimeout,
        std::chrono::milliseconds(2500),
        FailureCode::kProviderTimeout};
    const AttemptRecord inquiry{
        this->Payment(1),
        1,
        PspOperation::kInquire,
        AttemptResult::kAuthorized,
        std::chrono::milliseconds(12),
        std::nullopt};
    const AttemptRecord capture{
        this->Payment(1),
        1,
        PspOperation::kCapture,
        AttemptResult::kCaptured,
        std::chrono::milliseconds(7),
        std::nullopt};

    this->Run([&](ProviderStore& store) {
        store.RecordAttempt(timeout);
        store.RecordAttempt(inquiry);
    });
    this->Run([&](ProviderStore& store) { store.RecordAttempt(capture); });

    EXPECT_EQ(
        this->harness_.Attempts(), (std::vector{RowOf(timeout), RowOf(inquiry), RowOf(capture)})
    );
}

TYPED_TEST_P(ProviderStoreContract, AUnitOfWorkThatThrowsUndoesEveryWrite) {
    ASSERT_TRUE(this->Insert(1, this->At(1)));
    testing::FakeClock clock;

    EXPECT_EQ(
        testing::ErrorCodeOf([&] {
            this->harness_.Units().Run([&](ProviderStore& store, Outbox& outbox) {
                EXPECT_TRUE(store.InsertAuthorizing(this->Authorization(2), this->At(2)));
                const auto claimed = store.ClaimDue(this->At(5), 4, this->kLease);
                ProviderPayment after = claimed.at(0);
                after.status = ProviderStatus::kDeclined;
                EXPECT_TRUE(store.Save(claimed.at(0), after));
                store.RecordAttempt(
                    {this->Payment(1),
                     1,
                     PspOperation::kAuthorize,
                     AttemptResult::kDeclined,
                     std::chrono::milliseconds(3),
                     FailureCode::kProviderDecline}
                );
                outbox.Append(NewEnvelope(
                    PaymentRequested{{CustomerId("c"), Money{5, *Currency::Parse("EUR")}}, false},
                    this->Payment(1),
                    "trace",
                    clock
                ));
                throw Exception(ErrorCode::kUnavailable, "the worker failed after its writes");
            });
        }),
        ErrorCode::kUnavailable
    );

    EXPECT_FALSE(this->Lock(2).has_value());
    const auto row = this->Lock(1);
    EXPECT_EQ(row->status, ProviderStatus::kAuthorizing);
    EXPECT_EQ(row->claim, 0);
    EXPECT_EQ(row->next_attempt_at, this->At(1));
    EXPECT_TRUE(this->harness_.Attempts().empty());
    EXPECT_EQ(this->harness_.PublishedEvents(), 0U);
}

inline ProviderRefund RefundNo(int n, const PaymentId& payment) {
    ProviderRefund refund;
    refund.refund_id = testing::UuidNo(1000 + n);
    refund.payment_id = payment;
    refund.amount = Money{std::int64_t{100} * n, *Currency::Parse("EUR")};
    refund.reason = "duplicate";
    refund.trace_id = "trace-r" + std::to_string(n);
    refund.authorization_key = "auth-" + payment.Value();
    refund.refund_key = "rf-" + refund.refund_id;
    return refund;
}

TYPED_TEST_P(ProviderStoreContract, ARefundIsRecordedOnceRefundingAndDue) {
    const ProviderRefund refund = RefundNo(1, this->Payment(1));
    bool first = false;
    bool second = true;
    this->Run([&](ProviderStore& s) { first = s.InsertRefund(refund, this->At(3)); });
    ProviderRefund again = refund;
    again.amount.amount_minor = 999;
    this->Run([&](ProviderStore& s) { second = s.InsertRefund(again, this->At(4)); });
    EXPECT_TRUE(first);
    EXPECT_FALSE(second);
    std::optional<ProviderRefund> row;
    this->Run([&](ProviderStore& s) { row = s.LockRefund(refund.refund_id); });
    ASSERT_TRUE(row.has_value());
    EXPECT_EQ(row->status, RefundState::kRefunding);
    EXPECT_EQ(row->amount.amount_minor, 100);
    EXPECT_EQ(row->refund_key, refund.refund_key);
    EXPECT_EQ(row->authorization_key, refund.authorization_key);
    EXPECT_EQ(row->next_attempt_at, this->At(3));
    EXPECT_EQ(row->attempts, 0);
    std::optional<ProviderRefund> unknown;
    this->Run([&](ProviderStore& s) { unknown = s.LockRefund(testing::UuidNo(77)); });
    EXPECT_FALSE(unknown.has_value());
}

TYPED_TEST_P(ProviderStoreContract, RefundsAreClaimedByDueTimeLeasedAndSavedByCompareAndSwap) {
    this->Run([&](ProviderStore& s) {
        ASSERT_TRUE(s.InsertRefund(RefundNo(1, this->Payment(1)), this->At(5)));
        ASSERT_TRUE(s.InsertRefund(RefundNo(2, this->Payment(1)), this->At(2)));
        ASSERT_TRUE(s.InsertRefund(RefundNo(3, this->Payment(2)), this->At(50)));
    });
    std::optional<Clock::TimePoint> next;
    this->Run([&](ProviderStore& s) { next = s.NextDue(); });
    EXPECT_EQ(next, this->At(2));
    std::vector<ProviderRefund> claimed;
    this->Run([&](ProviderStore& s) { claimed = s.ClaimDueRefunds(this->At(10), 5, this->kLease); }
    );
    ASSERT_EQ(claimed.size(), 2U);
    EXPECT_EQ(claimed[0].refund_id, RefundNo(2, this->Payment(1)).refund_id);
    EXPECT_EQ(claimed[0].claim, 1);
    EXPECT_EQ(claimed[0].next_attempt_at, this->At(10) + this->kLease);
    EXPECT_EQ(claimed[1].next_attempt_at, this->At(10) + this->kLease * 2);
    std::vector<ProviderRefund> none;
    this->Run([&](ProviderStore& s) { none = s.ClaimDueRefunds(this->At(11), 5, this->kLease); });
    EXPECT_TRUE(none.empty());

    ProviderRefund done = claimed[0];
    done.status = RefundState::kSucceeded;
    done.attempts = 1;
    done.next_attempt_at.reset();
    bool saved = false;
    bool stale = true;
    this->Run([&](ProviderStore& s) { saved = s.SaveRefund(claimed[0], done); });
    this->Run([&](ProviderStore& s) { stale = s.SaveRefund(claimed[0], done); });
    EXPECT_TRUE(saved);
    EXPECT_FALSE(stale);  // the claim moved on
    std::optional<ProviderRefund> row;
    this->Run([&](ProviderStore& s) { row = s.LockRefund(done.refund_id); });
    EXPECT_EQ(row->status, RefundState::kSucceeded);
    EXPECT_EQ(row->attempts, 1);
    EXPECT_EQ(row->next_attempt_at, std::nullopt);
    EXPECT_EQ(row->claim, 2);
}

REGISTER_TYPED_TEST_SUITE_P(
    ProviderStoreContract,
    ANewAuthorizationIsFreshAuthorizingAndDueAtItsTime,
    CaptureOnAuthorizeIsKeptAndClaimedWithThePayment,
    ASecondInsertOfAKnownPaymentChangesNothing,
    AnUnknownPaymentLocksAsNullopt,
    APaymentIdThatIsNotAUuidIsRefusedAsInvalid,
    TimesAreKeptToTheMicrosecond,
    ClaimDueTakesFreshWorkFirstThenEachByDueTime,
    ClaimDueTakesAtMostLimit,
    ANegativeLimitIsRefusedAsInvalid,
    AClaimedPaymentIsDueAgainOnlyWhenItsLeaseEnds,
    NextDueIsTheEarliestDueTimeOrNullopt,
    SaveWritesEveryFieldAndBumpsTheClaim,
    SaveIsFalseWhenAnotherClaimCameFirst,
    SaveIsFalseWhenTheStatusMoved,
    SaveOfAnUnknownPaymentIsFalse,
    EveryAttemptIsRecordedInOrder,
    AUnitOfWorkThatThrowsUndoesEveryWrite,
    ARefundIsRecordedOnceRefundingAndDue,
    RefundsAreClaimedByDueTimeLeasedAndSavedByCompareAndSwap
);

}  // namespace sagapay::provider::contract
