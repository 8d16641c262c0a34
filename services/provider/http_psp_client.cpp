#include <nlohmann/json.hpp>

#include "adapters/http/http.hpp"
#include "services/provider/psp_client.hpp"

namespace sagapay::provider {

namespace {

class HttpPspClient final : public PspClient {
public:
    HttpPspClient(const std::string& base_url, std::chrono::milliseconds timeout)
        : client_(base_url, http::ClientOptions{64, std::chrono::milliseconds(500), timeout}) {}

    // PspClient
    PspAnswer Authorize(
        const std::string& key,
        const std::string& payment_id,
        const std::string& customer_id,
        std::int64_t amount_cents,
        const std::string& currency
    ) override {
        const nlohmann::json body = {
            {"idempotency_key", key},
            {"payment_id", payment_id},
            {"customer_id", customer_id},
            {"amount_cents", amount_cents},
            {"currency", currency},
        };
        return Classify(client_.Send(
            "POST",
            "/v1/authorizations",
            body.dump(),
            {{"content-type", "application/json"}, {"idempotency-key", key}}
        ));
    }

    PspAnswer Inquire(const std::string& key) override {
        return Classify(client_.Get("/v1/authorizations/" + key));
    }

    CaptureOutcome Capture(const std::string& authorization_key, const std::string& capture_key)
        override {
        const nlohmann::json body = {{"idempotency_key", capture_key}};
        const auto result = client_.Send(
            "POST",
            "/v1/authorizations/" + authorization_key + "/capture",
            body.dump(),
            {{"content-type", "application/json"}, {"idempotency-key", capture_key}}
        );
        if (!result.Ok() || result.response->status >= 500) {
            return CaptureOutcome::kUnknown;
        }
        return result.response->status == 200 ? CaptureOutcome::kCaptured
                                              : CaptureOutcome::kRefused;
    }

    bool Void(const std::string& authorization_key) override {
        const auto result = client_.Send(
            "POST",
            "/v1/authorizations/" + authorization_key + "/void",
            "{}",
            {{"content-type", "application/json"}, {"idempotency-key", "void-" + authorization_key}}
        );
        return result.Ok() && (result.response->status == 200 || result.response->status == 404);
    }

private:
    static PspAnswer Classify(const http::ClientResult& result) {
        PspAnswer answer;
        if (!result.Ok()) {
            answer.outcome = PspOutcome::kUnknown;
            answer.detail = result.error.message;
            return answer;
        }
        const int status = result.response->status;
        answer.detail = "http " + std::to_string(status);
        const auto body = nlohmann::json::parse(result.response->body, nullptr, false);
        const std::string state =
            body.is_object() && body.contains("status") && body["status"].is_string()
                ? body["status"].get<std::string>()
                : "";
        if (body.is_object() && body.contains("authorization_id") &&
            body["authorization_id"].is_string()) {
            answer.authorization_id = body["authorization_id"].get<std::string>();
        }
        if (status == 404) {
            answer.outcome = PspOutcome::kNotFound;
        } else if (status == 402 || state == "DECLINED") {
            answer.outcome = PspOutcome::kDeclined;
        } else if (status == 200 && (state == "AUTHORIZED" || state == "CAPTURED" || state == "VOIDED")) {
            answer.outcome = PspOutcome::kAuthorized;
        } else {
            answer.outcome = PspOutcome::kUnknown;
        }
        return answer;
    }

    http::Client client_;
};

}  // namespace

std::unique_ptr<PspClient> MakeHttpPspClient(
    const std::string& base_url, std::chrono::milliseconds timeout
) {
    return std::make_unique<HttpPspClient>(base_url, timeout);
}

}  // namespace sagapay::provider
