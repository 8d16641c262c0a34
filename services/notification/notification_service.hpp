#pragma once

#include "runtime/config.hpp"

namespace sagapay::notification {

/// The outcome a terminal event announces: SETTLED, FAILED or REVERSED ("" for none).
[[nodiscard]] std::string OutcomeOf(std::string_view event_type);

/// Runs the notification service until SIGINT/SIGTERM: records exactly one notification per
/// payment outcome from `payments.settled`, `payments.failed` (provider and risk failures alike)
/// and `payments.reversed`.
int RunNotification(const Config& config);

}  // namespace sagapay::notification
