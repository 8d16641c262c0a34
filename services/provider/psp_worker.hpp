#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <stop_token>
#include <string>

#include "services/provider/provider_handler.hpp"

namespace sagapay::provider {

/// Wakes idle workers when a payment becomes due in this process. Thread-safe.
class WakeSignal {
public:
    /// How many wake-ups so far: read before looking for work, pass to WaitFor.
    [[nodiscard]] std::uint64_t Generation() const noexcept { return wakeups_.load(); }
    void Notify();
    /// Waits up to `timeout`, or until a wake-up after generation `seen`, or until `stop`.
    void WaitFor(std::stop_token stop, std::chrono::milliseconds timeout, std::uint64_t seen);

private:
    std::mutex mutex_;
    std::condition_variable_any wake_;
    std::atomic<std::uint64_t> wakeups_{0};
};

/// Payments one worker claims and works per transaction (one commit for all of them). Every PSP
/// call is keyed, so when one step fails and the batch is undone, redoing it gets the PSP's
/// first answers again.
inline constexpr int kDueBatch = 16;

/// One PSP worker, until `stop`: on its own connection to `dsn`, claims up to kDueBatch due
/// payments per transaction (SKIP LOCKED, so workers never share one) and works them
/// (ProviderHandler::WorkDue); when nothing is due, sleeps until the next payment falls due
/// (IdleWait) or `wake` fires. A failure is logged, the connection dropped and the batch tried
/// again after 500 ms.
void RunPspWorker(
    std::stop_token stop, const std::string& dsn, const ProviderDeps& deps, WakeSignal& wake
);

}  // namespace sagapay::provider
