#pragma once

#include "core/clock.hpp"
#include "runtime/config.hpp"

namespace sagapay::notification {

/// Runs the notification service until SIGINT/SIGTERM: records exactly one notification per
/// payment outcome from `payments.settled`, `payments.failed` (provider and risk failures alike)
/// and `payments.reversed`, and one per refund outcome from `payments.refunded` and
/// `refunds.failed`, each with its webhook event; announces `payments.authorized` and reviews;
/// sends the webhooks. Nothing here reads the time yet; `clock` is the process's.
int RunNotification(const Config& config, const Clock& clock);

}  // namespace sagapay::notification
