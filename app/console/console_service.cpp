#include "app/console/console_service.hpp"

#include <stdexcept>

#include "app/console/adapters.hpp"
#include "app/console/console_api.hpp"
#include "app/console/pg_console_store.hpp"
#include "core/ids.hpp"
#include "runtime/bootstrap.hpp"
#include "runtime/service_host.hpp"

namespace sagapay {
std::span<const postgres::Migration> ConsoleMigrations();
namespace console {
std::span<const Asset> ConsoleAssets();
}  // namespace console
}  // namespace sagapay

namespace sagapay::console {

namespace {

std::string LocalUrl(const Config& config, std::string_view service) {
    return "http://127.0.0.1:" + std::to_string(config.PortFor(service));
}

}  // namespace

int RunConsole(const Config& config, const Clock& clock) {
    if (config.ops_api_key.empty()) {
        throw std::runtime_error(
            "the console needs OPS_API_KEY (or API_KEY on loopback): operators log in with it"
        );
    }
    EventBusPtr bus = PrepareService(config, "console", ConsoleMigrations());
    Headers ops_headers = {{"x-api-key", config.ops_api_key}};
    Headers internal_headers;
    if (!config.internal_token.empty()) {
        ops_headers.emplace_back("x-internal-token", config.internal_token);
        internal_headers.emplace_back("x-internal-token", config.internal_token);
    }
    PgConsoleStore store(config);
    HttpReviewDecider decider(LocalUrl(config, "risk"), ops_headers);
    BusDeadLetters dead_letters(std::move(bus), config.orchestrator_url, internal_headers);
    std::vector<WatchedService> watched;
    for (const char* service :
         {"gateway", "orchestrator", "risk", "provider", "ledger", "notification", "psp"}) {
        watched.push_back({service, LocalUrl(config, service)});
    }
    SampledHealth health(
        std::move(watched), LocalUrl(config, "ledger"), ops_headers, config.prometheus_url, clock
    );
    SessionStore sessions(
        {.idle_timeout = config.console_session_idle, .max_sessions = config.console_max_sessions},
        clock,
        NewSecretToken
    );
    ConsoleApi api(
        {.ops_api_key = config.ops_api_key, .assets = ConsoleAssets()},
        sessions,
        store,
        decider,
        dead_letters,
        health
    );

    ServiceHost host(config, "console", config.PortFor("console"));
    host.AddHealthCheck("postgres", [&store] {
        auto lease = store.ConsolePool().Acquire(std::chrono::milliseconds(1000));
        return !lease->Exec("SELECT 1").Empty();
    });
    host.AddWorker("health-sampler", [&health](std::stop_token stop) {
        health.Run(stop, std::chrono::milliseconds(2000));
    });
    api.AddRoutes(host.Routes());
    return host.Run();
}

}  // namespace sagapay::console
