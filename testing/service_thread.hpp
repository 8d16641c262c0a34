#pragma once

#include <chrono>
#include <csignal>
#include <functional>
#include <string>
#include <thread>

#include <unistd.h>

#include "runtime/service_host.hpp"

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
