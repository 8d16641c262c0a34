#include <string>

#include <gtest/gtest.h>

#include "tests/e2e/e2e_stack.hpp"

namespace sagapay::testing {
namespace {

constexpr const char* kToken = "e2e-internal-token-0123456789";

/// The production shape: every service bound beyond loopback, with an internal token and an ops
/// key of its own.
class InternalToken : public StackSuite<InternalToken> {
public:
    static std::map<std::string, std::string> Environment() {
        return {
            {"BIND_HOST", "0.0.0.0"},
            {"INTERNAL_API_TOKEN", kToken},
            {"OPS_API_KEY", "e2e-ops-key"},
        };
    }
};

TEST_F(InternalToken, PaymentsSettleThroughTheGatewayAndInternalApisRefuseCallsWithoutTheToken) {
    const auto [status, body] = stack_->Pay("cust-token", 1500, "token-key-00001");
    ASSERT_EQ(status, 200) << body.dump();  // the gateway sent the token to the orchestrator
    const std::string id = body.at("payment_id").get<std::string>();

    http::Client orchestrator(stack_->Url("orchestrator"));
    const auto without = orchestrator.Get("/payments/" + id);
    ASSERT_TRUE(without.has_value());
    EXPECT_EQ(without->status, 401);
    EXPECT_NE(without->body.find(R"("code":"unauthorized")"), std::string::npos) << without->body;
    const auto wrong = orchestrator.Send(
        "GET", "/payments/" + id, {}, {{"x-internal-token", "e2e-internal-token-0123456780"}}
    );
    ASSERT_TRUE(wrong.has_value());
    EXPECT_EQ(wrong->status, 401);
    const auto ops_without = http::Client(stack_->Url("risk"))
                                 .Send("GET", "/ops/reviews", {}, {{"x-api-key", "e2e-ops-key"}});
    ASSERT_TRUE(ops_without.has_value());
    EXPECT_EQ(ops_without->status, 401);

    std::string last;
    EXPECT_TRUE(Eventually([&] {
        const auto answer =
            orchestrator.Send("GET", "/payments/" + id, {}, {{"x-internal-token", kToken}});
        last = answer ? answer->body : answer.error().message;
        return answer && answer->status == 200 &&
               last.find(R"("status":"SETTLED")") != std::string::npos;
    })) << last;

    const auto health = orchestrator.Get("/health");  // probes need no token
    ASSERT_TRUE(health.has_value());
    EXPECT_EQ(health->status, 200);
}

}  // namespace
}  // namespace sagapay::testing
