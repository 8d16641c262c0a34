#pragma once

#include "core/clock.hpp"
#include "runtime/config.hpp"

namespace sagapay::gateway {

/// Runs the API gateway until SIGINT/SIGTERM: `POST /payments` (API key, validation, rate limit,
/// forwarding to the orchestrator over a keep-alive pool), `GET /payments/{id}` with the API key.
int RunGateway(const Config& config, const Clock& clock);

}  // namespace sagapay::gateway
