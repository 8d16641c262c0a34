#pragma once

#include <map>
#include <utility>
#include <vector>

#include "core/error.hpp"
#include "services/ledger/ledger_book.hpp"

namespace sagapay::ledger {

/// LedgerBook in memory for tests, with PgLedgerBook's rules: one posting per (payment, purpose),
/// and an unbalanced entry is refused (where PostgreSQL refuses it at COMMIT, this throws at once).
class InMemoryLedgerBook final : public LedgerBook {
public:
    struct Stored {
        JournalEntry entry;
        EventId source;
    };

    // LedgerBook
    bool Post(const PaymentId& payment, const JournalEntry& entry, const EventId& source) override {
        if (!IsBalanced(entry.postings)) {
            throw Exception(
                ErrorCode::kInvalidArgument, entry.transaction_id + " does not balance"
            );
        }
        return postings_.try_emplace({payment, entry.purpose}, Stored{entry, source}).second;
    }

    [[nodiscard]] std::optional<Money> Settlement(const PaymentId& payment) override {
        const auto it = postings_.find({payment, Purpose::kSettlement});
        if (it == postings_.end()) {
            return std::nullopt;
        }
        const Posting& debit = it->second.entry.postings.front();
        return Money{debit.amount_minor, *Currency::Parse(debit.currency)};
    }

    // For tests
    [[nodiscard]] const std::map<std::pair<PaymentId, Purpose>, Stored>& Postings() const noexcept {
        return postings_;
    }
    /// Debits minus credits of `account_id` ('<code>:<currency>') over every posting.
    [[nodiscard]] std::int64_t Balance(const std::string& account_id) const {
        std::int64_t balance = 0;
        for (const auto& [key, stored] : postings_) {
            for (const Posting& p : stored.entry.postings) {
                if (p.account_code + ":" + p.currency == account_id) {
                    balance += p.direction == Direction::kDebit ? p.amount_minor : -p.amount_minor;
                }
            }
        }
        return balance;
    }

private:
    std::map<std::pair<PaymentId, Purpose>, Stored> postings_;
};

}  // namespace sagapay::ledger
