#include "services/gateway/gateway_api.hpp"

#include "core/ids.hpp"
#include "runtime/bootstrap.hpp"
#include "runtime/log.hpp"
#include "runtime/tracing.hpp"

namespace sagapay::gateway {

namespace {

http::Response Unavailable(std::string_view message) {
    return http::RetryLaterResponse(503, "orchestrator_unavailable", message);
}

/// True when an orchestrator error body is admission control's `overloaded`.
bool IsOverloaded(const std::string& body) {
    const auto json = nlohmann::json::parse(body, nullptr, false);
    return json.is_object() && json.contains("error") && json["error"].is_object() &&
           json["error"].value("code", "") == "overloaded";
}

}  // namespace

http::Response GatewayApi::CreatePayment(const http::Request& request) {
    if (!ApiKeyMatches(request, options_.api_key)) {
        return http::ErrorResponse(401, "unauthorized", "invalid API key");
    }
    const std::string_view type = request.Header("content-type");
    if (!type.empty() && type.substr(0, 16) != "application/json") {
        return http::ErrorResponse(
            415, "unsupported_media_type", "send the body as application/json"
        );
    }
    auto parsed = ParsePaymentRequest(request.body);
    if (!parsed) {
        const Error& e = parsed.error();
        return http::ErrorResponse(
            e.reason == "malformed_json" ? 400 : 422, e.reason, e.message, e.field
        );
    }
    if (options_.on_valid_request) {
        options_.on_valid_request();
    }
    // The seed's correlation id: the caller's, else this request's W3C trace id as a UUID (the
    // server span is open: runtime/service_host.hpp's TracingInterceptor).
    const std::string trace =
        SanitizeTraceId(request.Header("x-correlation-id"), tracing::CurrentTraceIdAsUuid());
    const log::ScopedContext context(trace, "", "");
    const auto decision = limit_.Take(parsed->customer_id);
    if (!decision) {
        // Fail open: the limit protects capacity, not money; idempotency lives in PostgreSQL.
        log::Warn(
            "rate limiter unavailable; admitting the request", {{"error", decision.error().message}}
        );
    } else if (!decision->allowed) {
        return http::RetryLaterResponse(
            429,
            "rate_limited",
            "rate limit exceeded for this customer",
            (decision->retry_after.count() + 999) / 1000
        );
    }
    const auto started = std::chrono::steady_clock::now();
    const auto answer = orchestrator_.Create(*parsed, trace);
    if (options_.on_orchestrator_call) {
        options_.on_orchestrator_call(
            std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count()
        );
    }
    if (!answer) {
        log::Warn("orchestrator unreachable", {{"error", answer.error().message}});
        return Unavailable("the orchestrator did not answer; retry with the same idempotency_key");
    }
    if (answer->status == 503 && IsOverloaded(answer->body)) {
        // Admission control: the saga has as many payments in flight as it may; the client
        // retries after retry-after with the same key. Not a warning: it is the system working.
        http::Response response = http::JsonResponse(503, answer->body);
        const std::string_view after = answer->Header("retry-after");
        response.headers.emplace_back("retry-after", after.empty() ? "1" : std::string(after));
        response.headers.emplace_back("x-correlation-id", trace);
        return response;
    }
    if (answer->status >= 500) {
        log::Warn("orchestrator rejected payment", {{"status", std::to_string(answer->status)}});
        return Unavailable("the orchestrator failed; retry with the same idempotency_key");
    }
    http::Response response = http::JsonResponse(answer->status, answer->body);
    response.headers.emplace_back("x-correlation-id", trace);
    if (const auto replayed = answer->Header("idempotent-replayed"); !replayed.empty()) {
        response.headers.emplace_back("idempotent-replayed", std::string(replayed));
    }
    return response;
}

namespace {

/// The orchestrator's answer to a passed-on call, as the client gets it.
http::Response PassOn(const Result<http::Response>& answer, const std::string& trace) {
    if (!answer) {
        log::Warn("orchestrator unreachable", {{"error", answer.error().message}});
        return Unavailable("the orchestrator did not answer; retry (with the same idempotency_key)"
        );
    }
    if (answer->status >= 500) {
        log::Warn("orchestrator failed a call", {{"status", std::to_string(answer->status)}});
        return Unavailable("the orchestrator failed; retry (with the same idempotency_key)");
    }
    http::Response response = http::JsonResponse(answer->status, answer->body);
    response.headers.emplace_back("x-correlation-id", trace);
    if (const auto replayed = answer->Header("idempotent-replayed"); !replayed.empty()) {
        response.headers.emplace_back("idempotent-replayed", std::string(replayed));
    }
    return response;
}

/// The body checks of a command, with the orchestrator's own parsers (so a bad body never
/// travels): nullopt when it is fine.
std::optional<Error> BodyProblem(std::string_view command, std::string_view body) {
    if (command == "capture") {
        if (auto parsed = ParseCaptureRequest(body); !parsed) {
            return parsed.error();
        }
    } else if (command == "cancel") {
        if (auto parsed = ParseEmptyRequest(body); !parsed) {
            return parsed.error();
        }
    } else if (auto parsed = ParseRefundRequest(body); !parsed) {
        return parsed.error();
    }
    return std::nullopt;
}

}  // namespace

http::Response GatewayApi::PaymentCommand(const http::Request& request, std::string_view command) {
    if (!ApiKeyMatches(request, options_.api_key)) {
        return http::ErrorResponse(401, "unauthorized", "invalid API key");
    }
    const std::string_view type = request.Header("content-type");
    if (!request.body.empty() && !type.empty() && type.substr(0, 16) != "application/json") {
        return http::ErrorResponse(
            415, "unsupported_media_type", "send the body as application/json"
        );
    }
    if (const auto problem = BodyProblem(command, request.body)) {
        return http::ErrorResponse(
            problem->reason == "malformed_json" ? 400 : 422,
            problem->reason,
            problem->message,
            problem->field
        );
    }
    const std::string& payment_id = request.path_params.at(0);
    if (!IsUuid(payment_id)) {
        return http::ErrorResponse(404, "payment_not_found", "payment not found", "payment_id");
    }
    const std::string trace =
        SanitizeTraceId(request.Header("x-correlation-id"), tracing::CurrentTraceIdAsUuid());
    const log::ScopedContext context(trace, "", payment_id);
    return PassOn(
        orchestrator_.Forward(
            "POST",
            "/internal/payments/" + payment_id + "/" + std::string(command),
            request.body,
            trace
        ),
        trace
    );
}

http::Response GatewayApi::ListRefunds(const http::Request& request) {
    if (!ApiKeyMatches(request, options_.api_key)) {
        return http::ErrorResponse(401, "unauthorized", "invalid API key");
    }
    const std::string& payment_id = request.path_params.at(0);
    if (!IsUuid(payment_id)) {
        return http::ErrorResponse(404, "payment_not_found", "payment not found", "payment_id");
    }
    const std::string trace =
        SanitizeTraceId(request.Header("x-correlation-id"), tracing::CurrentTraceIdAsUuid());
    return PassOn(
        orchestrator_.Forward("GET", "/internal/payments/" + payment_id + "/refunds", "", trace),
        trace
    );
}

void GatewayApi::AddRoutes(http::Router& router) {
    router.Add("POST", "/payments", [this](http::Request& r) { return CreatePayment(r); });
    for (const std::string_view command : {"capture", "cancel", "refunds"}) {
        router.Add(
            "POST",
            "/payments/{payment_id}/" + std::string(command),
            [this, command](http::Request& r) { return PaymentCommand(r, command); }
        );
    }
    router.Add("GET", "/payments/{payment_id}/refunds", [this](http::Request& r) {
        return ListRefunds(r);
    });
}

HttpPaymentCreator::HttpPaymentCreator(
    const std::string& orchestrator_url, std::string internal_token
)
    : client_(
          orchestrator_url,
          http::ClientOptions{256, std::chrono::milliseconds(1000), std::chrono::milliseconds(5000)}
      ),
      internal_token_(std::move(internal_token)) {}

std::vector<std::pair<std::string, std::string>> HttpPaymentCreator::Headers(
    const std::string& trace_id, const std::string& traceparent, const std::string& tracestate
) const {
    std::vector<std::pair<std::string, std::string>> headers = {
        {"content-type", "application/json"}, {"x-trace-id", trace_id}};
    if (!internal_token_.empty()) {
        headers.emplace_back(std::string(kInternalTokenHeader), internal_token_);
    }
    headers.emplace_back("traceparent", traceparent);
    if (!tracestate.empty()) {
        headers.emplace_back("tracestate", tracestate);
    }
    return headers;
}

Result<http::Response> HttpPaymentCreator::Forward(
    const std::string& method,
    const std::string& target,
    const std::string& body,
    const std::string& trace_id
) {
    tracing::Span span(method + " " + target, tracing::SpanKind::kClient);
    span.SetAttribute("http.request.method", method);
    span.SetAttribute("server.address", std::string("orchestrator"));
    auto answer = client_.Send(
        method, target, body, Headers(trace_id, span.Traceparent(), span.Context().tracestate)
    );
    if (answer) {
        span.SetAttribute("http.response.status_code", std::int64_t{answer->status});
    } else {
        span.SetError(answer.error().message);
    }
    return answer;
}

Result<http::Response> HttpPaymentCreator::Create(
    const PaymentRequest& request, const std::string& trace_id
) {
    nlohmann::json forward = {
        {"customer_id", request.customer_id.Value()},
        {"amount_cents", request.amount.amount_minor},
        {"currency", request.amount.currency.CodeString()},
        {"idempotency_key", request.idempotency_key.Value()},
    };
    if (request.capture_method == CaptureMethod::kManual) {
        forward["capture_method"] = "manual";
    }
    std::vector<std::pair<std::string, std::string>> headers = {
        {"content-type", "application/json"},
        {"x-trace-id", trace_id},
        {"idempotency-key", request.idempotency_key.Value()}};
    if (!internal_token_.empty()) {
        headers.emplace_back(std::string(kInternalTokenHeader), internal_token_);
    }
    tracing::Span span("POST /internal/payments", tracing::SpanKind::kClient);
    span.SetAttribute("http.request.method", std::string("POST"));
    span.SetAttribute("server.address", std::string("orchestrator"));
    headers.emplace_back("traceparent", span.Traceparent());
    if (!span.Context().tracestate.empty()) {
        headers.emplace_back("tracestate", span.Context().tracestate);
    }
    auto answer = client_.Send("POST", "/internal/payments", forward.dump(), headers);
    if (answer) {
        span.SetAttribute("http.response.status_code", std::int64_t{answer->status});
    } else {
        span.SetError(answer.error().message);
    }
    return answer;
}

}  // namespace sagapay::gateway
