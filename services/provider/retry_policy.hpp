#pragma once

#include <chrono>
#include <vector>

#include "core/clock.hpp"
#include "core/ports/psp_client.hpp"

namespace sagapay::provider {

/// Backoff between authorization attempts (the seed's 1 s, 2 s, 4 s, PROVIDER_BACKOFF_MS). There
/// are backoff.size() attempts; after the last one's backoff a final status inquiry decides.
struct RetryPolicy {
    std::vector<std::chrono::milliseconds> backoff{
        std::chrono::seconds(1), std::chrono::seconds(2), std::chrono::seconds(4)};
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

/// After a status inquiry, when `attempts` authorization attempts have been sent so far.
[[nodiscard]] Action AfterInquiry(
    int attempts, PspOutcome inquiry, Clock::TimePoint now, const RetryPolicy& policy
);

}  // namespace sagapay::provider
