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

}  // namespace
}  // namespace sagapay::app
