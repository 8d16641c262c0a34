#pragma once

#include <chrono>

#include "adapters/http/router.hpp"
#include "core/clock.hpp"
#include "runtime/config.hpp"
#include "services/psp_sandbox/psp_ledger.hpp"

namespace sagapay::psp {

/// Runs the sandbox PSP (`sagapay psp-sandbox`, port PSP_PORT, default 8006) until SIGINT/SIGTERM.
/// API: POST /v1/authorizations, GET /v1/authorizations/{idempotency_key},
/// POST /v1/authorizations/{idempotency_key}/capture ({capture_key, amount_cents?}: whole or
/// partial), POST /v1/authorizations/{idempotency_key}/void,
/// POST /v1/authorizations/{idempotency_key}/refund ({refund_key, amount_cents?}: several,
/// partial), GET /v1/authorizations/{idempotency_key}/refunds/{refund_key}, GET /v1/records. The
/// keyed POSTs also take the key as `idempotency_key`, as earlier callers sent it. PSP_SEED seeds
/// the random outcomes; PSP_SLOW_MS is force-slow's delay; PSP_DEFAULT_BEHAVIOUR (approve | random)
/// is what customers without a force-* prefix get.
int RunPspSandbox(const Config& config, const Clock& clock);

/// Adds the sandbox's routes over `ledger`; `slow` is force-slow's delay.
void AddPspRoutes(http::Router& router, PspLedger& ledger, std::chrono::milliseconds slow);

}  // namespace sagapay::psp
