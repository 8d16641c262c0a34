#pragma once

// The contract of LedgerBook, run against InMemoryLedgerBook (ledger_book_contract_test.cpp) and
// PgLedgerBook (ledger_book_contract_pgtest.cpp). The deterministic simulation runs the ledger
// handler over the in-memory book: it is only valid while both pass this suite. What only the
// database can show (balances through the reports, the append-only triggers, races) stays in
// ledger_store_pgtest.cpp.
//
// A harness `H` gives each test an empty book and provides:
//   void Run(const std::function<void(LedgerBook&)>& work);
//       one unit of work: committed when `work` returns, rolled back (rethrowing) when it or the
//       commit throws
//
// PostgreSQL refuses a malformed entry (unbalanced, in two currencies, an id that does not name
// its purpose and payment) at COMMIT, through its deferred constraint triggers; the in-memory book
// refuses it at Post. So refusals are asserted on the whole unit of work.

#include <functional>
#include <optional>
#include <string>

#include <gtest/gtest.h>

#include "core/error.hpp"
#include "services/ledger/journal.hpp"
#include "services/ledger/ledger_book.hpp"
#include "testing/contract.hpp"

namespace sagapay::ledger::contract {

template <class Harness>
class LedgerBookContract : public ::testing::Test {
protected:
    static PaymentId Payment(int n) { return PaymentId(testing::UuidNo(n)); }

    static JournalEntry Entry(
        Purpose purpose, int n, std::int64_t amount, const std::string& currency = "USD"
    ) {
        return BuildJournalEntry(purpose, Payment(n).Value(), amount, currency).value();
    }

    bool Post(int n, const JournalEntry& entry, const std::string& event = "evt") {
        bool posted = false;
        harness_.Run([&](LedgerBook& book) {
            posted = book.Post(Payment(n), entry, EventId(event));
        });
        return posted;
    }
    std::optional<ErrorCode> PostFails(int n, const JournalEntry& entry) {
        return testing::ErrorCodeOf([&] { Post(n, entry); });
    }
    std::optional<Money> Settlement(int n) {
        std::optional<Money> settled;
        harness_.Run([&](LedgerBook& book) { settled = book.Settlement(Payment(n)); });
        return settled;
    }

    static Money Usd(std::int64_t amount) { return Money{amount, *Currency::Parse("USD")}; }

    Harness harness_;
};

TYPED_TEST_SUITE_P(LedgerBookContract);

TYPED_TEST_P(LedgerBookContract, APaymentIsPostedOncePerPurposeWhateverTheEvent) {
    EXPECT_TRUE(this->Post(1, this->Entry(Purpose::kSettlement, 1, 700), "evt-1"));
    EXPECT_FALSE(this->Post(1, this->Entry(Purpose::kSettlement, 1, 700), "evt-2"));
    EXPECT_FALSE(this->Post(1, this->Entry(Purpose::kSettlement, 1, 999), "evt-3"));
    EXPECT_TRUE(this->Post(1, this->Entry(Purpose::kReversal, 1, 700), "evt-4"));
    EXPECT_FALSE(this->Post(1, this->Entry(Purpose::kReversal, 1, 700), "evt-5"));
    EXPECT_TRUE(this->Post(2, this->Entry(Purpose::kSettlement, 2, 700), "evt-6"));

    EXPECT_EQ(this->Settlement(1), this->Usd(700));
}

TYPED_TEST_P(LedgerBookContract, ARepeatedPostingInOneUnitOfWorkIsNotPosted) {
    const JournalEntry entry = this->Entry(Purpose::kSettlement, 1, 250);

    this->harness_.Run([&](LedgerBook& book) {
        EXPECT_TRUE(book.Post(this->Payment(1), entry, EventId("evt-1")));
        EXPECT_FALSE(book.Post(this->Payment(1), entry, EventId("evt-2")));
        EXPECT_EQ(book.Settlement(this->Payment(1)), this->Usd(250));
    });

    EXPECT_EQ(this->Settlement(1), this->Usd(250));
}

TYPED_TEST_P(LedgerBookContract, SettlementIsTheSettledAmountAndOnlyThat) {
    EXPECT_EQ(this->Settlement(1), std::nullopt);
    ASSERT_TRUE(this->Post(2, this->Entry(Purpose::kReversal, 2, 300, "JPY")));
    ASSERT_TRUE(this->Post(1, this->Entry(Purpose::kSettlement, 1, 300, "JPY")));

    EXPECT_EQ(this->Settlement(1), (Money{300, *Currency::Parse("JPY")}));
    EXPECT_EQ(this->Settlement(2), std::nullopt);  // a reversal alone is no settlement
}

TYPED_TEST_P(LedgerBookContract, SettlementIsWhatTheEntryDebits) {
    // A hand-built entry with two debits: the settled amount is their sum.
    JournalEntry entry = this->Entry(Purpose::kSettlement, 1, 150);
    entry.postings = {
        {"customer_cash", Direction::kDebit, 100, "USD"},
        {"clearing", Direction::kDebit, 50, "USD"},
        {"merchant_receivable", Direction::kCredit, 150, "USD"},
    };

    ASSERT_TRUE(this->Post(1, entry));

    EXPECT_EQ(this->Settlement(1), this->Usd(150));
}

TYPED_TEST_P(LedgerBookContract, AnUnbalancedEntryNeverCommitsAndLeavesNothing) {
    JournalEntry entry = this->Entry(Purpose::kSettlement, 1, 100);
    entry.postings.back().amount_minor = 90;

    EXPECT_EQ(this->PostFails(1, entry), ErrorCode::kInvalidArgument);

    EXPECT_EQ(this->Settlement(1), std::nullopt);
    EXPECT_TRUE(this->Post(1, this->Entry(Purpose::kSettlement, 1, 100)));
}

TYPED_TEST_P(LedgerBookContract, AnEntryInTwoCurrenciesNeverCommits) {
    // Balanced in each currency, but a ledger transaction has one currency.
    JournalEntry entry = this->Entry(Purpose::kSettlement, 1, 100);
    entry.postings.push_back({"customer_cash", Direction::kDebit, 40, "EUR"});
    entry.postings.push_back({"merchant_receivable", Direction::kCredit, 40, "EUR"});

    EXPECT_EQ(this->PostFails(1, entry), ErrorCode::kInvalidArgument);

    EXPECT_EQ(this->Settlement(1), std::nullopt);
}

TYPED_TEST_P(LedgerBookContract, AnEntryWhoseIdDoesNotNameItsPurposeAndPaymentNeverCommits) {
    JournalEntry other_payment = this->Entry(Purpose::kSettlement, 2, 100);  // for payment 2
    JournalEntry other_purpose = this->Entry(Purpose::kSettlement, 1, 100);
    other_purpose.purpose = Purpose::kReversal;  // id says settlement

    EXPECT_EQ(this->PostFails(1, other_payment), ErrorCode::kInvalidArgument);
    EXPECT_EQ(this->PostFails(1, other_purpose), ErrorCode::kInvalidArgument);

    EXPECT_EQ(this->Settlement(1), std::nullopt);
    EXPECT_EQ(this->Settlement(2), std::nullopt);
}

TYPED_TEST_P(LedgerBookContract, ARepeatedPostingIsNotPostedEvenWhenMalformed) {
    // The (payment, purpose) is checked first: a repeat posts nothing, so nothing is refused.
    ASSERT_TRUE(this->Post(1, this->Entry(Purpose::kSettlement, 1, 100)));
    JournalEntry unbalanced = this->Entry(Purpose::kSettlement, 1, 100);
    unbalanced.postings.back().amount_minor = 1;

    EXPECT_FALSE(this->Post(1, unbalanced));
    // Its transaction id is taken (by payment 1), whatever payment it is posted for.
    EXPECT_FALSE(this->Post(2, this->Entry(Purpose::kSettlement, 1, 100)));

    EXPECT_EQ(this->Settlement(1), this->Usd(100));
    EXPECT_EQ(this->Settlement(2), std::nullopt);
}

TYPED_TEST_P(LedgerBookContract, ARolledBackPostingCanBePostedAgain) {
    EXPECT_EQ(
        testing::ErrorCodeOf([&] {
            this->harness_.Run([&](LedgerBook& book) {
                EXPECT_TRUE(book.Post(
                    this->Payment(1), this->Entry(Purpose::kSettlement, 1, 500), EventId("evt-1")
                ));
                throw Exception(ErrorCode::kUnavailable, "the handler failed after posting");
            });
        }),
        ErrorCode::kUnavailable
    );

    EXPECT_EQ(this->Settlement(1), std::nullopt);
    EXPECT_TRUE(this->Post(1, this->Entry(Purpose::kSettlement, 1, 500), "evt-2"));
    EXPECT_EQ(this->Settlement(1), this->Usd(500));
}

TYPED_TEST_P(LedgerBookContract, APaymentIdThatIsNotAUuidIsRefusedAsInvalid) {
    const JournalEntry entry =
        BuildJournalEntry(Purpose::kSettlement, "not-a-uuid", 100, "USD").value();

    EXPECT_EQ(
        testing::ErrorCodeOf([&] {
            this->harness_.Run([&](LedgerBook& book) {
                (void)book.Post(PaymentId("not-a-uuid"), entry, EventId("evt"));
            });
        }),
        ErrorCode::kInvalidArgument
    );
    EXPECT_EQ(
        testing::ErrorCodeOf([&] {
            this->harness_.Run([&](LedgerBook& book) {
                (void)book.Settlement(PaymentId("not-a-uuid"));
            });
        }),
        ErrorCode::kInvalidArgument
    );
}

REGISTER_TYPED_TEST_SUITE_P(
    LedgerBookContract,
    APaymentIsPostedOncePerPurposeWhateverTheEvent,
    ARepeatedPostingInOneUnitOfWorkIsNotPosted,
    SettlementIsTheSettledAmountAndOnlyThat,
    SettlementIsWhatTheEntryDebits,
    AnUnbalancedEntryNeverCommitsAndLeavesNothing,
    AnEntryInTwoCurrenciesNeverCommits,
    AnEntryWhoseIdDoesNotNameItsPurposeAndPaymentNeverCommits,
    ARepeatedPostingIsNotPostedEvenWhenMalformed,
    ARolledBackPostingCanBePostedAgain,
    APaymentIdThatIsNotAUuidIsRefusedAsInvalid
);

}  // namespace sagapay::ledger::contract
