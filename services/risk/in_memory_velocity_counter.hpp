#pragma once

#include <chrono>
#include <map>
#include <utility>

#include "services/risk/velocity_counter.hpp"

namespace sagapay::risk {

/// VelocityCounter for tests: the same semantics as VelocityStore (one count per payment, sliding
/// windows whose oldest edge is exclusive), in memory.
class InMemoryVelocityCounter final : public VelocityCounter {
public:
    explicit InMemoryVelocityCounter(
        std::chrono::milliseconds velocity_window = std::chrono::hours(1),
        std::chrono::milliseconds failure_window = std::chrono::hours(24)
    )
        : velocity_window_(velocity_window), failure_window_(failure_window) {}

    VelocityCounts RecordAndCount(
        const CustomerId& customer, const PaymentId& payment, Clock::TimePoint now
    ) override {
        Window& payments = payments_[customer];
        Trim(payments, now, velocity_window_);
        payments.try_emplace(payment, now);
        Window& failures = failures_[customer];
        Trim(failures, now, failure_window_);
        return {
            static_cast<std::int64_t>(payments.size()), static_cast<std::int64_t>(failures.size())};
    }

    void RecordFailure(const CustomerId& customer, const PaymentId& payment, Clock::TimePoint now)
        override {
        Window& failures = failures_[customer];
        Trim(failures, now, failure_window_);
        failures.try_emplace(payment, now);
    }

private:
    using Window = std::map<PaymentId, Clock::TimePoint>;

    static void Trim(Window& window, Clock::TimePoint now, std::chrono::milliseconds length) {
        std::erase_if(window, [&](const auto& entry) { return entry.second <= now - length; });
    }

    std::chrono::milliseconds velocity_window_;
    std::chrono::milliseconds failure_window_;
    std::map<CustomerId, Window> payments_;
    std::map<CustomerId, Window> failures_;
};

}  // namespace sagapay::risk
