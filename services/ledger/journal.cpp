#include "services/ledger/journal.hpp"

#include <algorithm>
#include <cctype>
#include <map>

#include "core/assert.hpp"
#include "core/ids.hpp"
#include "core/money.hpp"

namespace sagapay::ledger {

const char* ToString(Purpose purpose) noexcept {
    switch (purpose) {
        case Purpose::kSettlement:
            return "SETTLEMENT";
        case Purpose::kReversal:
            return "REVERSAL";
        case Purpose::kRefund:
            return "REFUND";
    }
    return "SETTLEMENT";
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

namespace {

/// The two postings of `purpose`: a settlement moves the amount from the customer to the
/// merchant; a reversal and a refund move it back.
Result<JournalEntry> Build(
    Purpose purpose,
    std::string transaction_id,
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
    entry.transaction_id = std::move(transaction_id);
    const bool settle = purpose == Purpose::kSettlement;
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

}  // namespace

Result<JournalEntry> BuildJournalEntry(
    Purpose purpose,
    const std::string& payment_id,
    std::int64_t amount_minor,
    const std::string& currency
) {
    if (purpose == Purpose::kRefund) {
        return Fail(
            ErrorCode::kInvalidArgument, "a refund entry needs its refund id (BuildRefundEntry)"
        );
    }
    const bool settle = purpose == Purpose::kSettlement;
    return Build(
        purpose,
        std::string(settle ? "settlement:" : "reversal:") + payment_id,
        amount_minor,
        currency
    );
}

Result<JournalEntry> BuildRefundEntry(
    const std::string& payment_id,
    const std::string& refund_id,
    std::int64_t amount_minor,
    const std::string& currency
) {
    if (!IsUuid(refund_id)) {
        return Fail(ErrorCode::kInvalidArgument, "refund id must be a UUID, got " + refund_id);
    }
    std::string lower = refund_id;
    std::transform(lower.begin(), lower.end(), lower.begin(), [](char c) {
        return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    });
    return Build(Purpose::kRefund, "refund:" + payment_id + ":" + lower, amount_minor, currency);
}

std::int64_t AmountOf(const JournalEntry& entry) noexcept {
    std::int64_t debits = 0;
    for (const Posting& p : entry.postings) {
        if (p.direction == Direction::kDebit) {
            debits += p.amount_minor;
        }
    }
    return debits;
}

}  // namespace sagapay::ledger
