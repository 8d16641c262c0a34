#include "services/gateway/gateway_service.hpp"

#include "runtime/bootstrap.hpp"
#include "runtime/log.hpp"
#include "runtime/metrics.hpp"
#include "services/gateway/gateway_api.hpp"
#include "services/gateway/rate_limiter.hpp"

namespace sagapay::gateway {

int RunGateway(const Config& config, const Clock& /*clock*/) {
    if (config.api_key.empty()) {
        throw std::runtime_error("API_KEY is required: set it to the key clients send in x-api-key"
        );
    }
    log::Info("startup_config", DescribeConfig(config));
    RateLimiter limiter(redis::ParseRedisUrl(config.redis_url), config.rate_limit_per_minute);
    HttpPaymentCreator orchestrator(config.orchestrator_url, config.internal_token);
    auto& requests = metrics::Get().payment_requests_total.Add({{"service", config.service_name}});
    auto& latency = metrics::Get().payment_latency_seconds.Add(
        {{"service", config.service_name}}, metrics::LatencyBuckets()
    );
    GatewayOptions options;
    options.api_key = config.api_key;
    options.on_valid_request = [&requests] { requests.Increment(); };
    options.on_orchestrator_call = [&latency](double seconds) { latency.Observe(seconds); };
    GatewayApi api(std::move(options), limiter, orchestrator);

    ServiceHost host(config, "gateway", config.PortFor("gateway"));
    AddStandardHealthChecks(host, config, nullptr);
    api.AddRoutes(host.Routes());
    return host.Run();
}

}  // namespace sagapay::gateway
