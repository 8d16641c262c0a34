#include "services/orchestrator/payment_saga.hpp"

#include <gtest/gtest.h>

namespace sagapay::orchestrator {
namespace {

using S = PaymentStatus;

const Money kAmount{1500, *Currency::Parse("USD")};

PaymentSnapshot Payment(S status) {
    return PaymentSnapshot{PaymentId("p-1"), CustomerId("cust-1"), kAmount, status, 3};
}

/// The event as a consumer gets it: decoded from the wire payload (plus what every event of the
/// topic carries), so these cases also pin the field names the saga reads.
SagaEvent Event(std::string type, nlohmann::json payload = nlohmann::json::object()) {
    Envelope e;
    e.event_id = "e-1";
    e.event_type = std::move(type);
    e.aggregate_id = "p-1";
    e.trace_id = "t-1";
    if (e.event_type == "risk.approved" && !payload.contains("decision")) {
        payload["decision"] = "APPROVE";
    }
    if (e.event_type == "provider.capture.completed" || e.event_type == "payments.settled" ||
        e.event_type == "payments.requested") {
        payload.emplace("amount_cents", 1500);  // unless the case gives its own
        payload.emplace("currency", "USD");
        payload["customer_id"] = "cust-1";
    }
    e.payload = std::move(payload);
    auto decoded = DecodeSagaEvent(e);
    EXPECT_TRUE(decoded.has_value()) << e.event_type << ": " << decoded.error().message;
    return decoded ? *decoded : SagaEvent{};
}

Plan PlanFor(const PaymentSnapshot& payment, const SagaEvent& event) {
    return orchestrator::PlanFor(payment, event, EventId("e-1"));
}

struct Case {
    S from;
    SagaEvent event;
    std::vector<S> to;
    std::vector<std::string> emits;
};

TEST(PaymentSaga, DrivesEveryPath) {
    const Case cases[] = {
        {S::kCreated,
         Event("risk.approved", {{"decision", "APPROVE"}}),
         {S::kApproved},
         {"provider.authorize.requested"}},
        {S::kRiskReview,
         Event("risk.approved", {{"reason", "manual_approve"}}),
         {S::kApproved},
         {"provider.authorize.requested"}},
        {S::kCreated,
         Event("risk.denied", {{"decision", "REVIEW"}, {"reason", "high_amount"}}),
         {S::kRiskReview},
         {}},
        {S::kCreated,
         Event("risk.denied", {{"decision", "DENY"}, {"reason", "high_frequency"}}),
         {S::kFailed},
         {"payments.failed"}},
        {S::kRiskReview,
         Event("risk.denied", {{"decision", "DENY"}, {"reason", "manual_deny"}}),
         {S::kFailed},
         {"payments.failed"}},
        {S::kApproved,
         Event("payments.authorized"),
         {S::kAuthorized},
         {"provider.capture.requested"}},
        {S::kAuthorized,
         Event("provider.capture.completed"),
         {S::kCaptured},
         {"payments.captured"}},
        // Automatic capture: the provider captured right after authorizing.
        {S::kApproved,
         Event("payments.authorized", {{"capture_follows", true}}),
         {S::kAuthorized},
         {}},
        {S::kApproved,
         Event("provider.capture.completed"),
         {S::kAuthorized, S::kCaptured},
         {"payments.captured"}},
        {S::kCaptured, Event("payments.settled"), {S::kSettled}, {}},
        {S::kApproved,
         Event("payments.failed", {{"error_code", "PROVIDER_DECLINE"}}),
         {S::kFailed},
         {}},
        {S::kApproved,
         Event("payments.failed", {{"error_code", "PROVIDER_TIMEOUT"}}),
         {S::kFailed, S::kReversed},
         {"payments.reversed"}},
        {S::kAuthorized,
         Event("payments.failed", {{"error_code", "PROVIDER_TIMEOUT"}}),
         {S::kFailed, S::kReversed},
         {"payments.reversed"}},
        // The PSP refused the capture and the provider released the authorization.
        {S::kAuthorized,
         Event("payments.failed", {{"error_code", "PROVIDER_CAPTURE_REFUSED"}}),
         {S::kFailed},
         {}},
    };
    for (const Case& c : cases) {
        const Plan plan = PlanFor(Payment(c.from), c.event);

        const std::string_view topic = TopicOf(c.event);
        ASSERT_FALSE(plan.Ignored())
            << topic << " from " << ToString(c.from) << ": " << plan.ignored_because;
        ASSERT_EQ(plan.steps.size(), c.to.size()) << topic;
        S at = c.from;
        for (std::size_t i = 0; i < c.to.size(); ++i) {
            EXPECT_EQ(plan.steps[i].to, c.to[i]) << topic;
            EXPECT_TRUE(CanTransition(at, plan.steps[i].to)) << topic;
            EXPECT_FALSE(plan.steps[i].reason.empty());
            at = plan.steps[i].to;
        }
        ASSERT_EQ(plan.emits.size(), c.emits.size()) << topic;
        for (std::size_t i = 0; i < c.emits.size(); ++i) {
            EXPECT_EQ(TopicOf(plan.emits[i]), c.emits[i]);
        }
    }
}

TEST(PaymentSaga, IgnoresEventsThatNoLongerFitTheState) {
    const std::pair<S, SagaEvent> cases[] = {
        {S::kApproved, Event("risk.approved")},
        {S::kSettled, Event("risk.approved")},
        {S::kRiskReview, Event("risk.denied", {{"decision", "REVIEW"}})},
        {S::kFailed, Event("risk.denied", {{"decision", "DENY"}})},
        {S::kCreated, Event("payments.authorized")},
        {S::kAuthorized, Event("payments.authorized")},
        {S::kCreated, Event("provider.capture.completed")},
        {S::kCaptured, Event("provider.capture.completed")},
        {S::kSettled, Event("payments.settled")},
        {S::kAuthorized, Event("payments.settled")},
        {S::kFailed, Event("payments.failed", {{"error_code", "PROVIDER_TIMEOUT"}})},
        {S::kSettled, Event("payments.failed", {{"error_code", "PROVIDER_DECLINE"}})},
        {S::kFailed, Event("payments.failed", {{"source", "orchestrator"}})},
        {S::kCreated, Event("payments.requested")},
    };
    for (const auto& [status, event] : cases) {
        const Plan plan = PlanFor(Payment(status), event);

        EXPECT_TRUE(plan.Ignored()) << TopicOf(event) << " from " << ToString(status);
        EXPECT_TRUE(plan.steps.empty());
        EXPECT_TRUE(plan.emits.empty());
    }
}

TEST(PaymentSaga, AnAuthorizationOrCaptureThatArrivesAfterTheEndIsReleased) {
    // Finding 2: a payment the customer was told FAILED or REVERSED never keeps a hold or a
    // capture: the saga changes nothing and asks the provider to void or refund.
    for (const S final_state : {S::kFailed, S::kReversed}) {
        for (const SagaEvent& late :
             {Event("payments.authorized"), Event("provider.capture.completed")}) {
            const Plan plan = PlanFor(Payment(final_state), late);

            ASSERT_FALSE(plan.Ignored()) << TopicOf(late) << " in " << ToString(final_state);
            EXPECT_TRUE(plan.steps.empty());
            ASSERT_EQ(plan.emits.size(), 1U);
            const auto* release = std::get_if<ReleaseRequested>(&plan.emits[0]);
            ASSERT_NE(release, nullptr);
            EXPECT_EQ(release->facts, Payment(final_state).Facts());
            EXPECT_NE(release->reason.find(TopicOf(late)), std::string::npos);
        }
    }
    // A settled payment's late duplicate is only a duplicate.
    EXPECT_TRUE(PlanFor(Payment(S::kSettled), Event("payments.authorized")).Ignored());
}

TEST(PaymentSaga, CarriesThePaymentFactsToTheProvider) {
    const Plan plan = PlanFor(Payment(S::kCreated), Event("risk.approved"));

    ASSERT_EQ(plan.emits.size(), 1U);
    const auto& request = std::get<AuthorizeRequested>(plan.emits[0]);
    EXPECT_EQ(request.facts.amount, kAmount);
    EXPECT_EQ(request.facts.customer_id, CustomerId("cust-1"));
    EXPECT_TRUE(request.capture_on_authorize);  // automatic capture, the default
}

TEST(PaymentSaga, TellsWhyAPaymentFailedAndWhatTheReversalCompensates) {
    const Plan denied = PlanFor(
        Payment(S::kCreated),
        Event("risk.denied", {{"decision", "DENY"}, {"reason", "high_frequency"}})
    );
    ASSERT_EQ(denied.emits.size(), 1U);
    const auto& failed = std::get<PaymentFailed>(denied.emits[0]);
    EXPECT_EQ(failed.error_code, FailureCode::kRiskDenied);
    EXPECT_EQ(failed.reason, "high_frequency");
    EXPECT_TRUE(failed.from_orchestrator);
    EXPECT_EQ(failed.amount, kAmount);

    const Plan manual = PlanFor(
        Payment(S::kRiskReview),
        Event("risk.denied", {{"decision", "DENY"}, {"reason", "manual_deny"}})
    );
    EXPECT_EQ(std::get<PaymentFailed>(manual.emits.at(0)).error_code, FailureCode::kManualDeny);
    EXPECT_EQ(manual.steps.at(0).reason, "manual_deny");

    const Plan timeout = PlanFor(
        Payment(S::kAuthorized), Event("payments.failed", {{"error_code", "PROVIDER_TIMEOUT"}})
    );
    const auto& reversed = std::get<PaymentReversed>(timeout.emits.at(0));
    EXPECT_EQ(reversed.source_event_id, EventId("e-1"));
    EXPECT_EQ(reversed.facts.amount, kAmount);

    const Plan unknown = PlanFor(Payment(S::kApproved), Event("payments.failed"));
    EXPECT_EQ(unknown.steps.at(0).reason, "provider_failed:UNKNOWN");
}

TEST(PaymentSaga, CaptureRequestCarriesTheAuthorization) {
    const Plan plan = PlanFor(
        Payment(S::kApproved), Event("payments.authorized", {{"authorization_id", "au-1"}})
    );
    EXPECT_EQ(std::get<CaptureRequested>(plan.emits.at(0)).authorization_id, "au-1");
}

TEST(PaymentSaga, ReportsTheTerminalStateReached) {
    EXPECT_EQ(PlanFor(Payment(S::kCaptured), Event("payments.settled")).Terminal(), S::kSettled);
    EXPECT_EQ(
        PlanFor(
            Payment(S::kApproved), Event("payments.failed", {{"error_code", "PROVIDER_TIMEOUT"}})
        ).Terminal(),
        S::kReversed
    );
    EXPECT_FALSE(PlanFor(Payment(S::kCreated), Event("risk.approved")).Terminal().has_value());
}

TEST(PaymentSaga, SweeperReemitsTheStepEachWaitingStateNeeds) {
    EXPECT_EQ(TopicOf(*PendingStepRequest(Payment(S::kCreated))), "payments.requested");
    EXPECT_EQ(TopicOf(*PendingStepRequest(Payment(S::kApproved))), "provider.authorize.requested");
    EXPECT_EQ(TopicOf(*PendingStepRequest(Payment(S::kAuthorized))), "provider.capture.requested");
    EXPECT_EQ(TopicOf(*PendingStepRequest(Payment(S::kCaptured))), "payments.captured");
    EXPECT_EQ(TopicOf(*PendingStepRequest(Payment(S::kRiskReview))), "payments.requested");
    EXPECT_FALSE(PendingStepRequest(Payment(S::kSettled)).has_value());
    EXPECT_FALSE(PendingStepRequest(Payment(S::kFailed)).has_value());
    EXPECT_FALSE(PendingStepRequest(Payment(S::kReversed)).has_value());
}

PaymentSnapshot Manual(S status, std::int64_t capture_amount = 0) {
    PaymentSnapshot payment = Payment(status);
    payment.capture_method = CaptureMethod::kManual;
    payment.capture_amount_minor = capture_amount;
    return payment;
}

PaymentSnapshot Settled(std::int64_t captured, std::int64_t reserved, std::int64_t refunded) {
    PaymentSnapshot payment = Payment(refunded > 0 ? S::kPartiallyRefunded : S::kSettled);
    payment.captured_minor = captured;
    payment.refund_reserved_minor = reserved;
    payment.refunded_minor = refunded;
    return payment;
}

TEST(PaymentSaga, AManualCaptureAuthorizationWaitsForTheMerchant) {
    const Plan plan = PlanFor(Manual(S::kApproved), Event("payments.authorized"));
    ASSERT_EQ(plan.steps.size(), 1U);
    EXPECT_EQ(plan.steps[0].to, S::kAuthorized);
    EXPECT_EQ(plan.steps[0].reason, "provider_authorized_awaiting_capture");
    EXPECT_TRUE(plan.emits.empty());
    // Waiting on the merchant is not being stuck: the sweeper re-emits nothing.
    EXPECT_FALSE(PendingStepRequest(Manual(S::kAuthorized)).has_value());
    // Once a capture is asked for, the sweeper re-drives it with its amount.
    const auto redrive = PendingStepRequest(Manual(S::kAuthorized, 900));
    ASSERT_TRUE(redrive.has_value());
    EXPECT_EQ(std::get<CaptureRequested>(*redrive).ToCapture().amount_minor, 900);
}

TEST(PaymentSaga, APartialCaptureAsksForItsAmountAndRecordsWhatWasCaptured) {
    const CommandPlan capture = PlanCapture(Manual(S::kAuthorized), 900);
    ASSERT_FALSE(capture.refused.has_value());
    EXPECT_FALSE(capture.replay);
    EXPECT_EQ(capture.plan.capture_amount_minor, 900);
    EXPECT_EQ(capture.plan.notes, std::vector<std::string>{"capture_requested:900"});
    const auto& request = std::get<CaptureRequested>(capture.plan.emits.at(0));
    EXPECT_EQ(request.capture_amount_minor, 900);
    EXPECT_EQ(request.facts.amount, kAmount);

    // The PSP's answer: the payment is CAPTURED with 900 and the ledger settles 900.
    const Plan captured = PlanFor(
        Manual(S::kAuthorized, 900),
        Event("provider.capture.completed", {{"amount_cents", 900}, {"currency", "USD"}})
    );
    EXPECT_EQ(captured.captured_minor, 900);
    EXPECT_EQ(std::get<PaymentCaptured>(captured.emits.at(0)).facts.amount.amount_minor, 900);

    // A capture of everything asks for no amount: the PSP captures the authorization.
    EXPECT_EQ(
        std::get<CaptureRequested>(PlanCapture(Manual(S::kAuthorized), std::nullopt).plan.emits[0])
            .capture_amount_minor,
        0
    );
}

TEST(PaymentSaga, ACaptureCompletedWithAnImpossibleAmountRecordsTheAmountAskedFor) {
    const Plan more = PlanFor(
        Manual(S::kAuthorized, 900),
        Event("provider.capture.completed", {{"amount_cents", 999999}, {"currency", "USD"}})
    );
    EXPECT_EQ(more.captured_minor, 900);
    // Event() sets amount 1500 USD for this topic: an automatic payment captures all of it.
    EXPECT_EQ(
        PlanFor(Payment(S::kAuthorized), Event("provider.capture.completed")).captured_minor, 1500
    );
}

TEST(PaymentSaga, CaptureIsIdempotentAndRefusedWhereItCannotHappen) {
    EXPECT_TRUE(PlanCapture(Manual(S::kAuthorized, 900), 900).replay);
    EXPECT_TRUE(PlanCapture(Manual(S::kSettled, 900), std::nullopt).replay);
    EXPECT_EQ(
        PlanCapture(Manual(S::kAuthorized, 900), 800).refused->code, "capture_already_requested"
    );
    EXPECT_EQ(PlanCapture(Manual(S::kAuthorized), 1501).refused->http_status, 422);
    EXPECT_EQ(PlanCapture(Manual(S::kApproved), 100).refused->code, "payment_not_authorized");
    EXPECT_EQ(PlanCapture(Manual(S::kReversed), 100).refused->code, "payment_not_capturable");
    EXPECT_EQ(PlanCapture(Payment(S::kAuthorized), 100).refused->code, "capture_not_manual");
}

TEST(PaymentSaga, CancelVoidsAnUncapturedAuthorizationOnce) {
    const CommandPlan cancel = PlanCancel(Manual(S::kAuthorized), "canceled");
    ASSERT_FALSE(cancel.refused.has_value());
    ASSERT_EQ(cancel.plan.steps.size(), 1U);
    EXPECT_EQ(cancel.plan.steps[0].to, S::kReversed);
    EXPECT_EQ(cancel.plan.steps[0].reason, "canceled");
    ASSERT_EQ(cancel.plan.emits.size(), 2U);
    EXPECT_EQ(TopicOf(cancel.plan.emits[0]), "provider.release.requested");
    EXPECT_EQ(TopicOf(cancel.plan.emits[1]), "payments.reversed");
    EXPECT_EQ(std::get<PaymentReversed>(cancel.plan.emits[1]).reason, "canceled");

    EXPECT_TRUE(PlanCancel(Manual(S::kReversed), "canceled").replay);
    EXPECT_EQ(
        PlanCancel(Manual(S::kAuthorized, 900), "canceled").refused->code, "capture_in_progress"
    );
    EXPECT_EQ(
        PlanCancel(Manual(S::kSettled, 900), "canceled").refused->code, "payment_not_cancelable"
    );
    EXPECT_EQ(
        PlanCancel(Payment(S::kAuthorized), "canceled").refused->code, "payment_not_cancelable"
    );
    EXPECT_EQ(
        PlanCancel(Manual(S::kAuthorized), "authorization_expired").plan.steps[0].reason,
        "authorization_expired"
    );
}

TEST(PaymentSaga, RefundsNeverExceedWhatWasCaptured) {
    const CommandPlan first = PlanRefund(Settled(900, 0, 0), "r-1", 400, "duplicate");
    ASSERT_FALSE(first.refused.has_value());
    const auto& request = std::get<RefundRequested>(first.plan.emits.at(0));
    EXPECT_EQ(request.refund_id, "r-1");
    EXPECT_EQ(request.amount.amount_minor, 400);
    EXPECT_EQ(request.reason, "duplicate");
    EXPECT_EQ(first.plan.notes, std::vector<std::string>{"refund_requested:r-1"});

    // 400 pending + 500 more is the whole 900; one cent more is refused.
    EXPECT_FALSE(PlanRefund(Settled(900, 400, 0), "r-2", 500, "x").refused.has_value());
    const CommandPlan beyond = PlanRefund(Settled(900, 400, 0), "r-2", 501, "x");
    ASSERT_TRUE(beyond.refused.has_value());
    EXPECT_EQ(beyond.refused->code, "refund_exceeds_captured");
    // No amount: all that is left.
    EXPECT_EQ(
        std::get<RefundRequested>(
            PlanRefund(Settled(900, 400, 400), "r-3", std::nullopt, "x").plan.emits[0]
        )
            .amount.amount_minor,
        500
    );
    EXPECT_EQ(
        PlanRefund(Settled(900, 900, 400), "r-4", std::nullopt, "x").refused->code,
        "refund_exceeds_captured"
    );
    EXPECT_EQ(PlanRefund(Payment(S::kCaptured), "r", 1, "x").refused->code, "payment_not_settled");
    EXPECT_EQ(PlanRefund(Payment(S::kFailed), "r", 1, "x").refused->code, "payment_not_refundable");
    EXPECT_EQ(
        PlanRefund(Payment(S::kRefunded), "r", 1, "x").refused->code, "payment_fully_refunded"
    );
}

TEST(PaymentSaga, ARefundThatSucceedsMovesTheStatusByWhatIsLeft) {
    const RefundSnapshot pending{
        "r-1", Money{400, kAmount.currency}, RefundStatus::kPending, "dup"};
    const SagaEvent succeeded = Event(
        "provider.refund.completed",
        {{"refund_id", "r-1"}, {"amount_cents", 400}, {"currency", "USD"}, {"status", "SUCCEEDED"}}
    );
    const Plan partial =
        orchestrator::PlanFor(Settled(900, 400, 0), succeeded, EventId("e"), &pending);
    ASSERT_EQ(partial.steps.size(), 1U);
    EXPECT_EQ(partial.steps[0].to, S::kPartiallyRefunded);
    EXPECT_TRUE(partial.refund->succeeded);
    const auto& refunded = std::get<PaymentRefunded>(partial.emits.at(0));
    EXPECT_EQ(refunded.refunded_total_minor, 400);
    EXPECT_EQ(refunded.captured_minor, 900);
    EXPECT_EQ(refunded.reason, "dup");

    // A second partial refund changes no status: a timeline note.
    const Plan second =
        orchestrator::PlanFor(Settled(900, 800, 400), succeeded, EventId("e"), &pending);
    EXPECT_TRUE(second.steps.empty());
    EXPECT_EQ(second.notes, std::vector<std::string>{"refund_succeeded:r-1"});

    // The last one: REFUNDED.
    const Plan last =
        orchestrator::PlanFor(Settled(900, 900, 500), succeeded, EventId("e"), &pending);
    EXPECT_EQ(last.steps.at(0).to, S::kRefunded);
    EXPECT_EQ(std::get<PaymentRefunded>(last.emits.at(0)).refunded_total_minor, 900);
}

TEST(PaymentSaga, ARefundThatFailsIsAnnouncedAndARefundEndsOnce) {
    const RefundSnapshot pending{
        "r-1", Money{400, kAmount.currency}, RefundStatus::kPending, "dup"};
    const SagaEvent failed = Event(
        "provider.refund.completed",
        {{"refund_id", "r-1"},
         {"amount_cents", 400},
         {"currency", "USD"},
         {"status", "FAILED"},
         {"failure_reason", "refund_exceeds_captured"}}
    );
    const Plan plan = orchestrator::PlanFor(Settled(900, 400, 0), failed, EventId("e"), &pending);
    EXPECT_TRUE(plan.steps.empty());
    EXPECT_FALSE(plan.refund->succeeded);
    EXPECT_EQ(std::get<RefundFailed>(plan.emits.at(0)).reason, "refund_exceeds_captured");

    RefundSnapshot done = pending;
    done.status = RefundStatus::kSucceeded;
    EXPECT_TRUE(orchestrator::PlanFor(Settled(900, 400, 400), failed, EventId("e"), &done).Ignored()
    );
    EXPECT_TRUE(orchestrator::PlanFor(Settled(900, 400, 0), failed, EventId("e"), nullptr).Ignored()
    );
}

TEST(PaymentSaga, AnUnknownRefundOutcomeNeverReadsAsSuccess) {
    Envelope e;
    e.event_id = "e-1";
    e.event_type = "provider.refund.completed";
    e.aggregate_id = "p-1";
    e.payload = {
        {"refund_id", "r-1"}, {"amount_cents", 400}, {"currency", "USD"}, {"status", "MAYBE"}};
    EXPECT_FALSE(DecodeSagaEvent(e).has_value());
}

TEST(PaymentSaga, AutomaticCaptureLetsTheProviderCaptureOnAuthorization) {
    // Asked for in the authorization request, and again by the sweeper.
    EXPECT_TRUE(std::get<AuthorizeRequested>(*PendingStepRequest(Payment(S::kApproved)))
                    .capture_on_authorize);
    const Plan manual_approval = PlanFor(Manual(S::kCreated), Event("risk.approved"));
    EXPECT_FALSE(std::get<AuthorizeRequested>(manual_approval.emits.at(0)).capture_on_authorize);
    EXPECT_FALSE(
        std::get<AuthorizeRequested>(*PendingStepRequest(Manual(S::kApproved))).capture_on_authorize
    );

    // The capture announced with the authorization: its capture.completed (committed with it)
    // does everything, whatever the payment's state; the authorization is neither a step nor
    // stale, and asks for no capture and no release.
    for (const S status : {S::kApproved, S::kAuthorized, S::kCaptured, S::kSettled, S::kFailed}) {
        const Plan plan = PlanFor(
            Payment(status),
            Event("payments.authorized", {{"capture_follows", true}, {"captured", true}})
        );
        EXPECT_FALSE(plan.Ignored()) << ToString(status);
        EXPECT_TRUE(plan.steps.empty()) << ToString(status);
        EXPECT_TRUE(plan.emits.empty()) << ToString(status);
    }

    // The capture.completed that overtook its payments.authorized: both steps, the amount.
    const Plan captured = PlanFor(Payment(S::kApproved), Event("provider.capture.completed"));
    ASSERT_EQ(captured.steps.size(), 2U);
    EXPECT_EQ(captured.steps[0].reason, "provider_authorized");
    EXPECT_EQ(captured.steps[1].reason, "provider_captured");
    EXPECT_EQ(captured.captured_minor, 1500);

    // A manual-capture payment is never captured that way: the flags change nothing for it.
    EXPECT_TRUE(PlanFor(Manual(S::kApproved), Event("provider.capture.completed")).Ignored());
    const Plan held = PlanFor(
        Manual(S::kApproved),
        Event("payments.authorized", {{"capture_follows", true}, {"captured", true}})
    );
    ASSERT_EQ(held.steps.size(), 1U);
    EXPECT_EQ(held.steps[0].reason, "provider_authorized_awaiting_capture");
    EXPECT_TRUE(held.emits.empty());
}

}  // namespace
}  // namespace sagapay::orchestrator
