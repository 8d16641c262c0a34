#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>

#include "adapters/redis/client.hpp"
#include "core/clock.hpp"

namespace sagapay::risk {

/// Per-customer counters in Redis for the risk rules, each one atomic (one Lua script, one round
/// trip) and idempotent per payment: a sorted set per customer whose members are payment ids, so
/// an event delivered twice is counted once. Windows slide (no doubling at an hour boundary).
/// Keys: `risk:velocity:<len>:<customer>` and `risk:failed:<len>:<customer>` — length-prefixed, so
/// no two customers share a key. Thread-safe (one connection behind a mutex).
class VelocityStore {
public:
    VelocityStore(
        redis::Endpoint endpoint,
        std::chrono::milliseconds velocity_window,
        std::chrono::milliseconds failure_window
    );

    /// Counts `payment_id` for the customer and returns the payments in the window, this one
    /// included.
    std::int64_t RecordPayment(
        const std::string& customer_id, const std::string& payment_id, Clock::TimePoint now
    );
    /// Records a provider decline of `payment_id`.
    void RecordFailure(
        const std::string& customer_id, const std::string& payment_id, Clock::TimePoint now
    );
    /// Provider declines of the customer within the failure window.
    std::int64_t FailedAttempts(const std::string& customer_id, Clock::TimePoint now);

    struct Counts {
        std::int64_t payments_last_hour = 0;
        std::int64_t failed_attempts = 0;
    };
    /// RecordPayment and FailedAttempts in one round trip (one script over both keys).
    Counts RecordAndCount(
        const std::string& customer_id, const std::string& payment_id, Clock::TimePoint now
    );

    [[nodiscard]] static std::string VelocityKey(const std::string& customer_id);
    [[nodiscard]] static std::string FailureKey(const std::string& customer_id);

private:
    std::int64_t Eval(
        const std::string& key,
        std::chrono::milliseconds window,
        Clock::TimePoint now,
        const std::string& member
    );

    std::mutex mutex_;
    redis::Connection conn_;
    std::chrono::milliseconds velocity_window_;
    std::chrono::milliseconds failure_window_;
};

}  // namespace sagapay::risk
