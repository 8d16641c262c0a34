#pragma once

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

namespace sagapay {

/// Runs one service process: its HTTP server (with GET /health and GET /metrics added), its
/// background workers (event consumers, the outbox relay, sweepers) on their own threads, until
/// SIGINT or SIGTERM; then stops the server, asks the workers to stop and joins them.
class ServiceHost {
public:
    ServiceHost(const Config& config, std::string service, int port);
    ServiceHost(const ServiceHost&) = delete;
    ServiceHost& operator=(const ServiceHost&) = delete;
    ~ServiceHost();

    [[nodiscard]] http::Router& Routes() noexcept { return router_; }

    /// A readiness check for /health: name → true when the dependency answers.
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
};

}  // namespace sagapay
