#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/result.hpp"

namespace sagapay::ledger {

enum class Purpose { kSettlement, kReversal };

enum class Direction { kDebit, kCredit };

struct Posting {
    std::string account_code;  ///< customer_cash, merchant_receivable, platform_fee, clearing
    Direction direction = Direction::kDebit;
    std::int64_t amount_minor = 0;
    std::string currency;
};

/// A balanced set of postings for one payment and purpose.
struct JournalEntry {
    std::string
        transaction_id;  ///< "settlement:<payment_id>" (the seed's form), "reversal:<payment_id>"
    Purpose purpose = Purpose::kSettlement;
    std::vector<Posting> postings;
};

/// The chart of accounts (services/ledger/README.md):
///  settlement: DEBIT customer_cash, CREDIT merchant_receivable (the amount, the currency)
///  reversal:   DEBIT merchant_receivable, CREDIT customer_cash (undoes the settlement)
/// Refuses a non-positive amount or a currency that is not three upper-case letters.
[[nodiscard]] Result<JournalEntry> BuildJournalEntry(
    Purpose purpose,
    const std::string& payment_id,
    std::int64_t amount_minor,
    const std::string& currency
);

/// Debits minus credits per currency are all zero, and every amount is positive.
[[nodiscard]] bool IsBalanced(const std::vector<Posting>& postings);

[[nodiscard]] const char* ToString(Purpose purpose) noexcept;
[[nodiscard]] const char* ToString(Direction direction) noexcept;

}  // namespace sagapay::ledger
