#include "services/risk/risk_handler.hpp"

#include <gtest/gtest.h>

#include "runtime/event_consumer.hpp"
#include "services/risk/in_memory_risk_store.hpp"
#include "services/risk/in_memory_velocity_counter.hpp"
#include "testing/fake_clock.hpp"
#include "testing/recording_outbox.hpp"

namespace sagapay::risk {
namespace {

using namespace std::chrono_literals;

const PaymentId kPayment("6f1c2a8e-0000-4000-8000-000000000001");

PaymentId NthPayment(int n) {
    char id[40];
    std::snprintf(id, sizeof(id), "6f1c2a8e-0000-4000-8000-%012d", n);
    return PaymentId(std::string(id));
}

Money Usd(std::int64_t amount_minor) {
    return Money{amount_minor, *Currency::Parse("USD")};
}

class RiskHandlerTest : public ::testing::Test {
protected:
    Envelope Requested(
        const PaymentId& payment, std::int64_t amount_minor, const std::string& customer = "cust-1"
    ) const {
        return NewEnvelope(
            PaymentRequested{{CustomerId(customer), Usd(amount_minor)}},
            payment,
            "trace-req",
            clock_
        );
    }

    Envelope Failed(const PaymentId& payment, FailureCode code, const std::string& customer) const {
        PaymentFailed failed;
        failed.error_code = code;
        failed.customer_id = CustomerId(customer);
        failed.attempt_number = 1;
        return NewEnvelope(failed, payment, "trace-failed", clock_);
    }

    /// Handles `event` in a unit of work that commits.
    void Handle(const Envelope& event) {
        handler_.OnPaymentRequested(store_, outbox_, event);
        outbox_.Commit();
    }

    testing::FakeClock clock_;
    InMemoryVelocityCounter velocity_;
    InMemoryRiskStore store_{clock_};
    testing::RecordingOutbox outbox_;
    RiskHandler handler_{clock_, velocity_, RiskThresholds{}};
};

TEST_F(RiskHandlerTest, ApprovesAnOrdinaryPaymentOnRiskApproved) {
    Handle(Requested(kPayment, 1500));

    const auto approved = outbox_.Only<RiskApproved>();
    EXPECT_EQ(approved.decision, Verdict::kApprove);
    EXPECT_EQ(approved.reason, "rule_passed");
    EXPECT_EQ(approved.customer_id, CustomerId("cust-1"));
    EXPECT_FALSE(approved.review.has_value());
    EXPECT_TRUE(outbox_.On(topics::kRiskDenied).empty());
    const Envelope& envelope = outbox_.Published().front();
    EXPECT_EQ(envelope.aggregate_id, kPayment.Value());
    EXPECT_EQ(envelope.trace_id, "trace-req");
    EXPECT_EQ(envelope.occurred_at, FormatIsoUtc(testing::FakeClock::kStart));

    ASSERT_EQ(store_.Decisions().size(), 1U);
    const DecisionRecord& recorded = store_.Decisions().at(kPayment);
    EXPECT_EQ(recorded.customer_id, CustomerId("cust-1"));
    EXPECT_EQ(recorded.amount, Usd(1500));
    EXPECT_EQ(recorded.verdict, Verdict::kApprove);
    EXPECT_EQ(recorded.reason, "rule_passed");
    EXPECT_EQ(recorded.counts.payments_last_hour, 1);
    EXPECT_EQ(recorded.counts.failed_attempts, 0);
    EXPECT_EQ(store_.ReviewCount(), 0U);
}

TEST_F(RiskHandlerTest, AHighAmountOpensAReviewAndIsAnnouncedOnRiskDeniedAsReview) {
    Handle(Requested(kPayment, 150000));

    const auto denied = outbox_.Only<RiskDenied>();
    EXPECT_EQ(denied.decision, Verdict::kReview);
    EXPECT_EQ(denied.reason, "high_amount");
    EXPECT_TRUE(outbox_.On(topics::kRiskApproved).empty());
    const auto review = store_.ReviewOf(kPayment);
    ASSERT_TRUE(review.has_value());
    EXPECT_EQ(review->status, ReviewStatus::kPending);
    EXPECT_EQ(review->reason, "high_amount");
    EXPECT_EQ(review->amount, Usd(150000));
    EXPECT_EQ(review->customer_id, CustomerId("cust-1"));
    EXPECT_FALSE(review->reviewed_by.has_value());
}

TEST_F(RiskHandlerTest, VelocitySendsThe21stToReviewAndDeniesThe51stWithoutAReview) {
    for (int n = 1; n <= 51; ++n) {
        Handle(Requested(NthPayment(n), 1000));
        clock_.Advance(1s);
    }

    EXPECT_EQ(store_.Decisions().at(NthPayment(20)).verdict, Verdict::kApprove);
    EXPECT_EQ(store_.Decisions().at(NthPayment(21)).reason, "velocity_threshold");
    EXPECT_EQ(store_.Decisions().at(NthPayment(50)).verdict, Verdict::kReview);
    const DecisionRecord& last = store_.Decisions().at(NthPayment(51));
    EXPECT_EQ(last.verdict, Verdict::kDeny);
    EXPECT_EQ(last.reason, "high_frequency");
    EXPECT_EQ(last.counts.payments_last_hour, 51);
    EXPECT_FALSE(store_.ReviewOf(NthPayment(51)).has_value());
    EXPECT_EQ(store_.ReviewCount(), 30U);  // the 21st to the 50th
    EXPECT_EQ(outbox_.On(topics::kRiskApproved).size(), 20U);
    EXPECT_EQ(outbox_.On(topics::kRiskDenied).size(), 31U);
}

TEST_F(RiskHandlerTest, ARedeliveredRequestRepeatsTheDecisionMadeWithoutCountingAgain) {
    const Envelope first = Requested(kPayment, 1500);
    Handle(first);
    // Enough other payments that a fresh decision would now be DENY.
    for (int n = 2; n <= 60; ++n) {
        Handle(Requested(NthPayment(n), 1000));
    }

    Handle(first);
    Envelope reemitted = Requested(kPayment, 1500);  // the sweeper's: a new event id
    Handle(reemitted);

    const auto approvals = outbox_.On(topics::kRiskApproved);
    std::vector<Envelope> for_payment;
    for (const Envelope& e : approvals) {
        if (e.aggregate_id == kPayment.Value()) {
            for_payment.push_back(e);
        }
    }
    ASSERT_EQ(for_payment.size(), 3U);
    for (const Envelope& e : for_payment) {
        const auto decoded = DecodeEvent<RiskApproved>(e);
        ASSERT_TRUE(decoded.has_value());
        EXPECT_EQ(decoded->reason, "rule_passed");
    }
    EXPECT_EQ(store_.Decisions().size(), 60U);
    // The payment was counted once: one more new payment is the 61st, not the 63rd.
    EXPECT_EQ(
        velocity_.RecordAndCount(CustomerId("cust-1"), NthPayment(61), clock_.Now())
            .payments_last_hour,
        61
    );
}

TEST_F(RiskHandlerTest, ARedeliveredReviewStaysOneReviewAndIsAnnouncedAgain) {
    const Envelope event = Requested(kPayment, 150000);
    Handle(event);
    Handle(event);

    EXPECT_EQ(store_.ReviewCount(), 1U);
    const auto denied = outbox_.On(topics::kRiskDenied);
    ASSERT_EQ(denied.size(), 2U);
    EXPECT_EQ(DecodeEvent<RiskDenied>(denied[1])->decision, Verdict::kReview);
}

TEST_F(RiskHandlerTest, AReRequestedReviewThatWasDecidedIsAnsweredWithTheManualDecision) {
    // Finding 5: the decision's event was lost; the sweeper asks again and must get the
    // person's decision, with the event id the review row names, not the stored REVIEW.
    const Envelope event = Requested(kPayment, 150000);
    Handle(event);
    const EventId decision_event("0b5c1f7e-0000-4000-8000-0000000000aa");
    ASSERT_TRUE(std::holds_alternative<DecidedReview>(store_.DecideReview(
        kPayment,
        {.status = ReviewStatus::kApproved,
         .reviewed_by = "ops-anna",
         .decision_event_id = decision_event}
    )));
    outbox_ = testing::RecordingOutbox();

    Handle(event);

    const auto approved = outbox_.On(topics::kRiskApproved);
    ASSERT_EQ(approved.size(), 1U);
    EXPECT_EQ(approved[0].event_id, decision_event.Value());
    const auto decided = DecodeEvent<RiskApproved>(approved[0]);
    ASSERT_TRUE(decided.has_value());
    EXPECT_EQ(decided->reason, "manual_approve");
    ASSERT_TRUE(decided->review.has_value());
    EXPECT_EQ(decided->review->reviewed_by, "ops-anna");
    EXPECT_TRUE(outbox_.On(topics::kRiskDenied).empty());
}

TEST_F(RiskHandlerTest, AReRequestedReviewThatWasDeniedIsAnsweredWithTheDenial) {
    const Envelope event = Requested(kPayment, 150000);
    Handle(event);
    (void)store_.DecideReview(
        kPayment,
        {.status = ReviewStatus::kDenied,
         .reviewed_by = "system:expiry",
         .decision_event_id = EventId("0b5c1f7e-0000-4000-8000-0000000000bb")}
    );
    outbox_ = testing::RecordingOutbox();

    Handle(event);

    const auto denied = outbox_.On(topics::kRiskDenied);
    ASSERT_EQ(denied.size(), 1U);
    EXPECT_EQ(DecodeEvent<RiskDenied>(denied[0])->decision, Verdict::kDeny);
    EXPECT_EQ(DecodeEvent<RiskDenied>(denied[0])->reason, "manual_deny");
}

TEST_F(RiskHandlerTest, ThreeProviderDeclinesSendTheNextPaymentToReview) {
    handler_.OnPaymentFailed(Failed(NthPayment(1), FailureCode::kProviderDecline, "cust-1"));
    handler_.OnPaymentFailed(Failed(NthPayment(1), FailureCode::kProviderDecline, "cust-1"));
    handler_.OnPaymentFailed(Failed(NthPayment(2), FailureCode::kProviderDecline, "cust-1"));
    handler_.OnPaymentFailed(Failed(NthPayment(3), FailureCode::kProviderTimeout, "cust-1"));
    handler_.OnPaymentFailed(Failed(NthPayment(4), FailureCode::kRiskDenied, "cust-1"));
    handler_.OnPaymentFailed(Failed(NthPayment(5), FailureCode::kProviderDecline, "other"));

    Handle(Requested(NthPayment(10), 1000));
    EXPECT_EQ(store_.Decisions().at(NthPayment(10)).counts.failed_attempts, 2);
    EXPECT_EQ(store_.Decisions().at(NthPayment(10)).verdict, Verdict::kApprove);

    handler_.OnPaymentFailed(Failed(NthPayment(6), FailureCode::kProviderDecline, "cust-1"));
    Handle(Requested(NthPayment(11), 1000));

    const DecisionRecord& next = store_.Decisions().at(NthPayment(11));
    EXPECT_EQ(next.verdict, Verdict::kReview);
    EXPECT_EQ(next.reason, "multiple_failed_attempts");
    EXPECT_EQ(next.counts.failed_attempts, 3);
}

TEST_F(RiskHandlerTest, DeclinesOlderThanADayNoLongerCount) {
    for (int n = 1; n <= 3; ++n) {
        handler_.OnPaymentFailed(Failed(NthPayment(n), FailureCode::kProviderDecline, "cust-1"));
    }
    clock_.Advance(25h);

    Handle(Requested(kPayment, 1000));

    EXPECT_EQ(store_.Decisions().at(kPayment).verdict, Verdict::kApprove);
}

TEST_F(RiskHandlerTest, ADeclineWithoutACustomerIsIgnored) {
    handler_.OnPaymentFailed(Failed(NthPayment(1), FailureCode::kProviderDecline, ""));

    Handle(Requested(kPayment, 1000, "cust-1"));

    EXPECT_EQ(store_.Decisions().at(kPayment).counts.failed_attempts, 0);
}

TEST_F(RiskHandlerTest, APaymentRequestThatIsNotOneIsRefusedForGoodAndChangesNothing) {
    Envelope no_customer = Requested(kPayment, 1000);
    no_customer.payload.erase("customer_id");
    Envelope bad_currency = Requested(kPayment, 1000);
    bad_currency.payload["currency"] = "usd";
    Envelope zero_amount = Requested(kPayment, 1000);
    zero_amount.payload["amount_cents"] = 0;
    Envelope text_amount = Requested(kPayment, 1000);
    text_amount.payload["amount_cents"] = "1000";
    Envelope not_a_payment = Requested(PaymentId("not-a-uuid"), 1000);
    Envelope wrong_topic = Requested(kPayment, 1000);
    wrong_topic.event_type = "payments.captured";

    for (const Envelope* event :
         {&no_customer, &bad_currency, &zero_amount, &text_amount, &not_a_payment, &wrong_topic}) {
        SCOPED_TRACE(event->payload.dump() + " " + event->aggregate_id);
        EXPECT_THROW(handler_.OnPaymentRequested(store_, outbox_, *event), PermanentEventError);
    }
    EXPECT_TRUE(store_.Decisions().empty());
    EXPECT_EQ(outbox_.Size(), 0U);
    EXPECT_EQ(
        velocity_.RecordAndCount(CustomerId("cust-1"), NthPayment(99), clock_.Now())
            .payments_last_hour,
        1
    );
}

TEST_F(RiskHandlerTest, AFailedEventThatDoesNotDecodeIsRefusedForGood) {
    Envelope bad = Failed(NthPayment(1), FailureCode::kProviderDecline, "cust-1");
    bad.payload["customer_id"] = 42;

    EXPECT_THROW(handler_.OnPaymentFailed(bad), PermanentEventError);
}

TEST(InMemoryVelocityCounter, CountsOncePerPaymentOverSlidingWindows) {
    InMemoryVelocityCounter counter(1h, 24h);
    const CustomerId customer("c");
    const Clock::TimePoint t0 = testing::FakeClock::kStart;

    EXPECT_EQ(counter.RecordAndCount(customer, PaymentId("p1"), t0).payments_last_hour, 1);
    EXPECT_EQ(counter.RecordAndCount(customer, PaymentId("p1"), t0 + 1s).payments_last_hour, 1);
    EXPECT_EQ(counter.RecordAndCount(customer, PaymentId("p2"), t0 + 30min).payments_last_hour, 2);
    EXPECT_EQ(counter.RecordAndCount(customer, PaymentId("p3"), t0 + 1h).payments_last_hour, 2);
    counter.RecordFailure(customer, PaymentId("p1"), t0);
    counter.RecordFailure(customer, PaymentId("p1"), t0 + 1s);
    EXPECT_EQ(counter.RecordAndCount(customer, PaymentId("p4"), t0 + 2h).failed_attempts, 1);
    EXPECT_EQ(counter.RecordAndCount(customer, PaymentId("p5"), t0 + 24h).failed_attempts, 0);
}

}  // namespace
}  // namespace sagapay::risk
