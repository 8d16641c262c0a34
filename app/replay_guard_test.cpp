#include "app/replay_guard.hpp"

#include <gtest/gtest.h>

namespace sagapay::app {
namespace {

http::ClientResult Answer(int status, std::string body) {
    http::Response response;
    response.status = status;
    response.body = std::move(body);
    return response;
}

http::ClientResult Payment(const std::string& status) {
    return Answer(200, R"({"payment_id":"p-1","status":")" + status + R"("})");
}

TEST(ReplayRefusal, AnAuthorizationRequestIsReplayedOnlyWhileThePaymentWaitsForIt) {
    EXPECT_EQ(ReplayRefusal("provider.authorize.requested", Payment("APPROVED")), std::nullopt);
    for (const char* status : {"REVERSED", "FAILED", "SETTLED", "AUTHORIZED", "CAPTURED"}) {
        const auto refusal = ReplayRefusal("provider.authorize.requested", Payment(status));
        ASSERT_TRUE(refusal.has_value()) << status;
        EXPECT_NE(refusal->find(status), std::string::npos) << *refusal;
    }
}

TEST(ReplayRefusal, NoAnswerA404OrA503ProvesNothingAndRefuses) {
    // Finding 2: the old check ran only on a 200, so an orchestrator that was down let a
    // replay re-authorize a reversed payment.
    const http::ClientResult down = tl::unexpected(Error{ErrorCode::kUnavailable, "refused"});
    EXPECT_TRUE(ReplayRefusal("provider.authorize.requested", down).has_value());
    EXPECT_TRUE(ReplayRefusal("provider.authorize.requested", Answer(404, "{}")).has_value());
    EXPECT_TRUE(ReplayRefusal("provider.capture.requested", Answer(503, "{}")).has_value());
    EXPECT_TRUE(ReplayRefusal("provider.capture.requested", Answer(200, "not json")).has_value());
}

TEST(ReplayRefusal, EveryStepHasTheStateItLeaves) {
    EXPECT_EQ(ReplayRefusal("payments.requested", Payment("CREATED")), std::nullopt);
    EXPECT_EQ(ReplayRefusal("risk.approved", Payment("RISK_REVIEW")), std::nullopt);
    EXPECT_EQ(ReplayRefusal("provider.capture.requested", Payment("AUTHORIZED")), std::nullopt);
    EXPECT_EQ(ReplayRefusal("payments.captured", Payment("CAPTURED")), std::nullopt);
    EXPECT_TRUE(ReplayRefusal("payments.captured", Payment("SETTLED")).has_value());
    EXPECT_TRUE(ReplayRefusal("no.such.topic", Payment("CREATED")).has_value());
}

TEST(ReplayRefusal, OutcomeTopicsMoveNoMoneyAndNeedNoCheck) {
    const http::ClientResult down = tl::unexpected(Error{ErrorCode::kUnavailable, "refused"});
    EXPECT_EQ(ReplayRefusal("payments.failed", down), std::nullopt);
    EXPECT_EQ(ReplayRefusal("payments.settled", Payment("SETTLED")), std::nullopt);
}

TEST(ReplayEnvelope, IsTheEventAgainUnderANewIdMarkedAsAReplay) {
    const nlohmann::json parked = {
        {"event_id", "11111111-1111-4111-8111-111111111111"},
        {"event_type", "provider.authorize.requested"},
        {"payload", {{"amount_cents", 5}}}};
    const nlohmann::json replay = ReplayEnvelope(parked);
    EXPECT_NE(replay["event_id"], parked["event_id"]);
    EXPECT_EQ(replay["event_type"], parked["event_type"]);
    EXPECT_EQ(replay["payload"]["amount_cents"], 5);
    EXPECT_EQ(replay["payload"]["replay"], true);
    EXPECT_EQ(replay["payload"]["replay_of"], parked["event_id"]);
    EXPECT_EQ(ReplayEnvelope(nlohmann::json::array())["payload"]["replay_of"], "");
}

}  // namespace
}  // namespace sagapay::app
