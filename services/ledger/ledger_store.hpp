#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "adapters/postgres/connection.hpp"
#include "services/ledger/journal.hpp"

namespace sagapay::ledger {

/// SQL over the ledger tables. Balances are derived from entries (no balance row to update), so
/// postings on the same hot accounts never wait for each other.
class LedgerStore {
public:
    /// Posts `entry` for `payment_id` inside `tx` (accounts created on first use). False when the
    /// (payment, purpose) was posted before: the unique constraint makes a second posting
    /// impossible, whatever the event id.
    static bool Post(
        postgres::Transaction& tx,
        const std::string& payment_id,
        const JournalEntry& entry,
        const std::string& source_event_id
    );

    /// The amount and currency of the payment's settlement, if it was posted.
    static std::optional<std::pair<std::int64_t, std::string>> Settlement(
        postgres::Transaction& tx, const std::string& payment_id
    );

    /// The seed's per-transaction reconciliation body.
    static nlohmann::json ReconcileTransaction(
        postgres::Connection& conn, const std::string& transaction_id
    );

    /// The seed's global body over every transaction (not the first N), listing at most `limit`
    /// imbalanced ones, plus balances per account and currency and the total per currency.
    static nlohmann::json ReconcileAll(postgres::Connection& conn, std::int64_t limit);
};

}  // namespace sagapay::ledger
