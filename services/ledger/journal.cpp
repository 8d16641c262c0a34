#include "services/ledger/journal.hpp"

#include <map>

#include "core/assert.hpp"
#include "core/money.hpp"

namespace sagapay::ledger {

const char* ToString(Purpose purpose) noexcept {
    return purpose == Purpose::kSettlement ? "SETTLEMENT" : "REVERSAL";
}

const char* ToString(Direction direction) noexcept {
    return direction == Direction::kDebit ? "DEBIT" : "CREDIT";
}

bool IsBalanced(const std::vector<Posting>& postings) {
    std::map<std::string, std::int64_t> net;
    for (const Posting& p : postings) {
        if (p.amount_minor <= 0) {
            return false;
        }
        const auto sum = CheckedAdd(
            net[p.currency], p.direction == Direction::kDebit ? p.amount_minor : -p.amount_minor
        );
        if (!sum) {
            return false;
        }
        net[p.currency] = *sum;
    }
    for (const auto& [currency, value] : net) {
        if (value != 0) {
            return false;
        }
    }
    return !postings.empty();
}

Result<JournalEntry> BuildJournalEntry(
    Purpose purpose,
    const std::string& payment_id,
    std::int64_t amount_minor,
    const std::string& currency
) {
    if (amount_minor <= 0 || amount_minor > kMaxAmountMinor) {
        return Fail(
            ErrorCode::kInvalidArgument,
            "amount must be from 1 to " + std::to_string(kMaxAmountMinor)
        );
    }
    if (!FindCurrency(currency)) {
        return Fail(ErrorCode::kInvalidArgument, "unknown currency " + currency);
    }
    JournalEntry entry;
    entry.purpose = purpose;
    const bool settle = purpose == Purpose::kSettlement;
    entry.transaction_id = std::string(settle ? "settlement:" : "reversal:") + payment_id;
    entry.postings = {
        {settle ? "customer_cash" : "merchant_receivable",
         Direction::kDebit,
         amount_minor,
         currency},
        {settle ? "merchant_receivable" : "customer_cash",
         Direction::kCredit,
         amount_minor,
         currency},
    };
    SAGAPAY_ASSERT(IsBalanced(entry.postings), "journal entry does not balance");
    return entry;
}

}  // namespace sagapay::ledger
