#pragma once

// The contract of PaymentStore, run against InMemoryPaymentStore (payment_store_contract_test.cpp)
// and PgPaymentStore (payment_store_contract_pgtest.cpp). The deterministic simulation runs the
// saga over the in-memory store: it is only valid while both pass this suite.
//
// A harness `H` gives each test an empty store and provides:
//   void Seed(const PaymentSnapshot& payment);    a committed payment in that state
//   void Run(const std::function<void(PaymentStore&)>& work);
//       one unit of work: committed when `work` returns, rolled back (rethrowing) when it or the
//       commit throws
//   std::vector<TimelineEntry> Timeline(const PaymentId& payment);   committed rows, in order
//
// Where the two differ by design: PostgreSQL checks the compare-and-swap at COMMIT, the in-memory
// store at Apply; so conflicts are asserted on the whole unit of work, never on Apply alone.

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/error.hpp"
#include "services/orchestrator/payment_store.hpp"
#include "testing/contract.hpp"

namespace sagapay::orchestrator::contract {

/// One timeline row as both stores record it (an empty event id when the step had none).
struct TimelineEntry {
    PaymentStatus from = PaymentStatus::kCreated;
    PaymentStatus to = PaymentStatus::kCreated;
    std::string reason;
    std::string event_id;

    friend bool operator==(const TimelineEntry&, const TimelineEntry&) = default;
};

inline void PrintTo(const TimelineEntry& row, std::ostream* out) {
    *out << ToString(row.from) << "->" << ToString(row.to) << " (" << row.reason << ", '"
         << row.event_id << "')";
}

template <class Harness>
class PaymentStoreContract : public ::testing::Test {
protected:
    static PaymentSnapshot Payment(int n, PaymentStatus status, std::int64_t version = 0) {
        return PaymentSnapshot{
            PaymentId(testing::UuidNo(n)),
            CustomerId("cust-" + std::to_string(n)),
            Money{1000 + n, *Currency::Parse("EUR")},
            status,
            version};
    }

    /// The payment as a new unit of work locks it.
    std::optional<LockedPayment> LockCommitted(const PaymentId& id) {
        std::optional<LockedPayment> locked;
        harness_.Run([&](PaymentStore& store) { locked = store.Lock(id); });
        return locked;
    }

    /// Runs `work` in its own unit of work and returns the code it failed with, if any.
    std::optional<ErrorCode> RunFails(const std::function<void(PaymentStore&)>& work) {
        return testing::ErrorCodeOf([&] { harness_.Run(work); });
    }

    Harness harness_;
};

TYPED_TEST_SUITE_P(PaymentStoreContract);

TYPED_TEST_P(PaymentStoreContract, LockOfAnUnknownOrMalformedIdIsNullopt) {
    this->harness_.Seed(this->Payment(1, PaymentStatus::kCreated));

    this->harness_.Run([](PaymentStore& store) {
        EXPECT_FALSE(store.Lock(PaymentId(testing::UuidNo(2))).has_value());
        EXPECT_FALSE(store.Lock(PaymentId("not-a-uuid")).has_value());
        EXPECT_FALSE(store.Lock(PaymentId("")).has_value());
    });
}

TYPED_TEST_P(PaymentStoreContract, LockReturnsTheStoredPayment) {
    const PaymentSnapshot seeded = this->Payment(1, PaymentStatus::kAuthorized, 3);
    this->harness_.Seed(seeded);

    const auto locked = this->LockCommitted(seeded.payment_id);

    ASSERT_TRUE(locked.has_value());
    EXPECT_EQ(locked->snapshot.payment_id, seeded.payment_id);
    EXPECT_EQ(locked->snapshot.customer_id, seeded.customer_id);
    EXPECT_EQ(locked->snapshot.amount, seeded.amount);
    EXPECT_EQ(locked->snapshot.status, PaymentStatus::kAuthorized);
    EXPECT_EQ(locked->snapshot.state_version, 3);
    EXPECT_GE(locked->age_seconds, 0.0);
}

TYPED_TEST_P(PaymentStoreContract, ApplyMovesThePaymentAndBumpsItsStateVersion) {
    const PaymentId id = this->Payment(1, PaymentStatus::kCreated).payment_id;
    this->harness_.Seed(this->Payment(1, PaymentStatus::kCreated, 4));

    this->harness_.Run([&](PaymentStore& store) {
        PaymentSnapshot payment = store.Lock(id)->snapshot;
        store.Apply(payment, {PaymentStatus::kApproved, "risk_approved"}, EventId("e-1"));
        // The caller's snapshot follows, so a next step starts from there.
        EXPECT_EQ(payment.status, PaymentStatus::kApproved);
        EXPECT_EQ(payment.state_version, 5);
    });

    const auto after = this->LockCommitted(id);
    EXPECT_EQ(after->snapshot.status, PaymentStatus::kApproved);
    EXPECT_EQ(after->snapshot.state_version, 5);
}

TYPED_TEST_P(PaymentStoreContract, EveryStepIsATimelineRowInOrderWithItsEventId) {
    using S = PaymentStatus;
    const PaymentId id = this->Payment(1, S::kCreated).payment_id;
    this->harness_.Seed(this->Payment(1, S::kCreated));

    this->harness_.Run([&](PaymentStore& store) {
        PaymentSnapshot payment = store.Lock(id)->snapshot;
        store.Apply(payment, {S::kApproved, "risk_approved"}, EventId("e-1"));
        store.Apply(payment, {S::kAuthorized, "provider_authorized"}, EventId("e-2"));
    });
    this->harness_.Run([&](PaymentStore& store) {
        PaymentSnapshot payment = store.Lock(id)->snapshot;
        store.Apply(payment, {S::kFailed, "capture_refused"}, EventId());
    });

    EXPECT_EQ(
        this->harness_.Timeline(id),
        (std::vector<TimelineEntry>{
            {S::kCreated, S::kApproved, "risk_approved", "e-1"},
            {S::kApproved, S::kAuthorized, "provider_authorized", "e-2"},
            {S::kAuthorized, S::kFailed, "capture_refused", ""}})
    );
    EXPECT_EQ(this->LockCommitted(id)->snapshot.state_version, 3);
}

TYPED_TEST_P(PaymentStoreContract, LockLaterInTheUnitOfWorkSeesTheStepsAppliedInIt) {
    using S = PaymentStatus;
    const PaymentId a = this->Payment(1, S::kCreated).payment_id;
    const PaymentId b = this->Payment(2, S::kCreated).payment_id;
    this->harness_.Seed(this->Payment(1, S::kCreated));
    this->harness_.Seed(this->Payment(2, S::kApproved, 1));

    this->harness_.Run([&](PaymentStore& store) {
        const std::vector<PaymentId> batch = {
            b, a, PaymentId("junk"), PaymentId(testing::UuidNo(9))};
        store.LockAll(batch);
        PaymentSnapshot pa = store.Lock(a)->snapshot;
        store.Apply(pa, {S::kApproved, "risk_approved"}, EventId("e-1"));
        const auto again = store.Lock(a);
        ASSERT_TRUE(again.has_value());
        EXPECT_EQ(again->snapshot.status, S::kApproved);
        EXPECT_EQ(again->snapshot.state_version, 1);
        PaymentSnapshot next = again->snapshot;
        store.Apply(next, {S::kAuthorized, "provider_authorized"}, EventId("e-2"));
        EXPECT_EQ(store.Lock(b)->snapshot.status, S::kApproved);
        EXPECT_FALSE(store.Lock(PaymentId(testing::UuidNo(9))).has_value());
        EXPECT_FALSE(store.Lock(PaymentId("junk")).has_value());
    });

    EXPECT_EQ(this->LockCommitted(a)->snapshot.status, S::kAuthorized);
    EXPECT_EQ(this->LockCommitted(a)->snapshot.state_version, 2);
    EXPECT_EQ(this->harness_.Timeline(a).size(), 2U);
    EXPECT_TRUE(this->harness_.Timeline(b).empty());
}

TYPED_TEST_P(PaymentStoreContract, AForbiddenTransitionThrowsInternalAndChangesNothing) {
    using S = PaymentStatus;
    this->harness_.Seed(this->Payment(1, S::kCreated));
    this->harness_.Seed(this->Payment(2, S::kSettled, 5));
    const PaymentId created = this->Payment(1, S::kCreated).payment_id;
    const PaymentId settled = this->Payment(2, S::kSettled).payment_id;

    const struct {
        PaymentId id;
        S to = S::kCreated;
    } forbidden[] = {
        {created, S::kSettled},
        {created, S::kCreated},  // never a self-transition
        {settled, S::kReversed},
        {settled, S::kFailed},
    };
    for (const auto& [id, to] : forbidden) {
        SCOPED_TRACE(std::string(ToString(to)));
        std::optional<PaymentSnapshot> locked;
        std::optional<PaymentSnapshot> after_throw;
        EXPECT_EQ(
            this->RunFails([&, &id = id, to = to](PaymentStore& store) {
                locked = store.Lock(id)->snapshot;
                after_throw = locked;
                store.Apply(*after_throw, {to, "nope"}, EventId("e"));
            }),
            ErrorCode::kInternal
        );
        ASSERT_TRUE(after_throw.has_value());
        // The caller's snapshot is left as it was.
        EXPECT_EQ(after_throw->status, locked->status);
        EXPECT_EQ(after_throw->state_version, locked->state_version);
    }
    EXPECT_EQ(this->LockCommitted(created)->snapshot.status, S::kCreated);
    EXPECT_EQ(this->LockCommitted(created)->snapshot.state_version, 0);
    EXPECT_EQ(this->LockCommitted(settled)->snapshot.state_version, 5);
    EXPECT_TRUE(this->harness_.Timeline(created).empty());
    EXPECT_TRUE(this->harness_.Timeline(settled).empty());
}

TYPED_TEST_P(PaymentStoreContract, AStaleStateVersionFailsTheUnitOfWorkWithAborted) {
    using S = PaymentStatus;
    const PaymentId id = this->Payment(1, S::kCreated).payment_id;
    this->harness_.Seed(this->Payment(1, S::kCreated, 2));

    EXPECT_EQ(
        this->RunFails([&](PaymentStore& store) {
            PaymentSnapshot payment = store.Lock(id)->snapshot;
            payment.state_version = 7;  // another writer moved it past what we read
            store.Apply(payment, {S::kApproved, "risk_approved"}, EventId("e"));
        }),
        ErrorCode::kAborted
    );

    EXPECT_EQ(this->LockCommitted(id)->snapshot.status, S::kCreated);
    EXPECT_EQ(this->LockCommitted(id)->snapshot.state_version, 2);
    EXPECT_TRUE(this->harness_.Timeline(id).empty());
}

TYPED_TEST_P(PaymentStoreContract, AStaleStatusFailsTheUnitOfWorkWithAborted) {
    using S = PaymentStatus;
    const PaymentId id = this->Payment(1, S::kCreated).payment_id;
    this->harness_.Seed(this->Payment(1, S::kApproved, 1));

    EXPECT_EQ(
        this->RunFails([&](PaymentStore& store) {
            // A snapshot of the same version in another status: allowed from CREATED, but the
            // payment is APPROVED.
            PaymentSnapshot payment = store.Lock(id)->snapshot;
            payment.status = S::kCreated;
            store.Apply(payment, {S::kRiskReview, "risk_review"}, EventId("e"));
        }),
        ErrorCode::kAborted
    );

    EXPECT_EQ(this->LockCommitted(id)->snapshot.status, S::kApproved);
    EXPECT_TRUE(this->harness_.Timeline(id).empty());
}

TYPED_TEST_P(PaymentStoreContract, ApplyingToAPaymentThatDoesNotExistFailsWithAborted) {
    using S = PaymentStatus;
    const PaymentSnapshot ghost = this->Payment(3, S::kCreated);

    EXPECT_EQ(
        this->RunFails([&](PaymentStore& store) {
            PaymentSnapshot payment = ghost;
            store.Apply(payment, {S::kApproved, "risk_approved"}, EventId("e"));
        }),
        ErrorCode::kAborted
    );

    EXPECT_FALSE(this->LockCommitted(ghost.payment_id).has_value());
}

TYPED_TEST_P(PaymentStoreContract, OneConflictFailsEveryStepOfTheUnitOfWork) {
    using S = PaymentStatus;
    const PaymentId a = this->Payment(1, S::kCreated).payment_id;
    const PaymentId b = this->Payment(2, S::kCreated).payment_id;
    this->harness_.Seed(this->Payment(1, S::kCreated));
    this->harness_.Seed(this->Payment(2, S::kCreated));

    EXPECT_EQ(
        this->RunFails([&](PaymentStore& store) {
            PaymentSnapshot pa = store.Lock(a)->snapshot;
            store.Apply(pa, {S::kApproved, "risk_approved"}, EventId("e-a"));
            PaymentSnapshot pb = store.Lock(b)->snapshot;
            pb.state_version = 9;
            store.Apply(pb, {S::kApproved, "risk_approved"}, EventId("e-b"));
        }),
        ErrorCode::kAborted
    );

    EXPECT_EQ(this->LockCommitted(a)->snapshot.status, S::kCreated);
    EXPECT_EQ(this->LockCommitted(a)->snapshot.state_version, 0);
    EXPECT_TRUE(this->harness_.Timeline(a).empty());
}

TYPED_TEST_P(PaymentStoreContract, AUnitOfWorkThatThrowsLeavesNoStepBehind) {
    using S = PaymentStatus;
    const PaymentId id = this->Payment(1, S::kCreated).payment_id;
    this->harness_.Seed(this->Payment(1, S::kCreated));

    EXPECT_EQ(
        this->RunFails([&](PaymentStore& store) {
            PaymentSnapshot payment = store.Lock(id)->snapshot;
            store.Apply(payment, {S::kApproved, "risk_approved"}, EventId("e"));
            throw Exception(ErrorCode::kUnavailable, "the handler failed after the step");
        }),
        ErrorCode::kUnavailable
    );

    EXPECT_EQ(this->LockCommitted(id)->snapshot.status, S::kCreated);
    EXPECT_EQ(this->LockCommitted(id)->snapshot.state_version, 0);
    EXPECT_TRUE(this->harness_.Timeline(id).empty());
}

REGISTER_TYPED_TEST_SUITE_P(
    PaymentStoreContract,
    LockOfAnUnknownOrMalformedIdIsNullopt,
    LockReturnsTheStoredPayment,
    ApplyMovesThePaymentAndBumpsItsStateVersion,
    EveryStepIsATimelineRowInOrderWithItsEventId,
    LockLaterInTheUnitOfWorkSeesTheStepsAppliedInIt,
    AForbiddenTransitionThrowsInternalAndChangesNothing,
    AStaleStateVersionFailsTheUnitOfWorkWithAborted,
    AStaleStatusFailsTheUnitOfWorkWithAborted,
    ApplyingToAPaymentThatDoesNotExistFailsWithAborted,
    OneConflictFailsEveryStepOfTheUnitOfWork,
    AUnitOfWorkThatThrowsLeavesNoStepBehind
);

}  // namespace sagapay::orchestrator::contract
