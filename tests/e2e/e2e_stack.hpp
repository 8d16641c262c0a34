#pragma once

#include <chrono>
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
/// plus the sandbox PSP, on free ports, with fresh databases on the test PostgreSQL server and a
/// private stream prefix on the test Redis, so tests never see each other (or `make up`).
/// Destruction stops every process and drops the databases.
class E2eStack {
public:
    static const std::vector<std::string>& AllServices();

    /// `env` adds or overrides variables for every process (e.g. short retry backoffs).
    explicit E2eStack(std::map<std::string, std::string> env = {});
    E2eStack(const E2eStack&) = delete;
    E2eStack& operator=(const E2eStack&) = delete;
    ~E2eStack();

    /// Starts `service` ("gateway", "orchestrator", "risk", "provider", "ledger",
    /// "notification", "psp-sandbox") and waits until its /health answers 200.
    void Start(const std::string& service);
    /// Sends `signal` and waits for the process to exit.
    void Stop(const std::string& service, int signal = 15);
    [[nodiscard]] bool Running(const std::string& service);

    [[nodiscard]] std::string Url(const std::string& service) const;
    [[nodiscard]] http::Client& Client(const std::string& service);
    [[nodiscard]] postgres::Connection Db(const std::string& service) const;
    [[nodiscard]] redis::Connection Redis() const;
    [[nodiscard]] const std::string& StreamPrefix() const noexcept { return prefix_; }
    [[nodiscard]] const std::string& ApiKey() const noexcept { return api_key_; }

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
    [[nodiscard]] std::vector<std::string> Environment() const;

    struct Process {
        pid_t pid = -1;
        int port = 0;
    };

    std::map<std::string, std::string> env_;
    std::string id_;
    std::string prefix_;
    std::string api_key_ = "e2e-secret";
    std::string log_dir_;
    std::map<std::string, Process> processes_;
    std::map<std::string, std::unique_ptr<http::Client>> clients_;
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

/// Polls `condition` every 20 ms until it holds or `timeout` passes; returns the last result.
bool Eventually(
    const std::function<bool()>& condition,
    std::chrono::milliseconds timeout = std::chrono::seconds(20)
);

}  // namespace sagapay::testing
