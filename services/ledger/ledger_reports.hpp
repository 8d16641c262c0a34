#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace sagapay::ledger {

/// Port: the reconciliation reports, read-only, as the HTTP bodies the seed returned
/// (services/ledger/README.md). Implemented by PgLedgerReports.
class LedgerReports {
public:
    virtual ~LedgerReports() = default;

    /// One transaction's entries, debits, credits and whether it balances per currency.
    [[nodiscard]] virtual nlohmann::json Transaction(const std::string& transaction_id) = 0;
    /// Every transaction checked, at most `limit` imbalanced ones listed, balances per account and
    /// totals per currency.
    [[nodiscard]] virtual nlohmann::json All(std::int64_t limit) = 0;
};

}  // namespace sagapay::ledger
