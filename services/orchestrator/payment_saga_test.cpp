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
        payload["amount_cents"] = 1500;
        payload["currency"] = "USD";
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
        {S::kApproved, Event("provider.capture.completed")},
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

}  // namespace
}  // namespace sagapay::orchestrator
