#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "adapters/http/http.hpp"
#include "core/payments/payment_request.hpp"
#include "core/result.hpp"

namespace sagapay::gateway {

struct RateDecision {
    bool allowed = true;
    std::chrono::milliseconds retry_after{0};
};

/// Port: the per-customer rate limit. kUnavailable when the limit cannot be checked (the gateway
/// then admits: the limit protects capacity, not money).
class RateLimit {
public:
    virtual ~RateLimit() = default;
    [[nodiscard]] virtual Result<RateDecision> Take(const CustomerId& customer) = 0;
};

/// Port: the orchestrator's calls: create (`POST /internal/payments`), and the payment commands
/// and reads the gateway passes on (`Forward`). An error means no answer (unreachable, timed
/// out): the client may retry (with the same key).
class PaymentCreator {
public:
    virtual ~PaymentCreator() = default;
    [[nodiscard]] virtual Result<http::Response> Create(
        const PaymentRequest& request, const std::string& trace_id
    ) = 0;
    /// `method` `target` on the orchestrator with `body` (JSON, may be empty).
    [[nodiscard]] virtual Result<http::Response> Forward(
        const std::string& method,
        const std::string& target,
        const std::string& body,
        const std::string& trace_id
    ) = 0;
};

struct GatewayOptions {
    std::string api_key;  ///< What clients send in x-api-key.
    /// Metrics hooks (optional): a request that passed authentication and validation; the
    /// seconds the orchestrator took to answer (or to fail).
    std::function<void()> on_valid_request;
    std::function<void(double)> on_orchestrator_call;
};

/// `POST /payments`: the checks in the seed's order — API key (401), content type (415), JSON and
/// fields (400/422), rate limit (429 with Retry-After) — then the orchestrator's answer, or 503
/// `orchestrator_unavailable` when it gives none. Idempotency is the orchestrator's: its unique
/// (customer, key) row answers a replay with the payment's current status. Thread-safe.
class GatewayApi {
public:
    GatewayApi(GatewayOptions options, RateLimit& limit, PaymentCreator& orchestrator)
        : options_(std::move(options)), limit_(limit), orchestrator_(orchestrator) {}

    http::Response CreatePayment(const http::Request& request);

    /// `POST /payments/{id}/capture`, `/cancel` and `/refunds`, and `GET /payments/{id}/refunds`:
    /// the API key (401), the content type (415) and the body (400/422, the orchestrator's own
    /// parsers) checked here, then the orchestrator's answer passed on (its 404/409/422 too), or
    /// 503 `orchestrator_unavailable` when it gives none or fails.
    http::Response PaymentCommand(const http::Request& request, std::string_view command);
    http::Response ListRefunds(const http::Request& request);

    /// Adds `POST /payments` and the payment commands.
    void AddRoutes(http::Router& router);

private:
    GatewayOptions options_;
    RateLimit& limit_;
    PaymentCreator& orchestrator_;
};

/// PaymentCreator over the orchestrator's HTTP API with a keep-alive pool.
class HttpPaymentCreator final : public PaymentCreator {
public:
    /// `internal_token` (INTERNAL_API_TOKEN) goes with every call as X-Internal-Token when set.
    explicit HttpPaymentCreator(
        const std::string& orchestrator_url, std::string internal_token = {}
    );

    // PaymentCreator
    [[nodiscard]] Result<http::Response> Create(
        const PaymentRequest& request, const std::string& trace_id
    ) override;
    [[nodiscard]] Result<http::Response> Forward(
        const std::string& method,
        const std::string& target,
        const std::string& body,
        const std::string& trace_id
    ) override;

private:
    /// The internal token, trace and traceparent headers of every call.
    [[nodiscard]] std::vector<std::pair<std::string, std::string>> Headers(
        const std::string& trace_id, const std::string& traceparent, const std::string& tracestate
    ) const;

    http::Client client_;
    std::string internal_token_;
};

}  // namespace sagapay::gateway
