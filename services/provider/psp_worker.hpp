#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <stop_token>
#include <string>

#include "services/provider/provider_handler.hpp"

namespace sagapay::provider {

/// Wakes idle workers when a payment becomes due in this process. Thread-safe.
///
/// A wake-up is pending from Notify until a worker takes it (Take, when its wait ends): one
/// wake-up wakes one worker, wake-ups before that worker takes it are one (its claim sees every
/// payment committed before), and a worker ending its round sleeps unless a wake-up is still
/// untaken. Before, a consumer's batch of 16 requests woke all four workers 16 times over and all
/// but one found nothing, three transactions each. A worker that claims a full batch wakes
/// another (RunPspWorker), so a backlog is still worked by all of them.
class WakeSignal {
public:
    /// A worker whose wait ended takes the pending wake-up before it claims: the next Notify
    /// wakes a worker again.
    void Take();
    /// Wakes one waiting worker, unless a wake-up is pending already (its worker will find this
    /// payment too).
    void Notify();
    /// Waits up to `timeout`, or until a wake-up is pending, or until `stop`.
    void WaitFor(std::stop_token stop, std::chrono::milliseconds timeout);
    /// How many workers are in WaitFor now.
    [[nodiscard]] int Waiting();

private:
    std::mutex mutex_;
    std::condition_variable_any wake_;
    bool pending_ = false;  ///< Under mutex_.
    int waiting_ = 0;       ///< Under mutex_.
};

/// Payments one worker claims and works per transaction (one commit for all of them). Every PSP
/// call is keyed, so when one step fails and the batch is undone, redoing it gets the PSP's
/// first answers again.
inline constexpr int kDueBatch = 16;

/// One PSP worker, until `stop`: on its own connection to `dsn`, claims up to kDueBatch due
/// payments per transaction (SKIP LOCKED, so workers never share one) and works them
/// (ProviderHandler::WorkDue); when nothing is due, sleeps until the next payment falls due
/// (IdleWait) or `wake` fires; after a full batch it wakes another worker. A failure is logged, the
/// connection dropped and the batch tried again after 500 ms.
void RunPspWorker(
    std::stop_token stop, const std::string& dsn, const ProviderDeps& deps, WakeSignal& wake
);

}  // namespace sagapay::provider
