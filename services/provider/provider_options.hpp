#pragma once

#include <chrono>
#include <optional>
#include <string_view>
#include <vector>

#include "core/clock.hpp"
#include "services/provider/retry_policy.hpp"

namespace sagapay::provider {

/// The provider's own settings, from its environment.
struct ProviderOptions {
    RetryPolicy policy;  ///< PROVIDER_BACKOFF_MS, PROVIDER_JANITOR_CHECKS_MS
    int workers = 4;     ///< PROVIDER_WORKERS: threads that call the PSP.
};

/// PROVIDER_BACKOFF_MS, e.g. "1000,2000,4000": one positive number of milliseconds per attempt.
/// Empty: the seed's policy. Throws Exception(kInvalidArgument) saying what is expected.
[[nodiscard]] RetryPolicy ParseBackoffMs(std::string_view text);

/// PROVIDER_JANITOR_CHECKS_MS, e.g. "30000,300000,3600000": when the janitor asks the PSP again
/// whether a failed payment holds nothing, each counted from the previous check. Empty: 30 s,
/// 5 min, 1 h. Throws Exception(kInvalidArgument) saying what is expected.
[[nodiscard]] std::vector<std::chrono::milliseconds> ParseJanitorChecksMs(std::string_view text);
/// PROVIDER_WORKERS: from 1 to 64; empty: 4. Like atoi, reads the leading number. Throws
/// Exception(kInvalidArgument) outside the range.
[[nodiscard]] int ParseWorkerCount(std::string_view text);

/// Both, from the process environment.
[[nodiscard]] ProviderOptions ProviderOptionsFromEnv();

/// The longest an idle worker sleeps before it looks for due work again.
inline constexpr std::chrono::milliseconds kMaxIdleWait{200};

/// How long an idle worker sleeps when nothing is due: until the next payment falls due
/// (`next_due`, on the same clock as `now`), at least 1 ms and at most 200 ms so that new work
/// that did not wake it (another process's) is seen soon.
[[nodiscard]] std::chrono::milliseconds IdleWait(
    std::optional<Clock::TimePoint> next_due, Clock::TimePoint now
);

}  // namespace sagapay::provider
