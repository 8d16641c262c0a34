#include "services/orchestrator/admission_refresher.hpp"

#include <memory>

#include "adapters/postgres/connection.hpp"
#include "runtime/log.hpp"
#include "runtime/metrics.hpp"
#include "runtime/wait.hpp"
#include "services/orchestrator/pg_payment_store.hpp"

namespace sagapay::orchestrator {

void RunAdmissionRefresher(
    std::stop_token stop, const AdmissionRefresherOptions& options, AdmissionGate& gate
) {
    auto& in_flight = metrics::Get().payments_in_flight.Add({{"service", options.service}});
    // At 0 from the start: the Overloaded alert takes a rate of it (ops/prometheus/rules).
    metrics::Get().admission_refused_total.Add({{"service", options.service}});
    metrics::Get().payments_in_flight_limit.Add({{"service", options.service}}
    ).Set(static_cast<double>(gate.Limit()));
    std::unique_ptr<postgres::Connection> conn;
    bool failing = false;
    do {
        try {
            if (!conn) {
                conn =
                    std::make_unique<postgres::Connection>(postgres::Connection::Open(options.dsn));
                // This connection only counts, and the partial index of the payments not yet
                // final is far cheaper than the table once the table has grown (its statistics
                // lag behind a fast-growing table), so the planner is not left to guess.
                conn->Exec("SET enable_seqscan = off");
            }
            const std::int64_t begun = gate.BeginRefresh();
            gate.Refresh(PgPaymentStore::CountInFlight(*conn), begun);
            in_flight.Set(static_cast<double>(gate.Estimate()));
            failing = false;
        } catch (const std::exception& e) {
            if (!failing) {
                log::Error(
                    "admission control cannot count payments in flight", {{"error", e.what()}}
                );
            }
            failing = true;
            conn.reset();
        }
    } while (!WaitFor(stop, options.interval));
}

}  // namespace sagapay::orchestrator
