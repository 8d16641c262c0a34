#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "adapters/postgres/connection.hpp"
#include "adapters/postgres/pool.hpp"
#include "services/ledger/journal.hpp"
#include "services/ledger/ledger_reports.hpp"

namespace sagapay::ledger {

/// The reconciliation queries over the ledger tables.
class LedgerStore {
public:
    /// PgLedgerBook(tx).Post with string ids. Kept for app/reconcile_pgtest.cpp; new code uses
    /// PgLedgerBook.
    static bool Post(
        postgres::Transaction& tx,
        const std::string& payment_id,
        const JournalEntry& entry,
        const std::string& source_event_id
    );

    /// The seed's per-transaction reconciliation body.
    static nlohmann::json ReconcileTransaction(
        postgres::Connection& conn, const std::string& transaction_id
    );

    /// The seed's global body over every transaction (not the first N), listing at most `limit`
    /// imbalanced ones, plus balances per account and currency and the total per currency.
    static nlohmann::json ReconcileAll(postgres::Connection& conn, std::int64_t limit);
};

/// LedgerReports over the ledger database: each report borrows a connection from `pool`.
class PgLedgerReports final : public LedgerReports {
public:
    explicit PgLedgerReports(postgres::Pool& pool) noexcept : pool_(pool) {}

    // LedgerReports
    [[nodiscard]] nlohmann::json Transaction(const std::string& transaction_id) override;
    [[nodiscard]] nlohmann::json All(std::int64_t limit) override;

private:
    postgres::Pool& pool_;
};

}  // namespace sagapay::ledger
