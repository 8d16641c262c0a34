#pragma once

#include <algorithm>
#include <cctype>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "core/error.hpp"
#include "core/ids.hpp"
#include "services/ledger/ledger_book.hpp"

namespace sagapay::ledger {

/// LedgerBook in memory for tests and the simulation, with PgLedgerBook's rules
/// (ledger_book_contract.hpp): one posting per (payment, purpose) and per transaction id, checked
/// first (a repeat is not posted, even a malformed one); then a malformed entry is refused with
/// kInvalidArgument (unbalanced, in more than one currency, an id that is not
/// '<purpose>:<payment>'; PostgreSQL refuses these at COMMIT, this throws at once); a payment id
/// that is not a UUID is refused with kInvalidArgument, as the uuid column does.
class InMemoryLedgerBook final : public LedgerBook {
public:
    struct Stored {
        JournalEntry entry;
        EventId source;
    };

    // LedgerBook
    bool Post(const PaymentId& payment, const JournalEntry& entry, const EventId& source) override {
        RequireUuid(payment);
        // INSERT … ON CONFLICT DO NOTHING: the primary key (transaction id) and the unique
        // (payment, purpose) come before the deferred checks.
        if (postings_.contains({payment, entry.purpose}) ||
            transaction_ids_.contains(entry.transaction_id)) {
            return false;
        }
        if (entry.postings.empty() || !IsBalanced(entry.postings)) {
            throw Exception(
                ErrorCode::kInvalidArgument, entry.transaction_id + " does not balance"
            );
        }
        const std::string& currency = entry.postings.front().currency;
        if (std::any_of(entry.postings.begin(), entry.postings.end(), [&](const Posting& p) {
                return p.currency != currency;
            })) {
            throw Exception(
                ErrorCode::kInvalidArgument, entry.transaction_id + " has entries in two currencies"
            );
        }
        std::string expected_id = ToString(entry.purpose);
        std::transform(expected_id.begin(), expected_id.end(), expected_id.begin(), [](char c) {
            return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        });
        if (entry.transaction_id != expected_id + ":" + payment.Value()) {
            throw Exception(
                ErrorCode::kInvalidArgument,
                "ledger transaction id " + entry.transaction_id +
                    " does not match its purpose and payment"
            );
        }
        transaction_ids_.insert(entry.transaction_id);
        postings_.emplace(std::pair{payment, entry.purpose}, Stored{entry, source});
        return true;
    }

    [[nodiscard]] std::optional<Money> Settlement(const PaymentId& payment) override {
        RequireUuid(payment);
        const auto it = postings_.find({payment, Purpose::kSettlement});
        if (it == postings_.end()) {
            return std::nullopt;
        }
        // As ledger_transactions.amount_minor: what the entry debits, in its one currency.
        std::int64_t debits = 0;
        for (const Posting& p : it->second.entry.postings) {
            if (p.direction == Direction::kDebit) {
                debits += p.amount_minor;
            }
        }
        return Money{debits, *Currency::Parse(it->second.entry.postings.front().currency)};
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
    /// What the uuid column refuses (SQLSTATE 22P02, mapped to kInvalidArgument).
    static void RequireUuid(const PaymentId& payment) {
        if (!IsUuid(payment.Value())) {
            throw Exception(
                ErrorCode::kInvalidArgument,
                "invalid input syntax for type uuid: " + payment.Value()
            );
        }
    }

    std::map<std::pair<PaymentId, Purpose>, Stored> postings_;
    std::set<std::string> transaction_ids_;
};

}  // namespace sagapay::ledger
