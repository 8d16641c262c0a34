#pragma once

#include <chrono>
#include <stop_token>
#include <string>

#include "services/orchestrator/admission_gate.hpp"

namespace sagapay::orchestrator {

struct AdmissionRefresherOptions {
    std::string service;
    std::string dsn;
    std::chrono::milliseconds interval{50};
};

/// Every `interval`: counts the payments in flight in the orchestrator's database
/// (PgPaymentStore::CountInFlight) and hands the count to `gate`, which wakes the POSTs waiting
/// for room; sets `payments_in_flight`. A failed count keeps the last estimate (a database that
/// cannot count cannot create payments either) and reconnects on the next round.
void RunAdmissionRefresher(
    std::stop_token stop, const AdmissionRefresherOptions& options, AdmissionGate& gate
);

}  // namespace sagapay::orchestrator
