#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>

namespace sagapay::orchestrator {

/// Admission control: bounds the payments in flight (created and not yet final, not counting
/// those waiting on a person in RISK_REVIEW), so a client that sends faster than the saga settles
/// meets back-pressure at the POST instead of feeding an unbounded backlog. A POST waits for room
/// up to `max_wait` (a closed-loop client is slowed down, nothing fails), then is refused (503
/// with Retry-After; the client retries with the same idempotency key).
///
/// The count comes from the database (every instance of the orchestrator reads the same one):
/// a refresher calls BeginRefresh(), counts, and calls Refresh(). Payments admitted while that
/// count ran are added on top (they may or may not be in it: the estimate errs on the high side).
/// Between refreshes every admission adds one. Thread-safe; no I/O.
class AdmissionGate {
public:
    struct Options {
        std::int64_t limit = 0;  ///< payments in flight at most; 0: no limit
        std::chrono::milliseconds max_wait{1000};
        /// POSTs waiting for room at most; more are refused at once. A waiter holds an HTTP
        /// thread: without this bound an open-loop overload parks every thread in Enter() and
        /// the refusals themselves queue behind them (measured: clients timed out unanswered).
        std::int64_t max_waiting = 4;
    };
    enum class Verdict { kAdmitted, kAdmittedAfterWaiting, kRefused };

    explicit AdmissionGate(Options options) noexcept;

    /// Admits now (kAdmitted) when the estimate is below the limit, else waits for a Refresh()
    /// that makes room (kAdmittedAfterWaiting), until `max_wait` has passed (kRefused); refuses
    /// at once when `max_waiting` others are waiting already.
    [[nodiscard]] Verdict Enter();

    /// The admissions so far: pass to Refresh() with the count read after this call.
    [[nodiscard]] std::int64_t BeginRefresh() const;
    /// `in_flight` was counted after BeginRefresh() returned `begun`.
    void Refresh(std::int64_t in_flight, std::int64_t begun);

    [[nodiscard]] std::int64_t Estimate() const;
    [[nodiscard]] std::int64_t Limit() const noexcept { return options_.limit; }
    /// Waiting in Enter() right now.
    [[nodiscard]] std::int64_t Waiting() const;

private:
    Options options_;
    mutable std::mutex mutex_;
    std::condition_variable room_;
    std::int64_t estimate_ = 0;
    std::int64_t admitted_ = 0;
    std::int64_t waiting_ = 0;
};

}  // namespace sagapay::orchestrator
