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
