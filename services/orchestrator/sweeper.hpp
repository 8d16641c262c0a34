#pragma once

#include <chrono>
#include <stop_token>
#include <string>

#include "core/clock.hpp"
#include "core/payments/payment_status.hpp"

namespace sagapay::orchestrator {

/// True when a payment in `status`, last moved at `updated_at`, has waited on a service for
/// longer than `stuck_after` at `now`. RISK_REVIEW waits on a person and final states wait on
/// nothing: never stuck. Pure, for tests with any clock.
[[nodiscard]] bool IsStuck(
    PaymentStatus status,
    Clock::TimePoint updated_at,
    Clock::TimePoint now,
    std::chrono::milliseconds stuck_after
) noexcept;

struct SweeperOptions {
    std::string service;
    std::string dsn;
    std::chrono::milliseconds stuck_after{std::chrono::seconds(30)};
    std::chrono::milliseconds interval{std::chrono::seconds(5)};
    int batch = 200;
};

/// Every `interval`: finds stuck payments (SKIP LOCKED, so several orchestrators share the work),
/// re-emits the pending step's request through the outbox (consumers are idempotent per
/// payment), bumps `redrive_count` and `updated_at`, and sets the `stuck_payments{state}` gauge.
void RunSweeper(std::stop_token stop, const SweeperOptions& options, const Clock& clock);

}  // namespace sagapay::orchestrator
