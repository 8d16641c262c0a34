#include <gtest/gtest.h>

#include "core/messaging/events.hpp"
#include "runtime/event_consumer.hpp"
#include "services/notification/in_memory_notification_store.hpp"
#include "services/notification/notification_handler.hpp"
#include "services/notification/notification_outcome.hpp"
#include "testing/fake_clock.hpp"

namespace sagapay::notification {
namespace {

const PaymentId kPayment("5a6b7c8d-0000-4000-8000-000000000001");

TEST(OutcomeOf, NamesTheOutcomeOfEachTerminalTopicAndNothingElse) {
    EXPECT_EQ(OutcomeOf("payments.settled"), Outcome::kSettled);
    EXPECT_EQ(OutcomeOf("payments.failed"), Outcome::kFailed);
    EXPECT_EQ(OutcomeOf("payments.reversed"), Outcome::kReversed);
    for (const char* other :
         {"payments.captured",
          "payments.refunded",
          "refunds.failed",
          "payments.requested",
          "risk.denied",
          "payments.dlq",
          "",
          "SETTLED"}) {
        EXPECT_FALSE(OutcomeOf(other).has_value()) << other;
    }
}

TEST(OutcomeOf, OutcomesAreNamedAsTheColumnWantsThem) {
    EXPECT_EQ(ToString(Outcome::kSettled), "SETTLED");
    EXPECT_EQ(ToString(Outcome::kFailed), "FAILED");
    EXPECT_EQ(ToString(Outcome::kReversed), "REVERSED");
    EXPECT_EQ(ToString(Outcome::kPartiallyRefunded), "PARTIALLY_REFUNDED");
    EXPECT_EQ(ToString(Outcome::kRefunded), "REFUNDED");
    EXPECT_EQ(ToString(Outcome::kRefundFailed), "REFUND_FAILED");
    EXPECT_FALSE(IsRefundOutcome(Outcome::kSettled));
    EXPECT_FALSE(IsRefundOutcome(Outcome::kReversed));
    EXPECT_TRUE(IsRefundOutcome(Outcome::kRefunded));
    EXPECT_TRUE(IsRefundOutcome(Outcome::kRefundFailed));
}

TEST(RefundOutcomeOf, IsRefundedOnceTheRefundsReachTheCapture) {
    EXPECT_EQ(RefundOutcomeOf(1000, 1000), Outcome::kRefunded);
    EXPECT_EQ(RefundOutcomeOf(300, 1000), Outcome::kPartiallyRefunded);
    EXPECT_EQ(RefundOutcomeOf(999, 1000), Outcome::kPartiallyRefunded);
    EXPECT_EQ(RefundOutcomeOf(1001, 1000), Outcome::kRefunded);
    // The capture unknown (absent on the wire): never said to be refunded in full.
    EXPECT_EQ(RefundOutcomeOf(300, 0), Outcome::kPartiallyRefunded);
}

class NotificationHandlerTest : public ::testing::Test {
protected:
    Envelope Settled(const PaymentId& payment) const {
        return NewEnvelope(
            PaymentSettled{"settlement:" + payment.Value(), Money{100, *Currency::Parse("USD")}},
            payment,
            "trace-n",
            clock_
        );
    }

    Envelope Failed(const PaymentId& payment) const {
        PaymentFailed failed;
        failed.error_code = FailureCode::kRiskDenied;
        failed.customer_id = CustomerId("c");
        failed.from_orchestrator = true;
        return NewEnvelope(failed, payment, "trace-n", clock_);
    }

    Envelope Refunded(
        const std::string& refund_id, std::int64_t amount, std::int64_t total, std::int64_t captured
    ) const {
        return NewEnvelope(
            PaymentRefunded{
                refund_id,
                Money{amount, *Currency::Parse("EUR")},
                total,
                captured,
                CustomerId("c"),
                "requested_by_customer"},
            kPayment,
            "trace-r",
            clock_
        );
    }

    Envelope RefundRefused(const std::string& refund_id) const {
        return NewEnvelope(
            RefundFailed{
                refund_id, Money{100, *Currency::Parse("EUR")}, CustomerId("c"), "psp_refused"},
            kPayment,
            "trace-r",
            clock_
        );
    }

    testing::FakeClock clock_;
    InMemoryNotificationStore store_;
    NotificationHandler handler_;
};

TEST_F(NotificationHandlerTest, RecordsOneNotificationPerOutcome) {
    const Envelope settled = Settled(kPayment);

    handler_.Handle(store_, settled);

    ASSERT_EQ(store_.Recorded().size(), 1U);
    const Notification& n = store_.Recorded().at({kPayment, Outcome::kSettled});
    EXPECT_EQ(n.payment_id, kPayment);
    EXPECT_EQ(n.message, "Payment " + kPayment.Value() + " event=payments.settled");
    EXPECT_EQ(n.event_id, EventId(settled.event_id));
}

TEST_F(NotificationHandlerTest, RedeliveriesAndReEmissionsAreRecordedOnce) {
    const Envelope first = Failed(kPayment);
    handler_.Handle(store_, first);
    handler_.Handle(store_, first);
    handler_.Handle(store_, Failed(kPayment));  // same outcome, a new event id

    ASSERT_EQ(store_.Recorded().size(), 1U);
    EXPECT_EQ(store_.Recorded().at({kPayment, Outcome::kFailed}).event_id, EventId(first.event_id));
}

TEST_F(NotificationHandlerTest, EachOutcomeOfAPaymentIsItsOwnNotification) {
    handler_.Handle(store_, Failed(kPayment));
    Envelope reversed = Failed(kPayment);
    reversed.event_type = "payments.reversed";  // only the topic matters here
    handler_.Handle(store_, reversed);

    EXPECT_EQ(store_.Recorded().size(), 2U);
    EXPECT_TRUE(store_.Recorded().contains({kPayment, Outcome::kReversed}));
}

const std::string kRefund1 = "8b9c0d1e-0000-4000-8000-000000000001";
const std::string kRefund2 = "8b9c0d1e-0000-4000-8000-000000000002";
const std::string kRefund3 = "8b9c0d1e-0000-4000-8000-000000000003";

TEST_F(NotificationHandlerTest, EachRefundIsItsOwnNotificationRecordedOnce) {
    const Envelope partial = Refunded(kRefund1, 300, 300, 1000);
    handler_.Handle(store_, partial);
    handler_.Handle(store_, partial);                             // a redelivery
    handler_.Handle(store_, Refunded(kRefund1, 300, 300, 1000));  // re-announced
    handler_.Handle(store_, RefundRefused(kRefund2));
    handler_.Handle(store_, Refunded(kRefund3, 700, 1000, 1000));

    EXPECT_TRUE(store_.Recorded().empty());  // no payment outcome among them
    ASSERT_EQ(store_.RecordedRefunds().size(), 3U);
    const Notification& first =
        store_.RecordedRefunds().at({kRefund1, Outcome::kPartiallyRefunded});
    EXPECT_EQ(first.payment_id, kPayment);
    EXPECT_EQ(first.refund_id, kRefund1);
    EXPECT_EQ(first.event_id, EventId(partial.event_id));
    EXPECT_EQ(
        first.message,
        "Refund " + kRefund1 + " of payment " + kPayment.Value() + " event=payments.refunded"
    );
    EXPECT_EQ(
        store_.RecordedRefunds().at({kRefund2, Outcome::kRefundFailed}).message,
        "Refund " + kRefund2 + " of payment " + kPayment.Value() + " event=refunds.failed"
    );
    EXPECT_TRUE(store_.RecordedRefunds().contains({kRefund3, Outcome::kRefunded}));
}

TEST_F(NotificationHandlerTest, RefundEventsThatCannotBeReadAreRefusedForGood) {
    std::vector<Envelope> invalid = {
        Refunded(kRefund1, 300, 300, 1000),
        Refunded("not-a-uuid", 300, 300, 1000),
        RefundRefused(kRefund2),
        RefundRefused(""),
        Refunded(kRefund1, 300, 300, 1000),
    };
    invalid[0].payload.erase("refund_id");
    invalid[2].payload.erase("amount_cents");
    invalid[4].aggregate_id = "not-a-uuid";
    for (const Envelope& event : invalid) {
        SCOPED_TRACE(event.payload.dump() + " " + event.aggregate_id);
        EXPECT_THROW(handler_.Handle(store_, event), PermanentEventError);
    }
    EXPECT_TRUE(store_.RecordedRefunds().empty());
}

TEST_F(NotificationHandlerTest, WhatIsNoPaymentOutcomeIsRefusedForGood) {
    Envelope other_topic = Settled(kPayment);
    other_topic.event_type = "payments.captured";
    Envelope not_a_payment = Settled(PaymentId("not-a-uuid"));

    EXPECT_THROW(handler_.Handle(store_, other_topic), PermanentEventError);
    EXPECT_THROW(handler_.Handle(store_, not_a_payment), PermanentEventError);
    EXPECT_TRUE(store_.Recorded().empty());
}

}  // namespace
}  // namespace sagapay::notification
