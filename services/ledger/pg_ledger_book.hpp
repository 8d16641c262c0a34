#pragma once

#include "adapters/postgres/connection.hpp"
#include "services/ledger/ledger_book.hpp"

namespace sagapay::ledger {

/// LedgerBook over `ledger_transactions`, `ledger_entries` and `ledger_accounts`
/// (schema/0002_ledger.sql, 0003, 0012), inside `tx`. Balances are derived from entries (no balance
/// row to update), so postings on the same hot accounts never wait for each other; the balance and
/// append-only rules are checked by the database at COMMIT.
class PgLedgerBook final : public LedgerBook {
public:
    explicit PgLedgerBook(postgres::Transaction& tx) noexcept : tx_(tx) {}

    // LedgerBook
    /// Accounts are created on first use. The primary key (transaction id) and the unique
    /// (payment, purpose) index of settlements and reversals make a second posting impossible,
    /// whatever the event id; ledger_check_refunds() refuses an over-refund at COMMIT
    /// (schema/0012_refunds.sql).
    bool Post(const PaymentId& payment, const JournalEntry& entry, const EventId& source) override;
    [[nodiscard]] std::optional<Money> Settlement(const PaymentId& payment) override;
    [[nodiscard]] std::vector<PostedTransaction> Transactions(const PaymentId& payment) override;

private:
    postgres::Transaction& tx_;
};

}  // namespace sagapay::ledger
