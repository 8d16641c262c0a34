#pragma once

#include "runtime/config.hpp"

namespace sagapay::provider {

/// Runs the provider adapter until SIGINT/SIGTERM: authorizations (with status inquiry on every
/// unknown outcome and durable, non-blocking retries), captures, voids, and `payments.dlq`.
int RunProvider(const Config& config);

}  // namespace sagapay::provider
