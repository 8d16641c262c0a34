#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/money.hpp"
#include "core/strong_id.hpp"
#include "services/ledger/journal.hpp"

namespace sagapay::ledger {

/// One ledger transaction of a payment, as posted.
struct PostedTransaction {
    std::string transaction_id;
    Purpose purpose = Purpose::kSettlement;
    Money amount;  ///< What its entries debit, in its one currency.

    friend bool operator==(const PostedTransaction&, const PostedTransaction&) = default;
};

/// Port: the ledger's postings, used within one unit of work. At most one settlement and one
/// reversal per payment, and one refund per refund id, whatever the event that asks for it.
/// What a payment's refunds (and reversal) give back never exceeds its settlement, in its
/// currency. Implemented by PgLedgerBook (the ledger tables, where the database also refuses an
/// unbalanced, altered or over-refunding posting) and InMemoryLedgerBook. Failures throw (the
/// owner of the unit of work rolls it back).
class LedgerBook {
public:
    virtual ~LedgerBook() = default;

    /// Posts `entry` for `payment`, recording the event that asked for it. False, writing nothing,
    /// when its transaction id was posted before, or, for a settlement or a reversal, when the
    /// payment already has a posting of `entry.purpose`. A refund (or a reversal after refunds)
    /// that would give back more than the payment's settlement, in another currency, or with no
    /// settlement, is refused with kInvalidArgument (PostgreSQL: at COMMIT).
    virtual bool Post(
        const PaymentId& payment, const JournalEntry& entry, const EventId& source
    ) = 0;

    /// The amount the payment's settlement posted, if it was posted.
    [[nodiscard]] virtual std::optional<Money> Settlement(const PaymentId& payment) = 0;

    /// Every transaction posted for the payment (settlement, reversal, refunds), by transaction
    /// id.
    [[nodiscard]] virtual std::vector<PostedTransaction> Transactions(const PaymentId& payment) = 0;
};

}  // namespace sagapay::ledger
