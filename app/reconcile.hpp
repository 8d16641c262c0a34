#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/config.hpp"

namespace sagapay::app {

/// `sagapay reconcile`: the seed's scripts/ledger_reconcile.py plus a cross-service check.
struct ReconcileOptions {
    std::string ledger_url = "http://localhost:8004";  ///< --ledger-url (the seed's flag)
    std::int64_t limit = 1000;     ///< --limit (the seed's flag); also the most mismatches listed
    std::string api_key;           ///< Sent as x-api-key when not empty
    std::string internal_token;    ///< INTERNAL_API_TOKEN, sent as x-internal-token when set
    std::string orchestrator_dsn;  ///< ORCHESTRATOR_POSTGRES_DSN
    std::string ledger_dsn;        ///< LEDGER_POSTGRES_DSN
    /// PROVIDER_POSTGRES_DSN: the provider's view of each payment at the PSP. Empty: the
    /// provider ↔ PSP check is skipped (and the report says so).
    std::string provider_dsn;
    std::string psp_url = "http://127.0.0.1:8006";  ///< --psp-url, else PSP_URL
    std::int64_t page_size = 5000;                  ///< Most rows read by one query
};

struct ReconcileReport {
    nlohmann::json ledger_report;  ///< The ledger's GET /reconciliation body
    /// One readable line each, naming the payment: the first `limit`, then one line saying how
    /// many more there are.
    std::vector<std::string> mismatches;
    std::int64_t mismatch_count = 0;         ///< All of them, listed or not
    std::int64_t cross_service_checked = 0;  ///< Orchestrator payments compared with the ledger
    std::int64_t provider_psp_checked = -1;  ///< Provider payments asked of the PSP; -1 skipped
};

/// Something the check needs could not be reached or answered wrongly (ledger HTTP, a database).
class ReconcileError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// Fills the DSNs and API key from the environment: ORCHESTRATOR_POSTGRES_DSN,
/// LEDGER_POSTGRES_DSN and PROVIDER_POSTGRES_DSN, else SAGAPAY_PG_BASE_DSN +
/// "/finpay_orchestrator", "/finpay_ledger" and "/finpay_provider"; PSP_URL;
/// OPS_API_KEY, else API_KEY. The rest keeps its defaults.
[[nodiscard]] ReconcileOptions ReconcileOptionsFromEnvironment(const EnvMap& env);

/// Fetches GET <ledger_url>/reconciliation?limit=N (x-api-key, 10 s timeout), then compares the
/// orchestrator's payments with the ledger's transactions, reading both databases in pages by
/// primary key:
///  - a SETTLED, PARTIALLY_REFUNDED or REFUNDED payment has exactly one SETTLEMENT of what it
///    captured (captured_cents; amount_cents when that is NULL) in its currency, whose entries
///    balance, and no REVERSAL;
///  - a payment in any other status has no SETTLEMENT unless a REVERSAL of it exists too;
///  - a REVERSAL matches its SETTLEMENT and balances;
///  - every SUCCEEDED refund in the orchestrator's `refunds` has exactly one ledger REFUND
///    `refund:<payment_id>:<refund_id>` of the same amount and currency, whose entries balance;
///    a PENDING or FAILED one has none; every ledger REFUND names a refund of its payment that
///    SUCCEEDED. The refunds are read after the ledger (a refund is recorded SUCCEEDED before the
///    ledger posts it), so a refund the ledger posted is never reported, but one that succeeded
///    moments before the check may be reported as not posted yet (it is gone on the next run);
///  - a payment's refunded_cents is the sum of its SUCCEEDED refunds, and a REFUNDED payment's
///    refunded_cents is what it captured;
///  - every ledger transaction names a payment the orchestrator knows;
///  - (when the provider database is known) every payment the provider recorded as failed
///    (DECLINED, TIMED_OUT, VOIDED, REFUNDED) holds nothing at the PSP (no authorization, no
///    capture: the janitor releases such money, and this check shows it is not yet released),
///    and every CAPTURED one is captured at the PSP. The PSP is asked per payment (GET
///    /v1/authorizations/{key}); one that does not answer is a mismatch.
/// An imbalance in the ledger's report is listed as a mismatch too. Throws ReconcileError naming
/// what could not be reached.
[[nodiscard]] ReconcileReport Reconcile(const ReconcileOptions& options);

/// Prints the ledger's report plus "mismatches", "mismatch_count" and "cross_service_checked" as
/// JSON on stdout.
/// Returns 0 when clean, 1 on any mismatch or ledger imbalance, 2 when the check could not run
/// (the reason goes to stderr).
int RunReconcile(const ReconcileOptions& options);

}  // namespace sagapay::app
