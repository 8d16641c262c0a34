#pragma once

#include "core/clock.hpp"
#include "runtime/config.hpp"

namespace sagapay::orchestrator {

/// Runs the orchestrator until SIGINT/SIGTERM: `POST /internal/payments`, `GET /payments/{id}`,
/// the saga consumers, the outbox relay and the stuck-payment sweeper. Returns the exit code.
int RunOrchestrator(const Config& config, const Clock& clock);

}  // namespace sagapay::orchestrator
