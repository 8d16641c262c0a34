#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>

#include "adapters/redis/client.hpp"
#include "core/clock.hpp"
#include "services/risk/velocity_counter.hpp"

namespace sagapay::risk {

/// VelocityCounter over Redis, each call atomic (one Lua script, one round trip) and idempotent
/// per payment: a sorted set per customer whose members are payment ids, so an event delivered
/// twice is counted once. Windows slide (no doubling at an hour boundary).
/// Keys: `risk:velocity:<len>:<customer>` and `risk:failed:<len>:<customer>` — length-prefixed, so
/// no two customers share a key. Thread-safe (one connection behind a mutex).
class VelocityStore final : public VelocityCounter {
public:
    VelocityStore(
        redis::Endpoint endpoint,
        std::chrono::milliseconds velocity_window,
        std::chrono::milliseconds failure_window
    );

    // VelocityCounter
    /// RecordPayment and FailedAttempts in one round trip (one script over both keys).
    VelocityCounts RecordAndCount(
        const CustomerId& customer, const PaymentId& payment, Clock::TimePoint now
    ) override;
    void RecordFailure(const CustomerId& customer, const PaymentId& payment, Clock::TimePoint now)
        override;

    /// Counts `payment` for the customer and returns the payments in the window, this one
    /// included.
    std::int64_t RecordPayment(
        const CustomerId& customer, const PaymentId& payment, Clock::TimePoint now
    );
    /// Provider declines of the customer within the failure window.
    std::int64_t FailedAttempts(const CustomerId& customer, Clock::TimePoint now);

    [[nodiscard]] static std::string VelocityKey(const CustomerId& customer);
    [[nodiscard]] static std::string FailureKey(const CustomerId& customer);

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
