#pragma once

#include <cstdint>

#include "core/clock.hpp"
#include "core/strong_id.hpp"

namespace sagapay::risk {

/// What the velocity rules need to know about a customer at the moment of a decision.
struct VelocityCounts {
    std::int64_t payments_last_hour = 0;  ///< This payment included.
    std::int64_t failed_attempts = 0;     ///< Provider declines within the failure window.
};

/// Port: per-customer counters for the risk rules, idempotent per payment (a redelivered event
/// counts once) over sliding windows. Lives outside the database transaction: a rolled-back
/// decision leaves its count, which a redelivery of the same payment does not add to again.
/// Implemented by VelocityStore (Redis) and InMemoryVelocityCounter (tests).
class VelocityCounter {
public:
    virtual ~VelocityCounter() = default;

    /// Counts `payment` for `customer` at `now`; returns the counts the rules read.
    virtual VelocityCounts RecordAndCount(
        const CustomerId& customer, const PaymentId& payment, Clock::TimePoint now
    ) = 0;
    /// Records a provider decline of `payment`.
    virtual void RecordFailure(
        const CustomerId& customer, const PaymentId& payment, Clock::TimePoint now
    ) = 0;
};

}  // namespace sagapay::risk
