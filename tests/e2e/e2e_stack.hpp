#pragma once

#include <chrono>
#include <initializer_list>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sys/types.h>

#include "adapters/http/http.hpp"
#include "adapters/postgres/connection.hpp"
#include "adapters/redis/client.hpp"

namespace sagapay::testing {

/// The whole system for an end-to-end test: the real `sagapay` binary, one process per service
/// instance plus the sandbox PSP, on free ports, with fresh databases on the test PostgreSQL
/// server and a private stream prefix on the test Redis, so tests never see each other (or
/// `make up`). Destruction stops every process and drops the databases.
///
/// Instances: `replicas` names how many instances of a service the stack has (default one; the
/// sandbox PSP is always one). Every instance has its own port; they share the databases, the
/// consumer groups and the stream prefix, as `sagapay up --replicas` runs them. Calls that take an
/// `instance` default to instance 0. Gateway instance i calls orchestrator instance i mod n.
///
/// The bus: the children get EVENT_BUS from SAGAPAY_E2E_BUS in the test's environment (`redis`,
/// the default, or `kafka`; with `kafka` also KAFKA_BOOTSTRAP_SERVERS from the test's
/// environment), besides REDIS_URL and EVENT_STREAM_PREFIX as always (the Kafka adapter prefixes
/// its topics and groups with it). Bus() says which; checks that read Redis streams directly
/// are Redis-only and must assert an equivalent on Kafka.
class E2eStack {
public:
    static const std::vector<std::string>& AllServices();
    /// "redis" or "kafka": SAGAPAY_E2E_BUS (default redis). Throws on anything else.
    [[nodiscard]] static std::string BusFromEnvironment();

    /// Instances per service: `E2eStack(env, {{"orchestrator", 2}, {"provider", 2}})`. Its own
    /// type, so that `E2eStack({{"A", "1"}, {"B", "2"}})` stays an environment.
    struct Replicas {
        Replicas() = default;
        Replicas(std::initializer_list<std::pair<const std::string, int>> counts)
            : per_service(counts) {}
        std::map<std::string, int> per_service;
    };

    /// `env` adds or overrides variables for every process (e.g. short retry backoffs).
    explicit E2eStack(std::map<std::string, std::string> env = {})
        : E2eStack(std::move(env), Replicas{}) {}
    /// …and `replicas`: service → instances (1 to 16; not the sandbox PSP).
    E2eStack(std::map<std::string, std::string> env, const Replicas& replicas);
    E2eStack(const E2eStack&) = delete;
    E2eStack& operator=(const E2eStack&) = delete;
    ~E2eStack();

    /// Starts `instance` of `service` ("gateway", "orchestrator", "risk", "provider", "ledger",
    /// "notification", "psp-sandbox", or "console", which StartAll and StackSuite leave out) and
    /// waits until its /health answers 200.
    void Start(const std::string& service, int instance = 0);
    /// Starts every instance of every service, the PSP first and the gateways last.
    void StartAll();
    /// Sends `signal` to `instance` of `service` and waits for the process to exit.
    void Stop(const std::string& service, int signal = 15, int instance = 0);
    [[nodiscard]] bool Running(const std::string& service, int instance = 0);
    /// How many instances of `service` the stack has.
    [[nodiscard]] int Instances(const std::string& service) const;

    [[nodiscard]] std::string Url(const std::string& service, int instance = 0) const;
    [[nodiscard]] http::Client& Client(const std::string& service, int instance = 0);
    [[nodiscard]] postgres::Connection Db(const std::string& service) const;
    /// The test Redis (the gateway's rate limits and risk's velocity live there on either bus;
    /// the streams only on the Redis bus).
    [[nodiscard]] redis::Connection Redis() const;
    [[nodiscard]] const std::string& StreamPrefix() const noexcept { return prefix_; }
    [[nodiscard]] const std::string& ApiKey() const noexcept { return api_key_; }
    /// "redis" or "kafka" (BusFromEnvironment at construction).
    [[nodiscard]] const std::string& Bus() const noexcept { return bus_; }
    /// Where the services' logs (and anything a test wants to keep beside them) go.
    [[nodiscard]] const std::string& LogDir() const noexcept { return log_dir_; }

    /// `method` `path` on the gateway with the API key (and `body` as JSON unless null);
    /// returns (status, body), status 0 with `client_error` when nothing answered.
    std::pair<int, nlohmann::json> Gateway(
        const std::string& method, const std::string& path, const nlohmann::json& body = nullptr
    );
    /// POST /payments through the gateway; returns (status, body).
    std::pair<int, nlohmann::json> Pay(
        const std::string& customer,
        std::int64_t amount,
        const std::string& key,
        const std::string& currency = "USD"
    );
    /// GET /payments/{id} on the orchestrator.
    nlohmann::json Payment(const std::string& payment_id);
    /// Polls the orchestrator until the payment is in one of `states` (returns it) or `timeout`
    /// passes (returns what it last saw).
    nlohmann::json WaitForStatus(
        const std::string& payment_id,
        const std::set<std::string>& states,
        std::chrono::milliseconds timeout = std::chrono::seconds(20)
    );
    /// Runs `sagapay <args>` with this stack's environment; returns (exit code, stdout+stderr).
    std::pair<int, std::string> RunTool(const std::vector<std::string>& args);
    /// Prints the tail of every service log (call on failure).
    void DumpLogs() const;

private:
    struct Process {
        pid_t pid = -1;
        int port = 0;
    };

    /// The environment of `instance` of `service` (its own port; a gateway's orchestrator).
    [[nodiscard]] std::vector<std::string> Environment(
        const std::string& service = "", int instance = 0
    ) const;
    [[nodiscard]] std::string LogPath(const std::string& service, int instance) const;
    Process& ProcessOf(const std::string& service, int instance);
    [[nodiscard]] const Process& ProcessOf(const std::string& service, int instance) const;

    std::map<std::string, std::string> env_;
    std::string bus_;
    std::string id_;
    std::string prefix_;
    std::string api_key_ = "e2e-secret";
    std::string log_dir_;
    std::map<std::string, std::vector<Process>> processes_;
    std::map<std::pair<std::string, int>, std::unique_ptr<http::Client>> clients_;
};

/// A test suite that shares one stack, every service started, with `Suite::Environment()`; on a
/// failure the services' log tails are printed.
template <class Suite>
class StackSuite : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        stack_ = new E2eStack(Suite::Environment());
        for (const auto& service : E2eStack::AllServices()) {
            stack_->Start(service);
        }
    }
    static void TearDownTestSuite() {
        delete stack_;
        stack_ = nullptr;
    }
    void TearDown() override {
        if (HasFailure()) {
            stack_->DumpLogs();
        }
    }

    static inline E2eStack* stack_ = nullptr;
};

/// A loopback port free when asked (the caller binds it soon after; see E2eStack::Start).
int FreePort();

/// Polls `condition` every 20 ms until it holds or `timeout` passes; returns the last result.
bool Eventually(
    const std::function<bool()>& condition,
    std::chrono::milliseconds timeout = std::chrono::seconds(20)
);

}  // namespace sagapay::testing
