#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <stop_token>
#include <string>
#include <utility>
#include <vector>

#include "adapters/http/client.hpp"
#include "app/console/health.hpp"
#include "app/console/ports.hpp"
#include "core/clock.hpp"
#include "core/ports/event_bus.hpp"

namespace sagapay::console {

using Headers = std::vector<std::pair<std::string, std::string>>;

/// ReviewDecider over risk's ops API.
class HttpReviewDecider final : public ReviewDecider {
public:
    HttpReviewDecider(const std::string& risk_url, Headers headers)
        : client_(risk_url), headers_(std::move(headers)) {}
    Answer Decide(const std::string& payment_id, bool approve, const std::string& by) override;

private:
    http::Client client_;
    Headers headers_;
};

/// DeadLetters over the bus, with the replay guard's orchestrator lookups (app/dlq).
class BusDeadLetters final : public DeadLetters {
public:
    BusDeadLetters(EventBusPtr bus, const std::string& orchestrator_url, Headers headers)
        : bus_(std::move(bus)), orchestrator_(orchestrator_url), headers_(std::move(headers)) {}
    std::vector<app::ParkedMessage> List(const std::string& topic) override;
    std::optional<app::ParkedDetail> Find(const std::string& topic, const std::string& event_id)
        override;
    app::ReplayOutcome Replay(const std::string& topic, const std::string& event_id) override;

private:
    std::mutex mutex_;  // one bus reader at a time
    EventBusPtr bus_;
    http::Client orchestrator_;
    Headers headers_;
};

/// One service the health page watches.
struct WatchedService {
    std::string name;
    std::string url;  ///< "http://127.0.0.1:8000"
};

/// HealthSource that samples every service (GET /health and /metrics) and the ledger's
/// reconciliation every `interval` on its own thread (Run); with a Prometheus URL the charts
/// come from Prometheus (query_range over the last 10 minutes) while it answers.
class SampledHealth final : public HealthSource {
public:
    SampledHealth(
        std::vector<WatchedService> services,
        const std::string& ledger_url,
        Headers ops_headers,
        const std::string& prometheus_url,
        const Clock& clock
    );
    nlohmann::json Snapshot() override;
    /// Samples until `stop`, every `interval`.
    void Run(std::stop_token stop, std::chrono::milliseconds interval);
    /// One round of sampling (Run's body).
    void SampleOnce();

private:
    std::optional<nlohmann::json> PrometheusPoints();

    struct Watched {
        WatchedService service;
        std::unique_ptr<http::Client> client;
    };
    std::vector<Watched> watched_;
    std::unique_ptr<http::Client> ledger_;
    std::unique_ptr<http::Client> prometheus_;
    Headers ops_headers_;
    const Clock& clock_;
    std::mutex mutex_;
    HealthSeries series_{300};
    nlohmann::json services_ = nlohmann::json::array();
    nlohmann::json reconciliation_;
};

}  // namespace sagapay::console
