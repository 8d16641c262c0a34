#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "adapters/http/http.hpp"
#include "core/ports/event_bus.hpp"
#include "runtime/config.hpp"
#include "runtime/event_consumer.hpp"
#include "runtime/outbox_relay.hpp"
#include "runtime/tracing.hpp"

namespace sagapay {

/// Runs `work` on a thread of its own and waits at most `limit` for it: true when it finished in
/// time, false when it did not (it goes on, detached; `work` must outlive nothing it captures by
/// reference unless the caller then ends the process).
[[nodiscard]] bool FinishesWithin(std::function<void()> work, std::chrono::milliseconds limit);

/// How long a service's graceful stop may take before the process exits anyway (a Kafka
/// consumer whose close hangs in a rebalance must not keep a SIGTERMed service alive): nothing is
/// lost by exiting, every change is committed or rolled back and unacked events come again.
inline constexpr std::chrono::milliseconds kShutdownGrace{20000};

/// Runs one service process: its HTTP server (with GET /health and GET /metrics added), its
/// background workers (event consumers, the outbox relay, sweepers) on their own threads, until
/// SIGINT or SIGTERM; then stops the server, asks the workers to stop and joins them, within
/// kShutdownGrace (else it logs `shutdown_timeout` and exits with status 1).
class ServiceHost {
public:
    ServiceHost(const Config& config, std::string service, int port);
    ServiceHost(const ServiceHost&) = delete;
    ServiceHost& operator=(const ServiceHost&) = delete;
    ~ServiceHost();

    [[nodiscard]] http::Router& Routes() noexcept { return router_; }

    /// Adds GET /health and GET /metrics to Routes(); Start() calls it. Public so that a test can
    /// list a service's whole route table without starting anything (app/openapi_test.cpp).
    void AddStandardRoutes();

    /// A readiness check for /health: name → true when the dependency answers. Checks run on
    /// their own threads every HEALTH_CHECK_INTERVAL_MS; /health answers from their last
    /// results at once (a check that has not finished within HEALTH_CHECK_MAX_AGE_MS is down),
    /// so a hanging dependency never holds an HTTP thread.
    void AddHealthCheck(std::string name, std::function<bool()> check);
    void AddWorker(std::string name, std::function<void(std::stop_token)> work);
    /// How one consumer runs; the rest (batch size, visibility, …) comes from the config.
    struct ConsumerSpec {
        std::string_view topic;
        std::string group;  ///< The seed's group id.
        BatchMode batch_mode = BatchMode::kOneTransaction;
        HandlingOrder order = HandlingOrder::kByPaymentId;
        BatchPrelude prelude = {};  ///< Optional; see BatchPrelude.
    };

    /// Consumes spec.topic in spec.group with `handler`.
    void AddConsumer(EventBus& bus, ConsumerSpec spec, EventHandler handler);
    void AddOutboxRelay(EventBus& bus);

    /// Blocks until SIGINT/SIGTERM (or RequestStop()). Returns the process exit code.
    int Run();
    void RequestStop();

    /// What Run() does around its wait, for tests: Start() adds /health and /metrics, starts the
    /// HTTP server and the workers; Stop() stops the server, then asks the workers to stop and
    /// joins them. Port() is the bound port once started.
    void Start();
    void Stop();
    [[nodiscard]] std::uint16_t Port() const noexcept;

    /// Blocks SIGINT/SIGTERM in the calling thread (call first thing in main, before any thread
    /// starts) so that Run() can wait for them with sigwait.
    static void BlockStopSignals();

private:
    const Config& config_;
    std::string service_;
    int port_;
    http::Router router_;
    std::vector<std::pair<std::string, std::function<bool()>>> checks_;
    std::vector<std::pair<std::string, std::function<void(std::stop_token)>>> workers_;
    std::vector<std::unique_ptr<ConsumerOptions>> consumer_options_;
    std::vector<std::unique_ptr<EventHandler>> handlers_;
    std::unique_ptr<RelayOptions> relay_options_;
    std::vector<std::jthread> threads_;
    class HealthMonitor;
    std::unique_ptr<HealthMonitor> health_;
    std::unique_ptr<tracing::SpanSink> exporter_;  ///< The OTLP exporter when configured.
    void StartTracing();
    std::unique_ptr<http::Server> server_;
};

/// The HTTP server observer that counts every answer in http_requests_total and
/// http_request_duration_seconds, labelled with `service`, the route pattern and the method.
/// Callers choose methods and paths, so neither becomes a label as sent: an unmatched path is
/// route "unmatched", a method outside GET, HEAD, POST, PUT, DELETE, PATCH, OPTIONS is "OTHER".
[[nodiscard]] std::function<void(const http::Request&, const http::Response&, double)>
HttpMetricsObserver(std::string service);

/// The router interceptor that opens a server span around every request but /health and
/// /metrics: it continues the caller's W3C `traceparent` (else the trace of a UUID
/// `x-correlation-id` / `x-trace-id`, else a new trace) and answers with the span's own
/// `traceparent` (and `tracestate`).
[[nodiscard]] http::Interceptor TracingInterceptor();

}  // namespace sagapay
