#include "services/gateway/gateway_service.hpp"

#include "core/ids.hpp"
#include "core/payments/payment_request.hpp"
#include "runtime/bootstrap.hpp"
#include "runtime/log.hpp"
#include "runtime/metrics.hpp"
#include "services/gateway/idempotency_cache.hpp"
#include "services/gateway/rate_limiter.hpp"

namespace sagapay::gateway {

namespace {

http::Response KeyReused() {
    return http::ErrorResponse(
        422,
        "idempotency_key_reused",
        "this idempotency_key was already used by this customer with a different request body; use "
        "a new key for a new payment",
        "idempotency_key"
    );
}

http::Response Unavailable(std::string_view message) {
    http::Response response = http::ErrorResponse(503, "orchestrator_unavailable", message);
    response.headers.emplace_back("retry-after", "1");
    return response;
}

class Gateway {
public:
    explicit Gateway(const Config& config)
        : config_(config),
          limiter_(redis::ParseRedisUrl(config.redis_url), config.rate_limit_per_minute),
          cache_(
              redis::ParseRedisUrl(config.redis_url),
              std::chrono::seconds(config.idempotency_ttl_seconds)
          ),
          orchestrator_(
              config.orchestrator_url,
              http::ClientOptions{
                  256, std::chrono::milliseconds(1000), std::chrono::milliseconds(5000)}
          ),
          requests_(metrics::Get().payment_requests_total.Add({{"service", config.service_name}})),
          latency_(metrics::Get().payment_latency_seconds.Add(
              {{"service", config.service_name}}, metrics::LatencyBuckets()
          )) {}

    http::Response CreatePayment(http::Request& request) {
        if (!ApiKeyMatches(request, config_.api_key)) {
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
            const auto& e = parsed.error();
            return http::ErrorResponse(e.status, e.code, e.message, e.field);
        }
        requests_.Increment();
        std::string trace(request.Header("x-correlation-id"));
        if (trace.empty() || trace.size() > 128 || !IsSafeIdentifier(trace)) {
            trace = NewUuid();
        }
        const log::ScopedContext context(trace, "", "");
        try {
            const RateDecision decision = limiter_.Take(parsed->customer_id);
            if (!decision.allowed) {
                http::Response response = http::ErrorResponse(
                    429, "rate_limited", "rate limit exceeded for this customer"
                );
                const auto seconds =
                    std::max<std::int64_t>(1, (decision.retry_after.count() + 999) / 1000);
                response.headers.emplace_back("retry-after", std::to_string(seconds));
                return response;
            }
        } catch (const redis::RedisError& e) {
            // Fail open: the limit protects capacity, not money; idempotency lives in PostgreSQL.
            log::Warn("rate limiter unavailable; admitting the request", {{"error", e.what()}});
        }
        const auto started = std::chrono::steady_clock::now();
        const std::string fingerprint = parsed->Fingerprint();
        if (const auto cached = cache_.Find(parsed->customer_id, parsed->idempotency_key)) {
            if (cached->fingerprint != fingerprint) {
                return KeyReused();
            }
            // A replay: answer with the payment's current status, not a frozen copy.
            const auto current = orchestrator_.Send(
                "GET", "/payments/" + cached->payment_id, "", {{"x-trace-id", trace}}
            );
            if (current.Ok() && current.response->status == 200) {
                const auto payment = nlohmann::json::parse(current.response->body, nullptr, false);
                if (payment.is_object() && payment.contains("status")) {
                    http::Response response = http::JsonResponse(
                        200,
                        nlohmann::json{
                            {"payment_id", cached->payment_id}, {"status", payment["status"]}}
                            .dump()
                    );
                    response.headers.emplace_back("idempotent-replayed", "true");
                    response.headers.emplace_back("x-correlation-id", trace);
                    return response;
                }
            }
            // Fall through: the orchestrator decides from its durable row.
        }
        const nlohmann::json forward = {
            {"customer_id", parsed->customer_id},
            {"amount_cents", parsed->amount_cents},
            {"currency", parsed->currency},
            {"idempotency_key", parsed->idempotency_key},
        };
        const auto result = orchestrator_.Send(
            "POST",
            "/internal/payments",
            forward.dump(),
            {{"content-type", "application/json"},
             {"x-trace-id", trace},
             {"idempotency-key", parsed->idempotency_key}}
        );
        latency_.Observe(
            std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count()
        );
        if (!result.Ok()) {
            log::Warn("orchestrator unreachable", {{"error", result.error.message}});
            return Unavailable(
                "the orchestrator did not answer; retry with the same idempotency_key"
            );
        }
        if (result.response->status >= 500) {
            log::Warn(
                "orchestrator rejected payment",
                {{"status", std::to_string(result.response->status)}}
            );
            return Unavailable("the orchestrator failed; retry with the same idempotency_key");
        }
        http::Response response =
            http::JsonResponse(result.response->status, result.response->body);
        response.headers.emplace_back("x-correlation-id", trace);
        if (const auto replayed = result.response->Header("idempotent-replayed");
            !replayed.empty()) {
            response.headers.emplace_back("idempotent-replayed", std::string(replayed));
        }
        return response;
    }

private:
    const Config& config_;
    RateLimiter limiter_;
    IdempotencyCache cache_;
    http::Client orchestrator_;
    prometheus::Counter& requests_;
    prometheus::Histogram& latency_;
};

}  // namespace

int RunGateway(const Config& config) {
    if (config.api_key.empty()) {
        throw std::runtime_error("API_KEY is required: set it to the key clients send in x-api-key"
        );
    }
    log::Info("startup_config", DescribeConfig(config));
    Gateway gateway(config);
    ServiceHost host(config, "gateway", config.PortFor("gateway"));
    AddStandardHealthChecks(host, config, nullptr);
    host.Routes().Add("POST", "/payments", [&](http::Request& r) {
        return gateway.CreatePayment(r);
    });
    return host.Run();
}

}  // namespace sagapay::gateway
