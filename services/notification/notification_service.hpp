#pragma once

#include "core/clock.hpp"
#include "runtime/config.hpp"

namespace sagapay::notification {

/// Runs the notification service until SIGINT/SIGTERM: records exactly one notification per
/// payment outcome from `payments.settled`, `payments.failed` (provider and risk failures alike)
/// and `payments.reversed`. Nothing here reads the time yet; `clock` is the process's.
int RunNotification(const Config& config, const Clock& clock);

}  // namespace sagapay::notification
