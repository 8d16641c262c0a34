#pragma once

#include <optional>

#include "core/money.hpp"
#include "core/strong_id.hpp"
#include "services/ledger/journal.hpp"

namespace sagapay::ledger {

/// Port: the ledger's postings, used within one unit of work. At most one posting per (payment,
/// purpose), whatever the event that asks for it. Implemented by PgLedgerBook (the ledger tables,
/// where the database also refuses an unbalanced or altered posting) and InMemoryLedgerBook.
/// Failures throw (the owner of the unit of work rolls it back).
class LedgerBook {
public:
    virtual ~LedgerBook() = default;

    /// Posts `entry` for `payment`, recording the event that asked for it. False, writing nothing,
    /// when the payment already has a posting of `entry.purpose`.
    virtual bool Post(
        const PaymentId& payment, const JournalEntry& entry, const EventId& source
    ) = 0;

    /// The amount the payment's settlement posted, if it was posted.
    [[nodiscard]] virtual std::optional<Money> Settlement(const PaymentId& payment) = 0;
};

}  // namespace sagapay::ledger
