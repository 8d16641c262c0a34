#pragma once

#include <chrono>
#include <csignal>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <thread>

#include <gtest/gtest.h>
#include <unistd.h>

#include "adapters/postgres/connection.hpp"
#include "core/messaging/envelope.hpp"
#include "runtime/bootstrap.hpp"
#include "runtime/config.hpp"
#include "runtime/service_host.hpp"
#include "testing/test_env.hpp"

namespace sagapay::testing {

/// Runs a service's composition root (`RunLedger(config, clock)`, …) on a thread as its process
/// would, and stops it with the SIGTERM its host waits for. One per test process at a time.
class ServiceThread {
public:
    explicit ServiceThread(std::function<int()> run) {
        // Before the thread starts, so that only the host's sigwait ever takes the SIGTERM.
        ServiceHost::BlockStopSignals();
        thread_ = std::thread([this, run = std::move(run)] {
            try {
                exit_code_ = run();
            } catch (const std::exception& e) {
                error_ = e.what();
            }
        });
    }
    ServiceThread(const ServiceThread&) = delete;
    ServiceThread& operator=(const ServiceThread&) = delete;
    ServiceThread(ServiceThread&&) = delete;
    ServiceThread& operator=(ServiceThread&&) = delete;
    ~ServiceThread() { Stop(); }

    /// Stops the service and returns its exit code (-1 when it threw: see Error()).
    int Stop() {
        if (thread_.joinable()) {
            kill(getpid(), SIGTERM);
            thread_.join();
        }
        return exit_code_;
    }
    [[nodiscard]] const std::string& Error() const noexcept { return error_; }

private:
    std::thread thread_;
    int exit_code_ = -1;
    std::string error_;
};

/// A Config that runs the service of config section `section` ("ledger", "provider", …) alone
/// against the test servers: its database `dsn`, any free port, streams of its own, one HTTP
/// thread and a pool of two connections.
inline Config ServiceTestConfig(
    const std::string& section, std::string service_name, const std::string& dsn
) {
    Config config;
    config.service_name = std::move(service_name);
    config.dsn[section] = dsn;
    config.port[section] = 0;
    config.redis_url = TestRedisUrl();
    config.stream_prefix = UniqueName(section + "-svc") + ":";
    config.http_threads = 1;
    config.db_pool_size = 2;
    return config;
}

/// Publishes `envelope` on the bus of `config`, as another service's relay would.
inline void PublishForTest(const Config& config, const Envelope& envelope) {
    auto publisher = MakeEventBus(config)->CreatePublisher();
    ASSERT_TRUE(publisher.has_value()) << publisher.error().message;
    const OutgoingMessage message{
        envelope.event_type, envelope.aggregate_id, EncodeEnvelope(envelope)};
    const auto published = (*publisher)->Publish(std::span(&message, 1));
    ASSERT_TRUE(published.has_value()) << published.error().message;
}

/// The single integer `sql` returns, or -1 while the service has not created its tables yet.
inline std::int64_t CountOrMinusOne(postgres::Connection& conn, const std::string& sql) {
    try {
        return conn.Exec(sql).GetInt(0, 0);
    } catch (const postgres::SqlError&) {
        return -1;
    }
}

/// Polls `condition` every 50 ms until it holds (true) or `timeout` passes (false).
template <class Condition>
bool Eventually(Condition condition, std::chrono::milliseconds timeout = std::chrono::seconds(15)) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!condition()) {
        if (std::chrono::steady_clock::now() > deadline) {
            return false;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return true;
}

}  // namespace sagapay::testing
