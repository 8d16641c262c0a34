#include "services/orchestrator/payment_saga.hpp"

#include <gtest/gtest.h>

namespace sagapay::orchestrator {
namespace {

using S = PaymentStatus;

PaymentSnapshot Payment(S status) {
    return PaymentSnapshot{"p-1", "cust-1", 1500, "USD", status, 3};
}

Envelope Event(std::string type, nlohmann::json payload = nlohmann::json::object()) {
    Envelope e;
    e.event_id = "e-1";
    e.event_type = std::move(type);
    e.aggregate_id = "p-1";
    e.trace_id = "t-1";
    e.payload = std::move(payload);
    return e;
}

struct Case {
    S from;
    Envelope event;
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
    };
    for (const Case& c : cases) {
        const Plan plan = PlanFor(Payment(c.from), c.event);

        ASSERT_FALSE(plan.Ignored())
            << c.event.event_type << " from " << ToString(c.from) << ": " << plan.ignored_because;
        ASSERT_EQ(plan.steps.size(), c.to.size()) << c.event.event_type;
        S at = c.from;
        for (std::size_t i = 0; i < c.to.size(); ++i) {
            EXPECT_EQ(plan.steps[i].to, c.to[i]) << c.event.event_type;
            EXPECT_TRUE(CanTransition(at, plan.steps[i].to)) << c.event.event_type;
            EXPECT_FALSE(plan.steps[i].reason.empty());
            at = plan.steps[i].to;
        }
        ASSERT_EQ(plan.emits.size(), c.emits.size()) << c.event.event_type;
        for (std::size_t i = 0; i < c.emits.size(); ++i) {
            EXPECT_EQ(plan.emits[i].topic, c.emits[i]);
        }
    }
}

TEST(PaymentSaga, IgnoresEventsThatNoLongerFitTheState) {
    const std::pair<S, Envelope> cases[] = {
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

        EXPECT_TRUE(plan.Ignored()) << event.event_type << " from " << ToString(status);
        EXPECT_TRUE(plan.steps.empty());
        EXPECT_TRUE(plan.emits.empty());
    }
}

TEST(PaymentSaga, CarriesThePaymentFactsToTheProvider) {
    const Plan plan = PlanFor(Payment(S::kCreated), Event("risk.approved"));

    ASSERT_EQ(plan.emits.size(), 1U);
    EXPECT_EQ(plan.emits[0].payload.at("amount_cents"), 1500);
    EXPECT_EQ(plan.emits[0].payload.at("currency"), "USD");
    EXPECT_EQ(plan.emits[0].payload.at("customer_id"), "cust-1");
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
    EXPECT_EQ(PendingStepRequest(Payment(S::kCreated))->topic, "payments.requested");
    EXPECT_EQ(PendingStepRequest(Payment(S::kApproved))->topic, "provider.authorize.requested");
    EXPECT_EQ(PendingStepRequest(Payment(S::kAuthorized))->topic, "provider.capture.requested");
    EXPECT_EQ(PendingStepRequest(Payment(S::kCaptured))->topic, "payments.captured");
    EXPECT_FALSE(PendingStepRequest(Payment(S::kRiskReview)).has_value());
    EXPECT_FALSE(PendingStepRequest(Payment(S::kSettled)).has_value());
    EXPECT_FALSE(PendingStepRequest(Payment(S::kFailed)).has_value());
    EXPECT_FALSE(PendingStepRequest(Payment(S::kReversed)).has_value());
}

}  // namespace
}  // namespace sagapay::orchestrator
