#pragma once

#include <chrono>
#include <optional>
#include <vector>

#include "core/clock.hpp"
#include "core/ports/psp_client.hpp"

namespace sagapay::provider {

/// Backoff between authorization attempts (the seed's 1 s, 2 s, 4 s, PROVIDER_BACKOFF_MS). There
/// are backoff.size() attempts; after the last one's backoff a final status inquiry decides.
struct RetryPolicy {
    std::vector<std::chrono::milliseconds> backoff{
        std::chrono::seconds(1), std::chrono::seconds(2), std::chrono::seconds(4)};
    /// When the janitor asks the PSP again whether a failed payment holds nothing, counted from
    /// the previous check (PROVIDER_JANITOR_CHECKS_MS): late authorizations are found and voided.
    std::vector<std::chrono::milliseconds> janitor_checks{
        std::chrono::seconds(30), std::chrono::minutes(5), std::chrono::hours(1)};
    /// The longest wait between two tries of a capture, void or refund whose outcome is unknown.
    std::chrono::milliseconds step_retry_cap{std::chrono::minutes(1)};
};

enum class ActionKind {
    kAuthorized,    ///< Emit payments.authorized.
    kDeclined,      ///< Emit payments.failed PROVIDER_DECLINE.
    kRetryLater,    ///< Outcome unknown: ask again at `at` (inquiry first, never a blind retry).
    kAuthorizeNow,  ///< The inquiry proved it never happened: safe to send attempt `attempt`.
    kGiveUp,        ///< Attempts exhausted, still unknown or never happened: void, fail, DLQ.
};

struct Action {
    ActionKind kind = ActionKind::kGiveUp;
    Clock::TimePoint at{};  ///< kRetryLater
    int attempt = 0;        ///< kAuthorizeNow: the attempt number to send.
};

/// After authorization attempt `attempt` (1-based) answered `outcome` at `now`.
[[nodiscard]] Action AfterAuthorize(
    int attempt, PspOutcome outcome, Clock::TimePoint now, const RetryPolicy& policy
);

/// How long to wait before trying again a capture, void or refund that got no answer `retries`
/// times in a row: the first backoff, doubled for each, at most `step_retry_cap`. Never gives up:
/// money held for a failed payment must be released.
[[nodiscard]] std::chrono::milliseconds StepRetryDelay(int retries, const RetryPolicy& policy);

/// When the janitor's next check of a failed payment is due after `checks_done` checks at `now`;
/// nullopt when the schedule is done.
[[nodiscard]] std::optional<Clock::TimePoint> NextJanitorCheck(
    int checks_done, Clock::TimePoint now, const RetryPolicy& policy
);

/// After a status inquiry, when `attempts` authorization attempts have been sent so far.
[[nodiscard]] Action AfterInquiry(
    int attempts, PspOutcome inquiry, Clock::TimePoint now, const RetryPolicy& policy
);

}  // namespace sagapay::provider
