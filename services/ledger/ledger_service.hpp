#pragma once

#include "runtime/config.hpp"

namespace sagapay::ledger {

/// Runs the ledger until SIGINT/SIGTERM: posts settlements on `payments.captured` (emitting
/// `payments.settled`), reversals on `payments.reversed`, and serves /reconciliation.
int RunLedger(const Config& config);

}  // namespace sagapay::ledger
