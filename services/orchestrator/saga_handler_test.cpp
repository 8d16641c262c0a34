#include "services/orchestrator/saga_handler.hpp"

#include <gtest/gtest.h>

#include "runtime/event_consumer.hpp"
#include "services/orchestrator/in_memory_payment_store.hpp"
#include "testing/fake_clock.hpp"
#include "testing/recording_outbox.hpp"

namespace sagapay::orchestrator {
namespace {

using S = PaymentStatus;

const PaymentId kPayment{"0b6c1a52-7a4e-4a57-9d6f-6b1f1d2c3e4f"};
const Money kAmount{2500, *Currency::Parse("EUR")};

class RecordingObserver final : public SagaObserver {
public:
    void Ignored(std::string_view topic) override { ignored.emplace_back(topic); }
    void Finished(PaymentStatus terminal, double age_seconds, std::string_view reason) override {
        finished.emplace_back(terminal, age_seconds);
        reasons.emplace_back(reason);
    }
    std::vector<std::string> ignored;
    std::vector<std::string> reasons;
    std::vector<std::pair<PaymentStatus, double>> finished;
};

class SagaHandlerTest : public ::testing::Test {
protected:
    void Given(S status, double age_seconds = 1.5) {
        store_.Add(
            PaymentSnapshot{kPayment, CustomerId("cust-9"), kAmount, status, 4}, age_seconds
        );
    }

    Envelope Event(const SagaEvent& event, const PaymentId& payment = kPayment) {
        Envelope envelope = NewEnvelope(event, payment, "trace-7", clock_);
        return envelope;
    }

    void Handle(const Envelope& event) { handler_.Handle(store_, outbox_, event); }

    testing::FakeClock clock_;
    RecordingObserver observer_;
    SagaHandler handler_{clock_, observer_};
    InMemoryPaymentStore store_;
    testing::RecordingOutbox outbox_;
};

RiskApproved Approve(std::string reason = "rule_passed") {
    RiskApproved e;
    e.decision = Verdict::kApprove;
    e.reason = std::move(reason);
    e.customer_id = CustomerId("cust-9");
    return e;
}

TEST_F(SagaHandlerTest, AppliesTheStepAndEmitsTheNextRequestInTheSameUnitOfWork) {
    Given(S::kCreated);
    const Envelope event = Event(Approve());

    Handle(event);

    EXPECT_EQ(store_.StatusOf(kPayment), S::kApproved);
    ASSERT_EQ(store_.Timeline().size(), 1U);
    EXPECT_EQ(store_.Timeline()[0].reason, "risk_approved");
    EXPECT_EQ(store_.Timeline()[0].event_id, EventId(event.event_id));
    // Still pending: it leaves only if the unit of work commits.
    ASSERT_EQ(outbox_.Pending().size(), 1U);
    const Envelope& emitted = outbox_.Pending()[0];
    EXPECT_EQ(emitted.aggregate_id, kPayment.Value());
    EXPECT_EQ(emitted.trace_id, "trace-7");  // the trace follows the payment
    EXPECT_EQ(emitted.occurred_at, FormatIsoUtc(clock_.Now()));
    EXPECT_EQ(
        outbox_.Only<AuthorizeRequested>().facts, (PaymentFacts{CustomerId("cust-9"), kAmount})
    );
}

TEST_F(SagaHandlerTest, ReportsATerminalStateOnlyAfterCommit) {
    Given(S::kCaptured, 2.25);

    Handle(Event(PaymentSettled{"tx-1", kAmount}));

    EXPECT_EQ(store_.StatusOf(kPayment), S::kSettled);
    EXPECT_TRUE(observer_.finished.empty());
    outbox_.Commit();
    ASSERT_EQ(observer_.finished.size(), 1U);
    EXPECT_EQ(observer_.finished[0].first, S::kSettled);
    EXPECT_DOUBLE_EQ(observer_.finished[0].second, 2.25);
    EXPECT_EQ(observer_.reasons, std::vector<std::string>{""}) << "a settlement has no reason";
}

TEST_F(SagaHandlerTest, ARolledBackUnitOfWorkReportsNothing) {
    Given(S::kCaptured);
    Handle(Event(PaymentSettled{"tx-1", kAmount}));

    outbox_.Rollback();

    EXPECT_TRUE(observer_.finished.empty());
    EXPECT_EQ(outbox_.Size(), 0U);
}

TEST_F(SagaHandlerTest, ATimeoutFailsAndReversesWithACompensationEvent) {
    Given(S::kAuthorized);
    PaymentFailed failed;
    failed.error_code = FailureCode::kProviderTimeout;
    failed.error_code_text = "PROVIDER_TIMEOUT";
    const Envelope event = Event(failed);

    Handle(event);
    outbox_.Commit();

    EXPECT_EQ(store_.StatusOf(kPayment), S::kReversed);
    ASSERT_EQ(store_.Timeline().size(), 2U);
    EXPECT_EQ(store_.Timeline()[0].to, S::kFailed);
    EXPECT_EQ(store_.Timeline()[1].to, S::kReversed);
    const auto reversed = outbox_.Only<PaymentReversed>();
    EXPECT_EQ(reversed.source_event_id, EventId(event.event_id));
    EXPECT_EQ(reversed.facts.amount, kAmount);
    ASSERT_EQ(observer_.finished.size(), 1U);
    EXPECT_EQ(observer_.finished[0].first, S::kReversed);
    EXPECT_EQ(observer_.reasons, std::vector<std::string>{"PROVIDER_TIMEOUT"});
}

TEST_F(SagaHandlerTest, AnEventThatNoLongerFitsChangesNothingAndIsCounted) {
    Given(S::kSettled);

    Handle(Event(Approve()));
    EXPECT_TRUE(observer_.ignored.empty());  // counted only once committed
    outbox_.Commit();

    EXPECT_EQ(store_.StatusOf(kPayment), S::kSettled);
    EXPECT_TRUE(store_.Timeline().empty());
    EXPECT_EQ(outbox_.Size(), 0U);
    EXPECT_EQ(observer_.ignored, std::vector<std::string>{"risk.approved"});
}

TEST_F(SagaHandlerTest, AnEventForAnUnknownPaymentIsAcknowledgedAndCounted) {
    Handle(Event(Approve(), PaymentId("5d3f5a0e-0000-4000-8000-000000000001")));
    outbox_.Commit();

    EXPECT_EQ(outbox_.Size(), 0U);
    EXPECT_EQ(observer_.ignored, std::vector<std::string>{"risk.approved"});
}

TEST_F(SagaHandlerTest, AMalformedPayloadIsAPermanentErrorNamingTheField) {
    Given(S::kCreated);
    Envelope event = Event(Approve());
    event.payload.erase("decision");

    try {
        Handle(event);
        FAIL() << "expected PermanentEventError";
    } catch (const PermanentEventError& e) {
        EXPECT_NE(std::string(e.what()).find("decision"), std::string::npos) << e.what();
    }
    EXPECT_EQ(store_.StatusOf(kPayment), S::kCreated);
    EXPECT_EQ(outbox_.Size(), 0U);
}

TEST_F(SagaHandlerTest, ARedeliveredEventAfterTheStepIsIgnored) {
    Given(S::kCreated);
    const Envelope event = Event(Approve());
    Handle(event);
    outbox_.Commit();

    Handle(event);  // the bus redelivers (the inbox missed it, e.g. another consumer group)
    outbox_.Commit();

    EXPECT_EQ(store_.Timeline().size(), 1U);
    EXPECT_EQ(outbox_.On(topics::kProviderAuthorizeRequested).size(), 1U);
    EXPECT_EQ(observer_.ignored, std::vector<std::string>{"risk.approved"});
}

TEST_F(SagaHandlerTest, AManualReviewRunsTheWholeDecisionPath) {
    Given(S::kCreated);
    RiskDenied review;
    review.decision = Verdict::kReview;
    review.reason = "high_amount";
    Handle(Event(review));
    EXPECT_EQ(store_.StatusOf(kPayment), S::kRiskReview);

    RiskDenied deny;
    deny.decision = Verdict::kDeny;
    deny.reason = "manual_deny";
    deny.review = ManualReview{"ops@example", "", "DENIED"};
    Handle(Event(deny));
    outbox_.Commit();

    EXPECT_EQ(store_.StatusOf(kPayment), S::kFailed);
    const auto failed = outbox_.Only<PaymentFailed>();
    EXPECT_EQ(failed.error_code, FailureCode::kManualDeny);
    EXPECT_TRUE(failed.from_orchestrator);
    ASSERT_EQ(observer_.finished.size(), 1U);
    EXPECT_EQ(observer_.finished[0].first, S::kFailed);
    EXPECT_EQ(observer_.reasons, std::vector<std::string>{"MANUAL_DENY"});
}

TEST_F(SagaHandlerTest, TwoRefundsSettleThePaymentAndARefundIsNotASecondEnding) {
    PaymentSnapshot settled{kPayment, CustomerId("cust-9"), kAmount, S::kSettled, 4};
    settled.captured_minor = 2500;
    store_.Add(settled);
    store_.AddRefund(kPayment, {"r-1", Money{1000, kAmount.currency}, RefundStatus::kPending, "a"});
    store_.AddRefund(kPayment, {"r-2", Money{1500, kAmount.currency}, RefundStatus::kPending, "b"});

    const auto completed = [](std::string id, std::int64_t amount) {
        return RefundCompleted{std::move(id), Money{amount, kAmount.currency}, true, "", 5};
    };
    Handle(Event(completed("r-1", 1000)));
    EXPECT_EQ(store_.StatusOf(kPayment), S::kPartiallyRefunded);
    EXPECT_EQ(store_.RefundStatusOf("r-1"), RefundStatus::kSucceeded);
    EXPECT_EQ(store_.SnapshotOf(kPayment).refunded_minor, 1000);

    // A redelivery of the first changes nothing more.
    Handle(Event(completed("r-1", 1000)));
    outbox_.Commit();
    EXPECT_EQ(store_.SnapshotOf(kPayment).refunded_minor, 1000);
    EXPECT_EQ(observer_.ignored, std::vector<std::string>{"provider.refund.completed"});

    Handle(Event(completed("r-2", 1500)));
    EXPECT_EQ(store_.StatusOf(kPayment), S::kRefunded);
    EXPECT_EQ(store_.SnapshotOf(kPayment).refunded_minor, 2500);
    outbox_.Commit();
    EXPECT_EQ(outbox_.On("payments.refunded").size(), 2U);
    EXPECT_EQ(outbox_.Published().size(), 2U);
    // The payment ended when it settled: its refunds are not counted as endings again.
    EXPECT_TRUE(observer_.finished.empty());
}

TEST_F(SagaHandlerTest, AFailedRefundFreesItsReservation) {
    PaymentSnapshot settled{kPayment, CustomerId("cust-9"), kAmount, S::kSettled, 4};
    settled.captured_minor = 2500;
    store_.Add(settled);
    store_.AddRefund(kPayment, {"r-1", Money{1000, kAmount.currency}, RefundStatus::kPending, "a"});
    EXPECT_EQ(store_.SnapshotOf(kPayment).refund_reserved_minor, 1000);

    Handle(Event(RefundCompleted{"r-1", Money{1000, kAmount.currency}, false, "refused", 5}));
    EXPECT_EQ(store_.StatusOf(kPayment), S::kSettled);
    EXPECT_EQ(store_.RefundStatusOf("r-1"), RefundStatus::kFailed);
    EXPECT_EQ(store_.SnapshotOf(kPayment).refund_reserved_minor, 0);
    EXPECT_EQ(outbox_.Only<RefundFailed>().reason, "refused");
    EXPECT_EQ(outbox_.Pending().size(), 1U);
}

}  // namespace
}  // namespace sagapay::orchestrator
