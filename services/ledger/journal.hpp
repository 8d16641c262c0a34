#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/result.hpp"

namespace sagapay::ledger {

enum class Purpose { kSettlement, kReversal, kRefund };

enum class Direction { kDebit, kCredit };

struct Posting {
    std::string account_code;  ///< customer_cash, merchant_receivable, platform_fee, clearing
    Direction direction = Direction::kDebit;
    std::int64_t amount_minor = 0;
    std::string currency;
};

/// A balanced set of postings for one payment and purpose (and, for a refund, one refund).
struct JournalEntry {
    /// "settlement:<payment_id>" (the seed's form), "reversal:<payment_id>",
    /// "refund:<payment_id>:<refund_id>" (the refund id in lower case).
    std::string transaction_id;
    Purpose purpose = Purpose::kSettlement;
    std::vector<Posting> postings;
};

/// The chart of accounts (services/ledger/README.md):
///  settlement: DEBIT customer_cash, CREDIT merchant_receivable (the amount, the currency)
///  reversal:   DEBIT merchant_receivable, CREDIT customer_cash (undoes the settlement)
///  refund:     DEBIT merchant_receivable, CREDIT customer_cash (gives back part or all of the
///              settlement; one per refund, see BuildRefundEntry)
/// Refuses a non-positive amount, a currency that is not three upper-case letters, and
/// kRefund (a refund entry needs its refund id: BuildRefundEntry).
[[nodiscard]] Result<JournalEntry> BuildJournalEntry(
    Purpose purpose,
    const std::string& payment_id,
    std::int64_t amount_minor,
    const std::string& currency
);

/// The refund `refund_id` (a UUID) of `payment_id`: transaction id
/// "refund:<payment_id>:<refund_id in lower case>", DEBIT merchant_receivable, CREDIT
/// customer_cash. Refuses what BuildJournalEntry refuses and a refund id that is not a UUID.
[[nodiscard]] Result<JournalEntry> BuildRefundEntry(
    const std::string& payment_id,
    const std::string& refund_id,
    std::int64_t amount_minor,
    const std::string& currency
);

/// What `entry` moves: the sum of its debits (what ledger_transactions.amount_minor records).
[[nodiscard]] std::int64_t AmountOf(const JournalEntry& entry) noexcept;

/// Debits minus credits per currency are all zero, and every amount is positive.
[[nodiscard]] bool IsBalanced(const std::vector<Posting>& postings);

[[nodiscard]] const char* ToString(Purpose purpose) noexcept;
[[nodiscard]] const char* ToString(Direction direction) noexcept;

}  // namespace sagapay::ledger
