#pragma once

#include "core/clock.hpp"
#include "runtime/config.hpp"

namespace sagapay::provider {

/// Runs the provider adapter until SIGINT/SIGTERM: authorizations (with status inquiry on every
/// unknown outcome and durable, non-blocking retries), captures, voids, and `payments.dlq`.
/// Reads PROVIDER_BACKOFF_MS and PROVIDER_WORKERS (provider_options.hpp).
int RunProvider(const Config& config, const Clock& clock);

}  // namespace sagapay::provider
