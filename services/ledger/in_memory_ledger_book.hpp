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
/// (ledger_book_contract.hpp): one settlement and one reversal per payment and one posting per
/// transaction id, checked first (a repeat is not posted, even a malformed one); then a malformed
/// entry is refused with kInvalidArgument (unbalanced, in more than one currency, an id that is
/// not '<purpose>:<payment>', or 'refund:<payment>:<uuid>' for a refund; a refund, or a reversal
/// after refunds, that would give back more than the settlement, in another currency or with no
/// settlement; PostgreSQL refuses these at COMMIT, this throws at once); a payment id that is not
/// a UUID is refused with kInvalidArgument, as the uuid column does.
class InMemoryLedgerBook final : public LedgerBook {
public:
    struct Stored {
        JournalEntry entry;
        EventId source;
    };
    struct StoredRefund {
        PaymentId payment;
        Stored stored;
    };

    // LedgerBook
    bool Post(const PaymentId& payment, const JournalEntry& entry, const EventId& source) override {
        RequireUuid(payment);
        // INSERT … ON CONFLICT DO NOTHING: the primary key (transaction id) and the unique
        // (payment, purpose) of settlements and reversals come before the deferred checks.
        if ((entry.purpose != Purpose::kRefund && postings_.contains({payment, entry.purpose})) ||
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
        if (!IdNamesPurposeAndPayment(entry, payment)) {
            throw Exception(
                ErrorCode::kInvalidArgument,
                "ledger transaction id " + entry.transaction_id +
                    " does not match its purpose and payment"
            );
        }
        CheckGivenBack(payment, entry);
        transaction_ids_.insert(entry.transaction_id);
        if (entry.purpose == Purpose::kRefund) {
            refunds_.emplace(entry.transaction_id, StoredRefund{payment, {entry, source}});
        } else {
            postings_.emplace(std::pair{payment, entry.purpose}, Stored{entry, source});
        }
        return true;
    }

    [[nodiscard]] std::optional<Money> Settlement(const PaymentId& payment) override {
        RequireUuid(payment);
        const auto it = postings_.find({payment, Purpose::kSettlement});
        if (it == postings_.end()) {
            return std::nullopt;
        }
        return AmountOfStored(it->second.entry);
    }

    [[nodiscard]] std::vector<PostedTransaction> Transactions(const PaymentId& payment) override {
        RequireUuid(payment);
        std::vector<PostedTransaction> found;
        for (const Purpose purpose : {Purpose::kSettlement, Purpose::kReversal}) {
            if (const auto it = postings_.find({payment, purpose}); it != postings_.end()) {
                found.push_back(
                    {it->second.entry.transaction_id, purpose, AmountOfStored(it->second.entry)}
                );
            }
        }
        for (const auto& [id, refund] : refunds_) {
            if (refund.payment == payment) {
                found.push_back({id, Purpose::kRefund, AmountOfStored(refund.stored.entry)});
            }
        }
        std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) {
            return a.transaction_id < b.transaction_id;
        });
        return found;
    }

    // For tests
    /// The settlements and reversals, by (payment, purpose).
    [[nodiscard]] const std::map<std::pair<PaymentId, Purpose>, Stored>& Postings() const noexcept {
        return postings_;
    }
    /// The refunds, by transaction id.
    [[nodiscard]] const std::map<std::string, StoredRefund>& Refunds() const noexcept {
        return refunds_;
    }
    /// Debits minus credits of `account_id` ('<code>:<currency>') over every posting.
    [[nodiscard]] std::int64_t Balance(const std::string& account_id) const {
        std::int64_t balance = 0;
        const auto add = [&](const JournalEntry& entry) {
            for (const Posting& p : entry.postings) {
                if (p.account_code + ":" + p.currency == account_id) {
                    balance += p.direction == Direction::kDebit ? p.amount_minor : -p.amount_minor;
                }
            }
        };
        for (const auto& [key, stored] : postings_) {
            add(stored.entry);
        }
        for (const auto& [id, refund] : refunds_) {
            add(refund.stored.entry);
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

    static std::string Lower(std::string text) {
        std::transform(text.begin(), text.end(), text.begin(), [](char c) {
            return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        });
        return text;
    }

    /// ledger_check_transaction(): '<purpose>:<payment>', or 'refund:<payment>:<uuid>' with the
    /// uuid in lower case.
    static bool IdNamesPurposeAndPayment(const JournalEntry& entry, const PaymentId& payment) {
        const std::string prefix = Lower(ToString(entry.purpose)) + ":" + payment.Value();
        if (entry.purpose != Purpose::kRefund) {
            return entry.transaction_id == prefix;
        }
        if (!entry.transaction_id.starts_with(prefix + ":")) {
            return false;
        }
        const std::string refund = entry.transaction_id.substr(prefix.size() + 1);
        return IsUuid(refund) && refund == Lower(refund);
    }

    static Money AmountOfStored(const JournalEntry& entry) {
        // As ledger_transactions.amount_minor: what the entry debits, in its one currency.
        return Money{AmountOf(entry), *Currency::Parse(entry.postings.front().currency)};
    }

    /// ledger_check_refunds(): once a payment has refunds, its refunds and reversal give back
    /// at most its settlement, in its currency.
    void CheckGivenBack(const PaymentId& payment, const JournalEntry& entry) {
        if (entry.purpose == Purpose::kSettlement) {
            return;
        }
        std::vector<PostedTransaction> given_back;
        for (const PostedTransaction& t : Transactions(payment)) {
            if (t.purpose != Purpose::kSettlement) {
                given_back.push_back(t);
            }
        }
        given_back.push_back({entry.transaction_id, entry.purpose, AmountOfStored(entry)});
        const bool any_refund =
            std::any_of(given_back.begin(), given_back.end(), [](const PostedTransaction& t) {
                return t.purpose == Purpose::kRefund;
            });
        if (!any_refund) {
            return;  // a reversal alone keeps its rules (it needs no settlement here)
        }
        const auto settled = Settlement(payment);
        if (!settled) {
            throw Exception(
                ErrorCode::kInvalidArgument,
                entry.transaction_id + ": payment " + payment.Value() + " has no settlement"
            );
        }
        std::int64_t total = 0;
        for (const PostedTransaction& t : given_back) {
            if (t.amount.currency != settled->currency) {
                throw Exception(
                    ErrorCode::kInvalidArgument,
                    t.transaction_id + " is in another currency than the settlement of " +
                        payment.Value()
                );
            }
            total += t.amount.amount_minor;
        }
        if (total > settled->amount_minor) {
            throw Exception(
                ErrorCode::kInvalidArgument,
                "payment " + payment.Value() + ": refunds and reversal would give back " +
                    std::to_string(total) + ", more than its settlement of " +
                    std::to_string(settled->amount_minor)
            );
        }
    }

    std::map<std::pair<PaymentId, Purpose>, Stored> postings_;
    std::map<std::string, StoredRefund> refunds_;
    std::set<std::string> transaction_ids_;
};

}  // namespace sagapay::ledger
