#include "services/provider/http_psp_client.hpp"

#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "adapters/http/http.hpp"
#include "runtime/tracing.hpp"

namespace sagapay::provider {

namespace {

/// Measures one call on the steady clock (the wall clock may jump).
class Stopwatch {
public:
    [[nodiscard]] std::chrono::milliseconds Elapsed() const {
        return std::chrono::duration_cast<std::chrono::milliseconds>(
            std::chrono::steady_clock::now() - started_
        );
    }

private:
    std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
};

class HttpPspClient final : public PspClient {
public:
    HttpPspClient(const std::string& base_url, std::chrono::milliseconds timeout)
        : client_(base_url, http::ClientOptions{64, std::chrono::milliseconds(500), timeout}) {}

    // PspClient
    PspAnswer Authorize(const AuthorizeCall& call) override {
        const nlohmann::json body = {
            {"idempotency_key", call.key},
            {"payment_id", call.payment_id.Value()},
            {"customer_id", call.customer_id.Value()},
            {"amount_cents", call.amount.amount_minor},
            {"currency", call.amount.currency.CodeString()},
        };
        const Stopwatch watch;
        PspAnswer answer = ClassifyAuthorization(ReplyOf(client_.Send(
            "POST",
            "/v1/authorizations",
            body.dump(),
            WithTrace({{"content-type", "application/json"}, {"idempotency-key", call.key}})
        )));
        answer.latency = watch.Elapsed();
        return answer;
    }

    PspAnswer Inquire(const std::string& key) override {
        const Stopwatch watch;
        PspAnswer answer = ClassifyAuthorization(
            ReplyOf(client_.Send("GET", "/v1/authorizations/" + key, {}, WithTrace({})))
        );
        answer.latency = watch.Elapsed();
        return answer;
    }

    CaptureAnswer Capture(
        const std::string& authorization_key,
        const std::string& capture_key,
        std::int64_t amount_minor
    ) override {
        const Stopwatch watch;
        CaptureAnswer answer = ClassifyCapture(
            PostKeyed(authorization_key, "capture", "capture_key", capture_key, amount_minor)
        );
        answer.latency = watch.Elapsed();
        return answer;
    }

    VoidAnswer Void(const std::string& authorization_key) override {
        const Stopwatch watch;
        const PspReply reply = ReplyOf(client_.Send(
            "POST",
            "/v1/authorizations/" + authorization_key + "/void",
            "{}",
            WithTrace(
                {{"content-type", "application/json"},
                 {"idempotency-key", "void-" + authorization_key}}
            )
        ));
        return {ClassifyVoid(reply), watch.Elapsed()};
    }

    RefundAnswer Refund(
        const std::string& authorization_key,
        const std::string& refund_key,
        std::int64_t amount_minor
    ) override {
        const Stopwatch watch;
        const PspReply reply =
            PostKeyed(authorization_key, "refund", "refund_key", refund_key, amount_minor);
        return {ClassifyRefund(reply), watch.Elapsed()};
    }

    RefundAnswer InquireRefund(const std::string& authorization_key, const std::string& refund_key)
        override {
        const Stopwatch watch;
        const PspReply reply = ReplyOf(client_.Send(
            "GET",
            "/v1/authorizations/" + authorization_key + "/refunds/" + refund_key,
            {},
            WithTrace({})
        ));
        return {ClassifyRefundInquiry(reply), watch.Elapsed()};
    }

private:
    /// A keyed POST /v1/authorizations/{key}/{action}: `{"<key_field>": key}`, with
    /// `amount_cents` when `amount_minor` is positive (0: the PSP's "all").
    PspReply PostKeyed(
        const std::string& authorization_key,
        std::string_view action,
        const char* key_field,
        const std::string& key,
        std::int64_t amount_minor
    ) {
        nlohmann::json body = {{key_field, key}};
        if (amount_minor != 0) {
            body["amount_cents"] = amount_minor;
        }
        return ReplyOf(client_.Send(
            "POST",
            "/v1/authorizations/" + authorization_key + "/" + std::string(action),
            body.dump(),
            WithTrace({{"content-type", "application/json"}, {"idempotency-key", key}})
        ));
    }

    /// `headers` plus the current span's `traceparent` (the PSP may join the trace).
    static std::vector<std::pair<std::string, std::string>> WithTrace(
        std::vector<std::pair<std::string, std::string>> headers
    ) {
        if (std::string traceparent = tracing::CurrentTraceparent(); !traceparent.empty()) {
            headers.emplace_back("traceparent", std::move(traceparent));
        }
        return headers;
    }

    static PspReply ReplyOf(const http::ClientResult& result) {
        if (!result.has_value()) {
            return {std::nullopt, "", result.error().message};
        }
        return {result->status, result->body, ""};
    }

    http::Client client_;
};

bool Is2xx(int status) noexcept {
    return status >= 200 && status < 300;
}

/// 2xx done, another answer below 500 refused, no answer or a 5xx unknown.
enum class KeyedResult { kDone, kRefused, kUnknown };
KeyedResult ClassifyKeyed(const PspReply& reply) noexcept {
    if (!reply.status || *reply.status >= 500) {
        return KeyedResult::kUnknown;
    }
    return Is2xx(*reply.status) ? KeyedResult::kDone : KeyedResult::kRefused;
}

}  // namespace

PspAnswer ClassifyAuthorization(const PspReply& reply) {
    PspAnswer answer;
    if (!reply.status) {
        answer.outcome = PspOutcome::kUnknown;
        answer.detail = reply.error;
        return answer;
    }
    const int status = *reply.status;
    answer.detail = "http " + std::to_string(status);
    const auto body = nlohmann::json::parse(reply.body, nullptr, false);
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
    } else if (status == 200 && state == "AUTHORIZED") {
        answer.outcome = PspOutcome::kAuthorized;
    } else if (status == 200 && state == "CAPTURED") {
        answer.outcome = PspOutcome::kCaptured;
    } else if (status == 200 && state == "VOIDED") {
        // Released: whatever was authorized under the key is gone and cannot be captured.
        answer.outcome = PspOutcome::kVoided;
    } else if (status == 200 && state == "REFUNDED") {
        answer.outcome = PspOutcome::kRefunded;
    } else {
        answer.outcome = PspOutcome::kUnknown;
    }
    return answer;
}

CaptureAnswer ClassifyCapture(const PspReply& reply) {
    CaptureAnswer answer;
    switch (ClassifyKeyed(reply)) {
        case KeyedResult::kDone:
            answer.outcome = CaptureOutcome::kCaptured;
            break;
        case KeyedResult::kRefused:
            answer.outcome = CaptureOutcome::kRefused;
            return answer;
        case KeyedResult::kUnknown:
            answer.outcome = CaptureOutcome::kUnknown;
            return answer;
    }
    const auto body = nlohmann::json::parse(reply.body, nullptr, false);
    if (body.is_object() && body.contains("captured_amount_cents") &&
        body["captured_amount_cents"].is_number_integer()) {
        answer.captured_minor = body["captured_amount_cents"].get<std::int64_t>();
    }
    return answer;
}

VoidOutcome ClassifyVoid(const PspReply& reply) noexcept {
    // 404: the PSP never processed the key, so nothing is held.
    return reply.status && (*reply.status == 200 || *reply.status == 404) ? VoidOutcome::kReleased
                                                                          : VoidOutcome::kUnknown;
}

RefundOutcome ClassifyRefund(const PspReply& reply) noexcept {
    switch (ClassifyKeyed(reply)) {
        case KeyedResult::kDone:
            return RefundOutcome::kRefunded;
        case KeyedResult::kRefused:
            return RefundOutcome::kRefused;
        case KeyedResult::kUnknown:
            break;
    }
    return RefundOutcome::kUnknown;
}

RefundOutcome ClassifyRefundInquiry(const PspReply& reply) noexcept {
    if (!reply.status) {
        return RefundOutcome::kUnknown;
    }
    if (Is2xx(*reply.status)) {
        return RefundOutcome::kRefunded;
    }
    return *reply.status == 404 ? RefundOutcome::kNotFound : RefundOutcome::kUnknown;
}

std::unique_ptr<PspClient> MakeHttpPspClient(
    const std::string& base_url, std::chrono::milliseconds timeout
) {
    return std::make_unique<HttpPspClient>(base_url, timeout);
}

}  // namespace sagapay::provider
