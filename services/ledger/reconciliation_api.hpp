#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <stop_token>
#include <string>

#include "adapters/http/request.hpp"
#include "adapters/http/response.hpp"
#include "adapters/http/router.hpp"
#include "services/ledger/ledger_reports.hpp"

namespace sagapay::ledger {

/// The reconciliation API (key in `x-api-key`, else 401 unauthorized):
///   GET /reconciliation?limit=1..1000000 (default 1000) → 200 the global report; another limit
///       → 422 validation_error on `limit`.
///   GET /reconciliation/{transaction_id} → 200 that transaction's report.
class ReconciliationApi {
public:
    ReconciliationApi(LedgerReports& reports, std::string ops_api_key)
        : reports_(reports), ops_api_key_(std::move(ops_api_key)) {}

    /// Adds both routes (with database failures answered 503/500, see WithDatabaseErrors).
    void AddRoutes(http::Router& router);

    http::Response All(http::Request& request);
    http::Response One(http::Request& request);

private:
    LedgerReports& reports_;
    std::string ops_api_key_;
};

/// The mismatches of a global report (LedgerReports::All), by check, for the
/// reconciliation_mismatches gauge: "imbalanced_transactions" (debits ≠ credits in a currency, or
/// no entries), "currency_totals" (currencies whose debits and credits do not net to zero). Every
/// check is present, 0 when clean; a report without the fields counts as one mismatch each.
[[nodiscard]] std::map<std::string, std::int64_t> MismatchesOf(const nlohmann::json& report);

/// Every `interval` until `stop`: the global report, its MismatchesOf handed to `publish`. A
/// failed report (database down) is logged and tried again at the next interval.
void RunSelfCheck(
    std::stop_token stop,
    LedgerReports& reports,
    std::chrono::milliseconds interval,
    const std::function<void(const std::map<std::string, std::int64_t>&)>& publish
);

}  // namespace sagapay::ledger
