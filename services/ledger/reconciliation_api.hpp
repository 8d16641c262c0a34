#pragma once

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

}  // namespace sagapay::ledger
