#pragma once

// The contract of NotificationStore, run against InMemoryNotificationStore
// (notification_store_contract_test.cpp) and PgNotificationStore
// (notification_store_contract_pgtest.cpp). The deterministic simulation runs the notification
// handler over the in-memory store: it is only valid while both pass this suite.
//
// A harness `H` gives each test an empty store and provides:
//   void Run(const std::function<void(NotificationStore&)>& work);
//       one unit of work: committed when `work` returns, rolled back (rethrowing) when it throws
//   std::vector<RecordedRow> Recorded();   committed notifications, sorted

#include <functional>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include <gtest/gtest.h>

#include "core/error.hpp"
#include "services/notification/notification_store.hpp"
#include "testing/contract.hpp"

namespace sagapay::notification::contract {

/// payment id, outcome, message, event id, refund id ("" for a payment's outcome).
using RecordedRow = std::tuple<std::string, std::string, std::string, std::string, std::string>;

template <class Harness>
class NotificationStoreContract : public ::testing::Test {
protected:
    static PaymentId Payment(int n) { return PaymentId(testing::UuidNo(n)); }

    static std::string Refund(int r) { return testing::UuidNo(7000 + r); }

    /// Records outcome `outcome` of payment `n` (of its refund `refund` when not 0).
    bool Record(int n, Outcome outcome, const std::string& event, int refund = 0) {
        bool recorded = false;
        harness_.Run([&](NotificationStore& store) {
            recorded = store.Record(
                {Payment(n),
                 outcome,
                 "message of " + event,
                 EventId(event),
                 refund == 0 ? "" : Refund(refund)}
            );
        });
        return recorded;
    }
    std::optional<ErrorCode> RecordFails(const Notification& notification) {
        return testing::ErrorCodeOf([&] {
            harness_.Run([&](NotificationStore& store) { (void)store.Record(notification); });
        });
    }
    static RecordedRow Row(int n, Outcome outcome, const std::string& event, int refund = 0) {
        return {
            Payment(n).Value(),
            std::string(ToString(outcome)),
            "message of " + event,
            event,
            refund == 0 ? "" : Refund(refund)};
    }

    Harness harness_;
};

TYPED_TEST_SUITE_P(NotificationStoreContract);

TYPED_TEST_P(NotificationStoreContract, APaymentsOutcomeIsRecordedOnceWhateverTheEvent) {
    EXPECT_TRUE(this->Record(1, Outcome::kSettled, "evt-1"));
    EXPECT_FALSE(this->Record(1, Outcome::kSettled, "evt-2"));
    EXPECT_TRUE(this->Record(1, Outcome::kFailed, "evt-3"));
    EXPECT_TRUE(this->Record(1, Outcome::kReversed, "evt-4"));
    EXPECT_TRUE(this->Record(2, Outcome::kSettled, "evt-5"));

    EXPECT_EQ(
        this->harness_.Recorded(),
        (std::vector{
            this->Row(1, Outcome::kFailed, "evt-3"),
            this->Row(1, Outcome::kReversed, "evt-4"),
            this->Row(1, Outcome::kSettled, "evt-1"),
            this->Row(2, Outcome::kSettled, "evt-5")})
    );
}

TYPED_TEST_P(NotificationStoreContract, ARepeatInTheSameUnitOfWorkIsNotRecorded) {
    this->harness_.Run([&](NotificationStore& store) {
        EXPECT_TRUE(store.Record({this->Payment(1), Outcome::kSettled, "m", EventId("evt-1"), ""}));
        EXPECT_FALSE(store.Record({this->Payment(1), Outcome::kSettled, "m", EventId("evt-2"), ""})
        );
    });

    EXPECT_EQ(this->harness_.Recorded().size(), 1U);
}

TYPED_TEST_P(NotificationStoreContract, ARolledBackRecordCanBeRecordedAgain) {
    EXPECT_EQ(
        testing::ErrorCodeOf([&] {
            this->harness_.Run([&](NotificationStore& store) {
                EXPECT_TRUE(store.Record(
                    {this->Payment(1), Outcome::kSettled, "message of evt-1", EventId("evt-1"), ""}
                ));
                throw Exception(ErrorCode::kUnavailable, "the handler failed after recording");
            });
        }),
        ErrorCode::kUnavailable
    );
    EXPECT_TRUE(this->harness_.Recorded().empty());

    EXPECT_TRUE(this->Record(1, Outcome::kSettled, "evt-2"));
    EXPECT_EQ(this->harness_.Recorded(), (std::vector{this->Row(1, Outcome::kSettled, "evt-2")}));
}

TYPED_TEST_P(NotificationStoreContract, APaymentIdThatIsNotAUuidIsRefusedAsInvalid) {
    EXPECT_EQ(
        testing::ErrorCodeOf([&] {
            this->harness_.Run([](NotificationStore& store) {
                (void
                )store.Record({PaymentId("not-a-uuid"), Outcome::kFailed, "m", EventId("e"), ""});
            });
        }),
        ErrorCode::kInvalidArgument
    );
    EXPECT_TRUE(this->harness_.Recorded().empty());
}

TYPED_TEST_P(NotificationStoreContract, EachRefundsOutcomeIsRecordedOnceAndAPaymentHasMany) {
    EXPECT_TRUE(this->Record(1, Outcome::kSettled, "evt-1"));
    EXPECT_TRUE(this->Record(1, Outcome::kPartiallyRefunded, "evt-2", 1));
    EXPECT_FALSE(this->Record(1, Outcome::kPartiallyRefunded, "evt-3", 1));  // again
    EXPECT_TRUE(this->Record(1, Outcome::kPartiallyRefunded, "evt-4", 2));   // another refund
    EXPECT_TRUE(this->Record(1, Outcome::kRefundFailed, "evt-5", 3));
    EXPECT_TRUE(this->Record(1, Outcome::kRefunded, "evt-6", 4));
    EXPECT_FALSE(this->Record(1, Outcome::kRefunded, "evt-7", 4));

    EXPECT_EQ(
        this->harness_.Recorded(),
        (std::vector{
            this->Row(1, Outcome::kPartiallyRefunded, "evt-2", 1),
            this->Row(1, Outcome::kPartiallyRefunded, "evt-4", 2),
            this->Row(1, Outcome::kRefunded, "evt-6", 4),  // sorted: REFUNDED < REFUND_FAILED
            this->Row(1, Outcome::kRefundFailed, "evt-5", 3),
            this->Row(1, Outcome::kSettled, "evt-1")})
    );
}

TYPED_TEST_P(NotificationStoreContract, ARefundIdIsForARefundsOutcomeOnlyAndAUuid) {
    const PaymentId payment = this->Payment(1);
    const std::string refund = this->Refund(1);
    EXPECT_EQ(
        this->RecordFails({payment, Outcome::kRefunded, "m", EventId("e"), ""}),
        ErrorCode::kInvalidArgument
    );
    EXPECT_EQ(
        this->RecordFails({payment, Outcome::kSettled, "m", EventId("e"), refund}),
        ErrorCode::kInvalidArgument
    );
    EXPECT_EQ(
        this->RecordFails({payment, Outcome::kRefundFailed, "m", EventId("e"), "refund-1"}),
        ErrorCode::kInvalidArgument
    );
    EXPECT_TRUE(this->harness_.Recorded().empty());
}

REGISTER_TYPED_TEST_SUITE_P(
    NotificationStoreContract,
    APaymentsOutcomeIsRecordedOnceWhateverTheEvent,
    ARepeatInTheSameUnitOfWorkIsNotRecorded,
    ARolledBackRecordCanBeRecordedAgain,
    APaymentIdThatIsNotAUuidIsRefusedAsInvalid,
    EachRefundsOutcomeIsRecordedOnceAndAPaymentHasMany,
    ARefundIdIsForARefundsOutcomeOnlyAndAUuid
);

}  // namespace sagapay::notification::contract
