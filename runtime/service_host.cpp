#include "runtime/service_host.hpp"

#include <csignal>

#include <nlohmann/json.hpp>
#include <pthread.h>

#include "runtime/log.hpp"
#include "runtime/metrics.hpp"

namespace sagapay {

ServiceHost::ServiceHost(const Config& config, std::string service, int port)
    : config_(config), service_(std::move(service)), port_(port) {}

ServiceHost::~ServiceHost() {
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

int ServiceHost::Run() {
    router_.Add("GET", "/health", [this](http::Request&) {
        nlohmann::json checks = nlohmann::json::object();
        bool ok = true;
        for (const auto& [name, check] : checks_) {
            bool up = false;
            try {
                up = check();
            } catch (const std::exception&) {
                up = false;
            }
            checks[name] = up ? "ok" : "down";
            ok = ok && up;
        }
        nlohmann::json body = {{"ok", ok}, {"service", service_}, {"checks", checks}};
        return http::JsonResponse(ok ? 200 : 503, body.dump());
    });
    router_.Add("GET", "/metrics", [](http::Request&) {
        http::Response response;
        response.content_type = "text/plain; version=0.0.4";
        response.body = metrics::Serialize();
        return response;
    });

    http::ServerOptions options;
    options.host = config_.BindHostFor(service_);
    options.body_limit = std::size_t{16} * 1024;  // every body here is a few hundred bytes
    options.port = static_cast<std::uint16_t>(port_);
    options.threads = config_.http_threads;
    auto& requests = metrics::Get().http_requests_total;
    auto& durations = metrics::Get().http_request_duration_seconds;
    const std::string service = config_.service_name;
    options.observer =
        [&requests,
         &durations,
         service](const http::Request& request, const http::Response& response, double seconds) {
            // Route templates keep label cardinality bounded: path parameters become "{param}".
            std::string route = response.status == 404 ? std::string("unmatched") : request.path;
            for (const auto& param : request.path_params) {
                const auto at = route.find("/" + param);
                if (!param.empty() && at != std::string::npos) {
                    route.replace(at + 1, param.size(), "{param}");
                }
            }
            requests
                .Add(
                    {{"service", service},
                     {"route", route},
                     {"method", request.method},
                     {"status_code", std::to_string(response.status)}}
                )
                .Increment();
            durations
                .Add(
                    {{"service", service}, {"route", route}, {"method", request.method}},
                    metrics::LatencyBuckets()
                )
                .Observe(seconds);
        };
    http::Server server(options, router_);
    server.Start();

    for (auto& [name, work] : workers_) {
        threads_.emplace_back(work);
    }
    log::Info(
        "service started",
        {{"port", std::to_string(server.Port())}, {"workers", std::to_string(workers_.size())}}
    );

    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    int signal = 0;
    sigwait(&set, &signal);
    log::Info("stopping", {{"signal", std::to_string(signal)}});

    server.Stop();
    for (auto& thread : threads_) {
        thread.request_stop();
    }
    threads_.clear();  // joins
    log::Info("stopped");
    return 0;
}

}  // namespace sagapay
