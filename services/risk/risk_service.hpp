#pragma once

#include "core/clock.hpp"
#include "runtime/config.hpp"

namespace sagapay::risk {

/// Runs the risk service until SIGINT/SIGTERM: rules on `payments.requested`, provider declines
/// from `payments.failed` feeding the failed-attempts rule, the manual-review API on /ops/reviews,
/// and the review expiry (when RISK_REVIEW_EXPIRY_SECONDS > 0). Reads time from `clock`.
int RunRisk(const Config& config, const Clock& clock);

}  // namespace sagapay::risk
