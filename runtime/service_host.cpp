#include "runtime/service_host.hpp"

#include <array>
#include <condition_variable>
#include <csignal>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <optional>

#include <nlohmann/json.hpp>
#include <pthread.h>

#include "runtime/bootstrap.hpp"
#include "runtime/log.hpp"
#include "runtime/metrics.hpp"
#include "runtime/otlp_exporter.hpp"
#include "runtime/tracing.hpp"

namespace sagapay {

/// Runs each check on its own thread every `interval` and keeps the last result, so /health
/// reads a cache and a check that hangs delays nobody but itself.
class ServiceHost::HealthMonitor {
public:
    using Checks = std::vector<std::pair<std::string, std::function<bool()>>>;

    HealthMonitor(
        const Checks& checks, std::chrono::milliseconds interval, std::chrono::milliseconds max_age
    )
        : results_(checks.size()), interval_(interval), max_age_(max_age) {
        threads_.reserve(checks.size());
        for (std::size_t i = 0; i < checks.size(); ++i) {
            results_[i].name = checks[i].first;
            threads_.emplace_back([this, i, check = checks[i].second](std::stop_token stop) {
                Loop(stop, i, check);
            });
        }
    }
    HealthMonitor(const HealthMonitor&) = delete;
    HealthMonitor& operator=(const HealthMonitor&) = delete;
    ~HealthMonitor() {
        for (auto& thread : threads_) {
            thread.request_stop();
        }
        wake_.notify_all();
        threads_.clear();  // joins; a check in progress finishes first (its own timeout)
    }

    /// (all ok, name → "ok"|"down") from the last results.
    [[nodiscard]] std::pair<bool, nlohmann::json> Current() const {
        const auto now = std::chrono::steady_clock::now();
        nlohmann::json checks = nlohmann::json::object();
        bool ok = true;
        const std::lock_guard lock(mutex_);
        for (const Result& result : results_) {
            const bool up = result.up && now - result.finished <= max_age_;
            checks[result.name] = up ? "ok" : "down";
            ok = ok && up;
        }
        return {ok, std::move(checks)};
    }

private:
    struct Result {
        std::string name;
        bool up = false;  // down until the first check answers
        std::chrono::steady_clock::time_point finished{};
    };

    void Loop(const std::stop_token& stop, std::size_t index, const std::function<bool()>& check) {
        while (!stop.stop_requested()) {
            bool up = false;
            try {
                up = check();
            } catch (...) {  // a check that throws reports down, whatever it threw
                up = false;
            }
            std::unique_lock lock(mutex_);
            results_[index].up = up;
            results_[index].finished = std::chrono::steady_clock::now();
            wake_.wait_for(lock, stop, interval_, [] { return false; });
        }
    }

    mutable std::mutex mutex_;
    std::condition_variable_any wake_;
    std::vector<Result> results_;
    std::chrono::milliseconds interval_;
    std::chrono::milliseconds max_age_;
    std::vector<std::jthread> threads_;  // last: joined before the rest is destroyed
};

ServiceHost::ServiceHost(const Config& config, std::string service, int port)
    : config_(config), service_(std::move(service)), port_(port) {}

ServiceHost::~ServiceHost() {
    if (server_) {
        server_->Stop();
    }
    health_.reset();
    for (auto& thread : threads_) {
        thread.request_stop();
    }
}

void ServiceHost::AddHealthCheck(std::string name, std::function<bool()> check) {
    checks_.emplace_back(std::move(name), std::move(check));
}

void ServiceHost::AddWorker(std::string name, std::function<void(std::stop_token)> work) {
    workers_.emplace_back(std::move(name), std::move(work));
}

void ServiceHost::AddConsumer(EventBus& bus, ConsumerSpec spec, EventHandler handler) {
    auto options = std::make_unique<ConsumerOptions>();
    options->service = config_.service_name;
    options->topic = std::string(spec.topic);
    options->group = std::move(spec.group);
    options->dsn = config_.DsnFor(service_);
    options->batch = static_cast<std::size_t>(config_.consumer_batch);
    options->max_deliveries = config_.bus_max_deliveries;
    options->visibility_timeout = config_.bus_visibility_timeout;
    options->redelivery.initial_delay = config_.bus_retry_initial_delay;
    options->redelivery.max_delay = config_.bus_retry_max_delay;
    options->redelivery.park_after = config_.bus_park_after;
    options->batch_mode = spec.batch_mode;
    options->order = spec.order;
    options->prelude = std::move(spec.prelude);
    auto stored = std::make_unique<EventHandler>(std::move(handler));
    const ConsumerOptions* o = options.get();
    const EventHandler* h = stored.get();
    consumer_options_.push_back(std::move(options));
    handlers_.push_back(std::move(stored));
    AddWorker("consumer " + o->topic, [&bus, o, h](std::stop_token stop) {
        RunEventConsumer(std::move(stop), bus, *o, *h);
    });
}

void ServiceHost::AddOutboxRelay(EventBus& bus) {
    relay_options_ = std::make_unique<RelayOptions>();
    relay_options_->service = config_.service_name;
    relay_options_->dsn = config_.DsnFor(service_);
    relay_options_->batch = static_cast<int>(config_.outbox_batch);
    relay_options_->poll_fallback = config_.outbox_poll_fallback;
    relay_options_->retention = config_.outbox_retention;
    relay_options_->inbox_retention = config_.inbox_retention;
    relay_options_->dlq_retention = config_.bus_dlq_retention;
    relay_options_->maintenance_interval = config_.bus_trim_interval;
    const RelayOptions* o = relay_options_.get();
    AddWorker("outbox relay", [&bus, o](std::stop_token stop) {
        RunOutboxRelay(std::move(stop), bus, *o);
    });
}

void ServiceHost::BlockStopSignals() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

void ServiceHost::RequestStop() {
    kill(getpid(), SIGTERM);
}

namespace {

bool IsStandardMethod(std::string_view method) noexcept {
    static constexpr std::array<std::string_view, 7> kMethods = {
        "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"};
    for (const std::string_view known : kMethods) {
        if (method == known) {
            return true;
        }
    }
    return false;
}

}  // namespace

std::function<void(const http::Request&, const http::Response&, double)> HttpMetricsObserver(
    std::string service
) {
    auto& requests = metrics::Get().http_requests_total;
    auto& durations = metrics::Get().http_request_duration_seconds;
    return [&requests, &durations, service = std::move(service)](
               const http::Request& request, const http::Response& response, double seconds
           ) {
        // Bounded label values whatever the caller sends: the route pattern or "unmatched", a
        // standard method or "OTHER".
        const std::string route = request.route.empty() ? std::string("unmatched") : request.route;
        const std::string method = IsStandardMethod(request.method) ? request.method : "OTHER";
        requests
            .Add(
                {{"service", service},
                 {"route", route},
                 {"method", method},
                 {"status_code", std::to_string(response.status)}}
            )
            .Increment();
        durations
            .Add(
                {{"service", service}, {"route", route}, {"method", method}},
                metrics::LatencyBuckets()
            )
            .Observe(seconds);
    };
}

http::Interceptor TracingInterceptor() {
    return [](http::Request& request,
              std::string_view route,
              const std::function<http::Response(http::Request&)>& next) {
        if (route == "/health" || route == "/metrics") {
            return next(request);  // scrapes and probes are not the saga's work
        }
        std::string_view correlation = request.Header("x-correlation-id");
        if (correlation.empty()) {
            correlation = request.Header("x-trace-id");
        }
        const std::string method = IsStandardMethod(request.method) ? request.method : "HTTP";
        tracing::Span span(
            method + " " + std::string(route),
            tracing::SpanKind::kServer,
            ContinueTrace(request.Header("traceparent"), request.Header("tracestate"), correlation)
        );
        span.SetAttribute("http.request.method", method);
        span.SetAttribute("http.route", std::string(route));
        http::Response response = next(request);
        span.SetAttribute("http.response.status_code", std::int64_t{response.status});
        if (response.status >= 500) {
            span.SetError("HTTP " + std::to_string(response.status));
        }
        response.headers.emplace_back("traceparent", span.Traceparent());
        if (!span.Context().tracestate.empty()) {
            response.headers.emplace_back("tracestate", span.Context().tracestate);
        }
        return response;
    };
}

void ServiceHost::AddStandardRoutes() {
    router_.Add("GET", "/health", [this](http::Request&) {
        if (!health_) {
            return http::ErrorResponse(503, "service_unavailable", "not started");
        }
        auto [ok, checks] = health_->Current();
        nlohmann::json body = {{"ok", ok}, {"service", service_}, {"checks", std::move(checks)}};
        return http::JsonResponse(ok ? 200 : 503, body.dump());
    });
    router_.Add("GET", "/metrics", [](http::Request&) {
        http::Response response;
        response.content_type = "text/plain; version=0.0.4";
        response.body = metrics::Serialize();
        return response;
    });
}

void ServiceHost::Start() {
    const std::string host = config_.BindHostFor(service_);
    if (IsInternalService(service_) && !IsLoopbackHost(host) && config_.internal_token.empty()) {
        throw std::runtime_error(
            service_ + " binds to " + host +
            ", beyond loopback: set INTERNAL_API_TOKEN (see docs/configuration.md)"
        );
    }
    if (IsInternalService(service_) && !config_.internal_token.empty()) {
        router_.SetGuard(
            [token = config_.internal_token](
                const http::Request& request, std::string_view route
            ) -> std::optional<http::Response> {
                if (route == "/health" || route == "/metrics" ||
                    InternalTokenMatches(request, token)) {
                    return std::nullopt;
                }
                return http::ErrorResponse(
                    401, "unauthorized", "missing or invalid X-Internal-Token"
                );
            }
        );
    }
    health_ = std::make_unique<HealthMonitor>(
        checks_, config_.health_check_interval, config_.health_check_max_age
    );
    AddStandardRoutes();

    http::ServerOptions options;
    options.host = host;
    options.body_limit = std::size_t{16} * 1024;  // every body here is a few hundred bytes
    options.port = static_cast<std::uint16_t>(port_);
    options.threads = config_.http_threads;
    options.max_connections = static_cast<std::size_t>(config_.http_max_connections);
    options.fd_headroom = static_cast<std::size_t>(config_.http_fd_headroom);
    options.first_request_timeout = config_.http_first_request_timeout;
    options.idle_timeout = config_.http_idle_timeout;
    options.observer = HttpMetricsObserver(config_.service_name);
    StartTracing();
    router_.SetInterceptor(TracingInterceptor());
    server_ = std::make_unique<http::Server>(options, router_);
    server_->Start();

    for (auto& [name, work] : workers_) {
        threads_.emplace_back(work);
    }
    log::Info(
        "service started",
        {{"port", std::to_string(server_->Port())},
         {"workers", std::to_string(workers_.size())},
         {"max_connections", std::to_string(server_->MaxConnections())}}
    );
}

std::uint16_t ServiceHost::Port() const noexcept {
    return server_ ? server_->Port() : std::uint16_t{0};
}

void ServiceHost::Stop() {
    if (server_) {
        server_->Stop();
    }
    health_.reset();
    for (auto& thread : threads_) {
        thread.request_stop();
    }
    threads_.clear();  // joins
    if (exporter_) {
        tracing::SetSink(nullptr);
        exporter_.reset();  // sends what is queued
    }
}

void ServiceHost::StartTracing() {
    if (config_.otlp_endpoint.empty() && config_.otlp_traces_endpoint.empty()) {
        return;
    }
    auto target = tracing::ResolveOtlpTarget(config_.otlp_traces_endpoint, config_.otlp_endpoint);
    if (!target) {
        throw std::runtime_error(target.error().message);  // LoadConfig refuses it first
    }
    tracing::OtlpOptions options;
    options.target = std::move(*target);
    options.service_name = config_.otel_service_name;
    options.max_queue = static_cast<std::size_t>(config_.otel_bsp_max_queue_size);
    options.max_batch = static_cast<std::size_t>(config_.otel_bsp_max_export_batch_size);
    options.schedule_delay = config_.otel_bsp_schedule_delay;
    options.timeout = config_.otlp_timeout;
    options.headers = tracing::ParseOtlpHeaders(config_.otlp_headers);
    log::Info(
        "exporting traces",
        {{"endpoint", options.target.origin + options.target.path},
         {"max_queue", std::to_string(options.max_queue)}}
    );
    exporter_ = std::make_unique<tracing::OtlpExporter>(std::move(options));
    tracing::SetSink(exporter_.get());
}

int ServiceHost::Run() {
    Start();
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    int signal = 0;
    sigwait(&set, &signal);
    log::Info("stopping", {{"signal", std::to_string(signal)}});
    if (!FinishesWithin([this] { Stop(); }, kShutdownGrace)) {
        log::Error(
            "shutdown_timeout",
            {{"grace_ms", std::to_string(kShutdownGrace.count())},
             {"action", "exiting without waiting for the rest"}}
        );
        std::_Exit(1);
    }
    log::Info("stopped");
    return 0;
}

bool FinishesWithin(std::function<void()> work, std::chrono::milliseconds limit) {
    struct State {
        std::mutex mutex;
        std::condition_variable done_cv;
        bool done = false;
    };
    auto state = std::make_shared<State>();
    std::thread([state, work = std::move(work)] {
        work();
        const std::lock_guard lock(state->mutex);
        state->done = true;
        state->done_cv.notify_all();
    }).detach();
    std::unique_lock lock(state->mutex);
    return state->done_cv.wait_for(lock, limit, [&] { return state->done; });
}

}  // namespace sagapay
