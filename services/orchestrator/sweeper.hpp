#pragma once

#include <chrono>
#include <stop_token>
#include <string>

#include "adapters/postgres/connection.hpp"
#include "core/clock.hpp"
#include "core/payments/payment_status.hpp"

namespace sagapay::orchestrator {

/// A re-driven payment waits stuck_after * 2^min(redrive_count, this) before the next re-drive.
inline constexpr int kMaxRedriveDoublings = 6;

/// True when a payment in `status`, last moved (or re-driven) at `updated_at`, has waited on a
/// service for longer than `stuck_after` at `now`, doubled for each of its `redrive_count`
/// earlier re-drives (capped): a payment only queued behind a backlog is re-emitted once, not on
/// every sweep, so an overloaded pipeline is not fed duplicates. RISK_REVIEW is re-driven too
/// (risk answers with the manual decision if its event was lost, nothing new while pending);
/// final states wait on nothing: never stuck. A state change resets the count. Pure; the
/// sweeper's query applies the same rule.
[[nodiscard]] bool IsStuck(
    PaymentStatus status,
    Clock::TimePoint updated_at,
    Clock::TimePoint now,
    std::chrono::milliseconds stuck_after,
    int redrive_count = 0
) noexcept;

struct SweeperOptions {
    std::string service;
    std::string dsn;
    std::chrono::milliseconds stuck_after{std::chrono::seconds(30)};
    std::chrono::milliseconds interval{std::chrono::seconds(5)};
    int batch = 200;
    /// A manual-capture authorization older than this is voided (CAPTURE_WINDOW_SECONDS).
    std::chrono::milliseconds capture_window{std::chrono::hours(24 * 7)};
};

/// One sweep over `conn`: sets the `stuck_payments{state}` gauge, re-emits the pending step of up
/// to `options.batch` stuck payments (SKIP LOCKED) and returns how many it re-drove.
int SweepStuckPayments(
    postgres::Connection& conn, const SweeperOptions& options, const Clock& clock
);

/// One pass over `conn`: voids up to `options.batch` manual-capture authorizations left
/// uncaptured for longer than `options.capture_window` (PlanCancel with reason
/// "authorization_expired": REVERSED, provider.release.requested and payments.reversed in one
/// transaction each batch, SKIP LOCKED). Returns how many it voided.
int VoidExpiredAuthorizations(
    postgres::Connection& conn, const SweeperOptions& options, const Clock& clock
);

/// One pass over `conn`: re-emits provider.refund.requested for up to `options.batch` refunds
/// PENDING for longer than `options.stuck_after` (doubling per re-drive, as payments); the
/// provider keeps one refund per refund id, so a repeat never refunds twice. Returns how many.
int RedriveStuckRefunds(
    postgres::Connection& conn, const SweeperOptions& options, const Clock& clock
);

/// Every `interval`: voids expired manual-capture authorizations, re-drives stuck refunds, and
/// finds stuck payments (SKIP LOCKED, so several orchestrators share the work),
/// re-emits the pending step's request through the outbox (consumers are idempotent per
/// payment), bumps `redrive_count` and `updated_at`, and sets the `stuck_payments{state}` gauge.
void RunSweeper(std::stop_token stop, const SweeperOptions& options, const Clock& clock);

}  // namespace sagapay::orchestrator
