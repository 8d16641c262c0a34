#include "services/provider/http_psp_client.hpp"

#include <chrono>
#include <mutex>
#include <string>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "adapters/http/http.hpp"

namespace sagapay::provider {
namespace {

using namespace std::chrono_literals;

/// A PSP on 127.0.0.1 that answers every call with the scripted response, after `delay`, and
/// keeps the last request.
class ScriptedPsp {
public:
    ScriptedPsp() {
        http::Router router;
        const auto answer = [this](http::Request& request) {
            std::chrono::milliseconds delay{};
            http::Response response;
            {
                const std::lock_guard lock(mutex_);
                last_ = request;
                delay = delay_;
                response = http::JsonResponse(status_, body_);
            }
            std::this_thread::sleep_for(delay);
            return response;
        };
        router.Add("POST", "/v1/authorizations", answer);
        router.Add("GET", "/v1/authorizations/{key}", answer);
        router.Add("POST", "/v1/authorizations/{key}/capture", answer);
        router.Add("POST", "/v1/authorizations/{key}/void", answer);
        router.Add("POST", "/v1/authorizations/{key}/refund", answer);
        router.Add("GET", "/v1/authorizations/{key}/refunds/{refund_key}", answer);
        http::ServerOptions options;
        options.host = "127.0.0.1";
        options.port = 0;
        server_.emplace(options, std::move(router));
        server_->Start();
    }
    ScriptedPsp(const ScriptedPsp&) = delete;
    ScriptedPsp& operator=(const ScriptedPsp&) = delete;
    ScriptedPsp(ScriptedPsp&&) = delete;
    ScriptedPsp& operator=(ScriptedPsp&&) = delete;
    ~ScriptedPsp() { server_->Stop(); }

    void Answer(int status, std::string body = "{}", std::chrono::milliseconds delay = {}) {
        const std::lock_guard lock(mutex_);
        status_ = status;
        body_ = std::move(body);
        delay_ = delay;
    }
    [[nodiscard]] http::Request Last() {
        const std::lock_guard lock(mutex_);
        return last_;
    }
    [[nodiscard]] std::string Url() const {
        return "http://127.0.0.1:" + std::to_string(server_->Port());
    }

private:
    std::mutex mutex_;
    int status_ = 200;
    std::string body_ = "{}";
    std::chrono::milliseconds delay_{};
    http::Request last_;
    std::optional<http::Server> server_;
};

class HttpPspClientTest : public ::testing::Test {
protected:
    ScriptedPsp psp_;
    std::unique_ptr<PspClient> client_ = MakeHttpPspClient(psp_.Url(), 300ms);

    AuthorizeCall Call() {
        return {
            "auth-p1", PaymentId("p1"), CustomerId("cust-1"), Money{1500, *Currency::Parse("USD")}};
    }
};

TEST_F(HttpPspClientTest, AuthorizeSendsTheCallUnderItsIdempotencyKey) {
    psp_.Answer(200, R"({"status":"AUTHORIZED","authorization_id":"psp-9"})");

    const PspAnswer answer = client_->Authorize(Call());

    EXPECT_EQ(answer.outcome, PspOutcome::kAuthorized);
    EXPECT_EQ(answer.authorization_id, "psp-9");
    EXPECT_EQ(answer.detail, "http 200");
    const http::Request sent = psp_.Last();
    EXPECT_EQ(sent.path, "/v1/authorizations");
    EXPECT_EQ(sent.Header("idempotency-key"), "auth-p1");
    const auto body = nlohmann::json::parse(sent.body);
    EXPECT_EQ(body["idempotency_key"], "auth-p1");
    EXPECT_EQ(body["payment_id"], "p1");
    EXPECT_EQ(body["customer_id"], "cust-1");
    EXPECT_EQ(body["amount_cents"], 1500);
    EXPECT_EQ(body["currency"], "USD");
}

TEST_F(HttpPspClientTest, ClassifiesTheAnswers) {
    struct Case {
        int status;
        const char* body;
        PspOutcome expected;
    };
    const Case cases[] = {
        {200, R"({"status":"AUTHORIZED"})", PspOutcome::kAuthorized},
        {200, R"({"status":"CAPTURED"})", PspOutcome::kCaptured},
        {200, R"({"status":"VOIDED"})", PspOutcome::kVoided},
        {200, R"({"status":"REFUNDED"})", PspOutcome::kRefunded},
        {200, R"({"status":"DECLINED"})", PspOutcome::kDeclined},
        {402, "{}", PspOutcome::kDeclined},
        {404, "{}", PspOutcome::kNotFound},
        {200, R"({"status":"PENDING"})", PspOutcome::kUnknown},
        {200, "not json", PspOutcome::kUnknown},
        {500, "{}", PspOutcome::kUnknown},
        {504, "{}", PspOutcome::kUnknown},
    };
    for (const Case& c : cases) {
        psp_.Answer(c.status, c.body);
        EXPECT_EQ(client_->Inquire("auth-p1").outcome, c.expected) << c.status << " " << c.body;
    }
    EXPECT_EQ(psp_.Last().path, "/v1/authorizations/auth-p1");
}

TEST_F(HttpPspClientTest, NoAnswerInTimeIsUnknownAndItsLatencyIsMeasured) {
    psp_.Answer(200, R"({"status":"AUTHORIZED"})", 600ms);

    const PspAnswer answer = client_->Authorize(Call());

    EXPECT_EQ(answer.outcome, PspOutcome::kUnknown);
    EXPECT_FALSE(answer.detail.empty());
    EXPECT_GE(answer.latency, 250ms);
}

TEST_F(HttpPspClientTest, LatencyOfEveryCallIsMeasured) {
    psp_.Answer(200, R"({"status":"AUTHORIZED"})", 60ms);

    EXPECT_GE(client_->Authorize(Call()).latency, 50ms);
    EXPECT_GE(client_->Inquire("auth-p1").latency, 50ms);
    EXPECT_GE(client_->Capture("auth-p1", "cap-p1", 0).latency, 50ms);
    EXPECT_GE(client_->Void("auth-p1").latency, 50ms);
    EXPECT_GE(client_->Refund("auth-p1", "refund-p1", 0).latency, 50ms);
    EXPECT_GE(client_->InquireRefund("auth-p1", "refund-p1").latency, 50ms);
}

TEST_F(HttpPspClientTest, CaptureIsCapturedOn200RefusedOnOther4xxUnknownOn5xx) {
    psp_.Answer(200);
    const CaptureAnswer captured = client_->Capture("auth-p1", "cap-p1", 0);
    EXPECT_EQ(captured.outcome, CaptureOutcome::kCaptured);
    EXPECT_EQ(captured.captured_minor, 0) << "the PSP did not say how much";
    const http::Request sent = psp_.Last();
    EXPECT_EQ(sent.path, "/v1/authorizations/auth-p1/capture");
    EXPECT_EQ(sent.Header("idempotency-key"), "cap-p1");
    const auto body = nlohmann::json::parse(sent.body);
    EXPECT_EQ(body["capture_key"], "cap-p1");
    EXPECT_FALSE(body.contains("amount_cents")) << "0 is the whole amount: none sent";
    psp_.Answer(409);
    EXPECT_EQ(client_->Capture("auth-p1", "cap-p1", 0).outcome, CaptureOutcome::kRefused);
    psp_.Answer(422);
    EXPECT_EQ(client_->Capture("auth-p1", "cap-p1", 0).outcome, CaptureOutcome::kRefused);
    psp_.Answer(503);
    EXPECT_EQ(client_->Capture("auth-p1", "cap-p1", 0).outcome, CaptureOutcome::kUnknown);
    psp_.Answer(200, "{}", 600ms);
    EXPECT_EQ(client_->Capture("auth-p1", "cap-p1", 0).outcome, CaptureOutcome::kUnknown);
}

TEST_F(HttpPspClientTest, PartialCaptureSendsItsAmountAndReadsWhatWasCaptured) {
    psp_.Answer(200, R"({"status":"CAPTURED","captured_amount_cents":600})");

    const CaptureAnswer answer = client_->Capture("auth-p1", "cap-p1", 600);

    EXPECT_EQ(answer.outcome, CaptureOutcome::kCaptured);
    EXPECT_EQ(answer.captured_minor, 600);
    const auto body = nlohmann::json::parse(psp_.Last().body);
    EXPECT_EQ(body["capture_key"], "cap-p1");
    EXPECT_EQ(body["amount_cents"], 600);
    // What the PSP says it captured, not what was asked.
    psp_.Answer(200, R"({"status":"CAPTURED","captured_amount_cents":1500})");
    EXPECT_EQ(client_->Capture("auth-p1", "cap-p1", 0).captured_minor, 1500);
    psp_.Answer(422, R"({"error":"invalid_amount","captured_amount_cents":9})");
    const CaptureAnswer refused = client_->Capture("auth-p1", "cap-p1", 9999);
    EXPECT_EQ(refused.outcome, CaptureOutcome::kRefused);
    EXPECT_EQ(refused.captured_minor, 0);
}

TEST_F(HttpPspClientTest, VoidIsReleasedOn200Or404) {
    psp_.Answer(200);
    EXPECT_EQ(client_->Void("auth-p1").outcome, VoidOutcome::kReleased);
    const http::Request sent = psp_.Last();
    EXPECT_EQ(sent.path, "/v1/authorizations/auth-p1/void");
    EXPECT_EQ(sent.Header("idempotency-key"), "void-auth-p1");
    psp_.Answer(404);
    EXPECT_EQ(client_->Void("auth-p1").outcome, VoidOutcome::kReleased);
    psp_.Answer(409);
    EXPECT_EQ(client_->Void("auth-p1").outcome, VoidOutcome::kUnknown);
    psp_.Answer(200, "{}", 600ms);
    EXPECT_EQ(client_->Void("auth-p1").outcome, VoidOutcome::kUnknown);
}

TEST_F(HttpPspClientTest, VoidedIsNeverReadAsAuthorized) {
    // A void whose transaction rolled back must not make the payment look authorized again.
    psp_.Answer(200, R"({"status":"VOIDED","authorization_id":"auth_1"})");
    EXPECT_EQ(client_->Inquire("auth-p1").outcome, PspOutcome::kVoided);
    psp_.Answer(200, R"({"status":"VOIDED"})");
    EXPECT_EQ(client_->Authorize(Call()).outcome, PspOutcome::kVoided);
}

TEST_F(HttpPspClientTest, RefundIsRefundedOn200RefusedOn4xxUnknownOn5xx) {
    psp_.Answer(200);
    EXPECT_EQ(client_->Refund("auth-p1", "refund-p1", 0).outcome, RefundOutcome::kRefunded);
    const http::Request sent = psp_.Last();
    EXPECT_EQ(sent.path, "/v1/authorizations/auth-p1/refund");
    EXPECT_EQ(sent.Header("idempotency-key"), "refund-p1");
    const auto body = nlohmann::json::parse(sent.body);
    EXPECT_EQ(body["refund_key"], "refund-p1");
    EXPECT_FALSE(body.contains("amount_cents")) << "0 is all that is left: none sent";
    psp_.Answer(409);
    EXPECT_EQ(client_->Refund("auth-p1", "refund-p1", 0).outcome, RefundOutcome::kRefused);
    psp_.Answer(422);
    EXPECT_EQ(client_->Refund("auth-p1", "refund-p1", 0).outcome, RefundOutcome::kRefused);
    psp_.Answer(404);
    EXPECT_EQ(client_->Refund("auth-p1", "refund-p1", 0).outcome, RefundOutcome::kRefused);
    psp_.Answer(502);
    EXPECT_EQ(client_->Refund("auth-p1", "refund-p1", 0).outcome, RefundOutcome::kUnknown);
    psp_.Answer(200, "{}", 600ms);
    EXPECT_EQ(client_->Refund("auth-p1", "refund-p1", 0).outcome, RefundOutcome::kUnknown);
}

TEST_F(HttpPspClientTest, PartialRefundSendsItsAmountUnderItsRefundKey) {
    psp_.Answer(200, R"({"status":"CAPTURED","refunded_amount_cents":250})");

    EXPECT_EQ(client_->Refund("auth-p1", "refund-p1-a", 250).outcome, RefundOutcome::kRefunded);

    const http::Request sent = psp_.Last();
    EXPECT_EQ(sent.path, "/v1/authorizations/auth-p1/refund");
    EXPECT_EQ(sent.Header("idempotency-key"), "refund-p1-a");
    const auto body = nlohmann::json::parse(sent.body);
    EXPECT_EQ(body["refund_key"], "refund-p1-a");
    EXPECT_EQ(body["amount_cents"], 250);
}

TEST_F(HttpPspClientTest, RefundInquiryIsRefundedOn200NotFoundOn404UnknownOtherwise) {
    psp_.Answer(200, R"({"refund_key":"refund-p1","amount_cents":250,"status":"SUCCEEDED"})");
    EXPECT_EQ(client_->InquireRefund("auth-p1", "refund-p1").outcome, RefundOutcome::kRefunded);
    const http::Request sent = psp_.Last();
    EXPECT_EQ(sent.method, "GET");
    EXPECT_EQ(sent.path, "/v1/authorizations/auth-p1/refunds/refund-p1");
    psp_.Answer(404);
    EXPECT_EQ(client_->InquireRefund("auth-p1", "refund-p1").outcome, RefundOutcome::kNotFound);
    psp_.Answer(503);
    EXPECT_EQ(client_->InquireRefund("auth-p1", "refund-p1").outcome, RefundOutcome::kUnknown);
    psp_.Answer(409);
    EXPECT_EQ(client_->InquireRefund("auth-p1", "refund-p1").outcome, RefundOutcome::kUnknown);
    psp_.Answer(200, "{}", 600ms);
    EXPECT_EQ(client_->InquireRefund("auth-p1", "refund-p1").outcome, RefundOutcome::kUnknown);
}

}  // namespace
}  // namespace sagapay::provider
