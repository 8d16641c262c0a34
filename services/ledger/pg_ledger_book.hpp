#pragma once

#include "adapters/postgres/connection.hpp"
#include "services/ledger/ledger_book.hpp"

namespace sagapay::ledger {

/// LedgerBook over `ledger_transactions`, `ledger_entries` and `ledger_accounts`
/// (schema/0002_ledger.sql), inside `tx`. Balances are derived from entries (no balance row to
/// update), so postings on the same hot accounts never wait for each other; the balance and
/// append-only rules are checked by the database at COMMIT.
class PgLedgerBook final : public LedgerBook {
public:
    explicit PgLedgerBook(postgres::Transaction& tx) noexcept : tx_(tx) {}

    // LedgerBook
    /// Accounts are created on first use. The unique (payment, purpose) constraint makes a second
    /// posting impossible, whatever the event id.
    bool Post(const PaymentId& payment, const JournalEntry& entry, const EventId& source) override;
    [[nodiscard]] std::optional<Money> Settlement(const PaymentId& payment) override;

private:
    postgres::Transaction& tx_;
};

}  // namespace sagapay::ledger
