#pragma once

#include "core/clock.hpp"
#include "runtime/config.hpp"

namespace sagapay::ledger {

/// Runs the ledger until SIGINT/SIGTERM: posts settlements on `payments.captured` (emitting
/// `payments.settled`), reversals on `payments.reversed`, refunds on `payments.refunded`, and
/// serves /reconciliation. Reads time
/// from `clock`.
int RunLedger(const Config& config, const Clock& clock);

}  // namespace sagapay::ledger
