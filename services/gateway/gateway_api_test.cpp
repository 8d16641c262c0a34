#include "services/gateway/gateway_api.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace sagapay::gateway {
namespace {

class FakeLimit final : public RateLimit {
public:
    Result<RateDecision> Take(const CustomerId& customer) override {
        seen.push_back(customer);
        return answer;
    }
    Result<RateDecision> answer = RateDecision{};
    std::vector<CustomerId> seen;
};

class FakeOrchestrator final : public PaymentCreator {
public:
    Result<http::Response> Create(const PaymentRequest& request, const std::string& trace)
        override {
        requests.push_back(request);
        traces.push_back(trace);
        return answer;
    }
    Result<http::Response> Forward(
        const std::string& method,
        const std::string& target,
        const std::string& body,
        const std::string& trace
    ) override {
        forwarded.push_back(method + " " + target + " " + body);
        traces.push_back(trace);
        return answer;
    }
    Result<http::Response> answer =
        http::JsonResponse(200, R"({"payment_id":"p","status":"CREATED"})");
    std::vector<PaymentRequest> requests;
    std::vector<std::string> traces;
    std::vector<std::string> forwarded;
};

constexpr const char* kPaymentId = "7d1f3c1e-2b4a-4c6e-9f00-0123456789ab";

constexpr const char* kBody =
    R"({"customer_id":"c-1","amount_cents":1500,"currency":"USD","idempotency_key":"order-1"})";

http::Request Post(std::string body = kBody, std::string key = "secret") {
    http::Request request;
    request.method = "POST";
    request.path = "/payments";
    request.body = std::move(body);
    request.headers = {{"x-api-key", std::move(key)}, {"content-type", "application/json"}};
    return request;
}

std::string ErrorCodeOf(const http::Response& response) {
    return nlohmann::json::parse(response.body)["error"]["code"];
}

class GatewayApiTest : public ::testing::Test {
protected:
    GatewayApi Api() {
        GatewayOptions options;
        options.api_key = "secret";
        options.on_valid_request = [this] { ++valid_; };
        options.on_orchestrator_call = [this](double seconds) { calls_.push_back(seconds); };
        return {std::move(options), limit_, orchestrator_};
    }

    FakeLimit limit_;
    FakeOrchestrator orchestrator_;
    int valid_ = 0;
    std::vector<double> calls_;
};

TEST_F(GatewayApiTest, ForwardsAValidPaymentWithItsCorrelationId) {
    http::Request request = Post();
    request.headers.emplace_back("x-correlation-id", "corr-1");
    orchestrator_.answer->headers.emplace_back("idempotent-replayed", "true");

    const http::Response response = Api().CreatePayment(request);

    EXPECT_EQ(response.status, 200);
    EXPECT_EQ(response.Header("x-correlation-id"), "corr-1");
    EXPECT_EQ(response.Header("idempotent-replayed"), "true");
    ASSERT_EQ(orchestrator_.requests.size(), 1U);
    EXPECT_EQ(orchestrator_.requests[0].amount.amount_minor, 1500);
    EXPECT_EQ(orchestrator_.traces[0], "corr-1");
    EXPECT_EQ(limit_.seen, std::vector<CustomerId>{CustomerId("c-1")});
    EXPECT_EQ(valid_, 1);
    EXPECT_EQ(calls_.size(), 1U);
}

TEST_F(GatewayApiTest, AnUnsafeCorrelationIdIsReplaced) {
    http::Request request = Post();
    request.headers.emplace_back("x-correlation-id", "two words");
    const http::Response response = Api().CreatePayment(request);
    EXPECT_EQ(response.Header("x-correlation-id").size(), 36U);
}

TEST_F(GatewayApiTest, ChecksKeyTypeBodyInThatOrderAndNeverForwardsARefusal) {
    EXPECT_EQ(Api().CreatePayment(Post(kBody, "wrong")).status, 401);
    http::Request xml = Post("<x/>");
    xml.headers[1].second = "text/xml";
    EXPECT_EQ(Api().CreatePayment(xml).status, 415);
    const http::Response malformed = Api().CreatePayment(Post("{"));
    EXPECT_EQ(malformed.status, 400);
    EXPECT_EQ(ErrorCodeOf(malformed), "malformed_json");
    const http::Response invalid = Api().CreatePayment(Post(R"({"customer_id":"c"})"));
    EXPECT_EQ(invalid.status, 422);
    EXPECT_EQ(ErrorCodeOf(invalid), "validation_error");
    EXPECT_TRUE(orchestrator_.requests.empty());
    EXPECT_TRUE(limit_.seen.empty());
    EXPECT_EQ(valid_, 0);
}

TEST_F(GatewayApiTest, ARateLimitedCustomerGets429WithRetryAfter) {
    limit_.answer = RateDecision{false, std::chrono::milliseconds(1200)};
    const http::Response response = Api().CreatePayment(Post());
    EXPECT_EQ(response.status, 429);
    EXPECT_EQ(response.Header("retry-after"), "2");
    EXPECT_EQ(ErrorCodeOf(response), "rate_limited");
    EXPECT_TRUE(orchestrator_.requests.empty());
}

TEST_F(GatewayApiTest, AnUnreachableLimiterAdmitsTheRequest) {
    limit_.answer = Fail(ErrorCode::kUnavailable, "redis down");
    EXPECT_EQ(Api().CreatePayment(Post()).status, 200);
    EXPECT_EQ(orchestrator_.requests.size(), 1U);
}

TEST_F(GatewayApiTest, NoAnswerOrAServerErrorFromTheOrchestratorIs503AndSafeToRetry) {
    orchestrator_.answer = Fail(ErrorCode::kUnavailable, "connection refused");
    const http::Response unreachable = Api().CreatePayment(Post());
    EXPECT_EQ(unreachable.status, 503);
    EXPECT_EQ(unreachable.Header("retry-after"), "1");
    EXPECT_EQ(ErrorCodeOf(unreachable), "orchestrator_unavailable");

    orchestrator_.answer = http::ErrorResponse(500, "internal", "boom");
    EXPECT_EQ(Api().CreatePayment(Post()).status, 503);
}

TEST_F(GatewayApiTest, AdmissionControlsOverloadedReachesTheClientWithItsRetryAfter) {
    http::Response overloaded = http::ErrorResponse(503, "overloaded", "too many in flight");
    overloaded.headers.emplace_back("retry-after", "2");
    orchestrator_.answer = overloaded;
    const http::Response response = Api().CreatePayment(Post());
    EXPECT_EQ(response.status, 503);
    EXPECT_EQ(ErrorCodeOf(response), "overloaded");
    EXPECT_EQ(response.Header("retry-after"), "2");
    EXPECT_FALSE(response.Header("x-correlation-id").empty());

    // Another 503 from the orchestrator (its database is down) stays orchestrator_unavailable.
    orchestrator_.answer = http::ErrorResponse(503, "service_unavailable", "db down");
    EXPECT_EQ(ErrorCodeOf(Api().CreatePayment(Post())), "orchestrator_unavailable");
}

TEST_F(GatewayApiTest, TheOrchestratorsRefusalOfAReusedKeyReachesTheClient) {
    orchestrator_.answer =
        http::ErrorResponse(422, "idempotency_key_reused", "reused", "idempotency_key");
    const http::Response response = Api().CreatePayment(Post());
    EXPECT_EQ(response.status, 422);
    EXPECT_EQ(ErrorCodeOf(response), "idempotency_key_reused");
}

http::Request Command(const std::string& command, std::string body, std::string key = "secret") {
    http::Request request = Post(std::move(body), std::move(key));
    request.path = "/payments/" + std::string(kPaymentId) + "/" + command;
    request.path_params = {kPaymentId};
    return request;
}

TEST_F(GatewayApiTest, PassesCaptureCancelAndRefundsOnToTheOrchestrator) {
    orchestrator_.answer->headers.emplace_back("idempotent-replayed", "false");
    const http::Response capture =
        Api().PaymentCommand(Command("capture", R"({"amount_cents":700})"), "capture");
    EXPECT_EQ(capture.status, 200);
    EXPECT_EQ(capture.Header("idempotent-replayed"), "false");
    EXPECT_EQ(Api().PaymentCommand(Command("cancel", ""), "cancel").status, 200);
    EXPECT_EQ(
        Api()
            .PaymentCommand(
                Command("refunds", R"({"amount_cents":300,"idempotency_key":"refund-1"})"),
                "refunds"
            )
            .status,
        200
    );
    http::Request list = Command("refunds", "");
    list.method = "GET";
    EXPECT_EQ(Api().ListRefunds(list).status, 200);
    const std::string base = "/internal/payments/" + std::string(kPaymentId);
    EXPECT_EQ(
        orchestrator_.forwarded,
        (std::vector<std::string>{
            "POST " + base + "/capture {\"amount_cents\":700}",
            "POST " + base + "/cancel ",
            "POST " + base + "/refunds {\"amount_cents\":300,\"idempotency_key\":\"refund-1\"}",
            "GET " + base + "/refunds "})
    );
}

TEST_F(GatewayApiTest, RefusesABadCommandWithoutCallingTheOrchestrator) {
    EXPECT_EQ(Api().PaymentCommand(Command("capture", "{}", "wrong"), "capture").status, 401);
    const http::Response fraction =
        Api().PaymentCommand(Command("capture", R"({"amount_cents":1.5})"), "capture");
    EXPECT_EQ(fraction.status, 422);
    EXPECT_EQ(ErrorCodeOf(fraction), "validation_error");
    EXPECT_EQ(Api().PaymentCommand(Command("cancel", R"({"why":1})"), "cancel").status, 422);
    const http::Response no_key =
        Api().PaymentCommand(Command("refunds", R"({"amount_cents":1})"), "refunds");
    EXPECT_EQ(no_key.status, 422);
    EXPECT_EQ(ErrorCodeOf(no_key), "validation_error");
    EXPECT_EQ(Api().PaymentCommand(Command("refunds", "["), "refunds").status, 400);
    http::Request bad_id = Command("cancel", "");
    bad_id.path_params = {"not-a-uuid"};
    EXPECT_EQ(Api().PaymentCommand(bad_id, "cancel").status, 404);
    EXPECT_TRUE(orchestrator_.forwarded.empty());
}

TEST_F(GatewayApiTest, TheOrchestratorsConflictReachesTheClientAndItsFailureIs503) {
    orchestrator_.answer = http::ErrorResponse(409, "refund_exceeds_captured", "too much");
    const http::Response conflict = Api().PaymentCommand(
        Command("refunds", R"({"amount_cents":9,"idempotency_key":"refund-2"})"), "refunds"
    );
    EXPECT_EQ(conflict.status, 409);
    EXPECT_EQ(ErrorCodeOf(conflict), "refund_exceeds_captured");
    orchestrator_.answer = Fail(ErrorCode::kUnavailable, "connection refused");
    const http::Response down = Api().PaymentCommand(Command("cancel", ""), "cancel");
    EXPECT_EQ(down.status, 503);
    EXPECT_EQ(ErrorCodeOf(down), "orchestrator_unavailable");
}

// The orchestrator bound beyond loopback requires X-Internal-Token: the gateway sends it.
TEST(HttpPaymentCreatorTest, SendsTheInternalTokenToTheOrchestrator) {
    std::string seen_token = "(none)";
    http::Router router;
    router.Add("POST", "/internal/payments", [&seen_token](http::Request& request) {
        seen_token = std::string(request.Header("x-internal-token"));
        return http::JsonResponse(201, R"({"payment_id":"p","status":"CREATED"})");
    });
    http::Server server(http::ServerOptions{}, std::move(router));
    server.Start();
    HttpPaymentCreator creator(
        "http://127.0.0.1:" + std::to_string(server.Port()), "internal-token-0123456789"
    );
    const auto request = ParsePaymentRequest(
        R"({"customer_id":"cust-1","amount_cents":100,"currency":"USD","idempotency_key":"order-10001"})"
    );
    ASSERT_TRUE(request.has_value());

    const auto answer = creator.Create(*request, "trace-1");

    ASSERT_TRUE(answer.has_value()) << answer.error().message;
    EXPECT_EQ(answer->status, 201);
    server.Stop();
    EXPECT_EQ(seen_token, "internal-token-0123456789");
}

}  // namespace
}  // namespace sagapay::gateway
