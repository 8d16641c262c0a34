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
// its purpose and payment, a refund the settlement cannot cover) at COMMIT, through its deferred
// constraint triggers; the in-memory book refuses it at Post. So refusals are asserted on the
// whole unit of work.

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>
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

    /// The refund number `refund` of payment `n`.
    static JournalEntry Refund(
        int n, int refund, std::int64_t amount, const std::string& currency = "USD"
    ) {
        return BuildRefundEntry(Payment(n).Value(), RefundId(refund), amount, currency).value();
    }
    static std::string RefundId(int refund) { return testing::UuidNo(9000 + refund); }
    static std::string RefundTransactionId(int n, int refund) {
        return "refund:" + Payment(n).Value() + ":" + RefundId(refund);
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

    std::vector<PostedTransaction> Transactions(int n) {
        std::vector<PostedTransaction> found;
        harness_.Run([&](LedgerBook& book) { found = book.Transactions(Payment(n)); });
        return found;
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

// ---- Refunds: one posting per refund id, together never more than the settlement ------------

TYPED_TEST_P(LedgerBookContract, ARefundIsPostedOncePerRefundIdAndAPaymentHasMany) {
    ASSERT_TRUE(this->Post(1, this->Entry(Purpose::kSettlement, 1, 1000)));

    EXPECT_TRUE(this->Post(1, this->Refund(1, 1, 300), "evt-1"));
    EXPECT_FALSE(this->Post(1, this->Refund(1, 1, 300), "evt-2"));  // a redelivery
    EXPECT_FALSE(this->Post(1, this->Refund(1, 1, 999), "evt-3"));  // the id is taken
    EXPECT_TRUE(this->Post(1, this->Refund(1, 2, 700), "evt-4"));

    using T = PostedTransaction;
    EXPECT_EQ(
        this->Transactions(1),
        (std::vector<T>{
            {this->RefundTransactionId(1, 1), Purpose::kRefund, this->Usd(300)},
            {this->RefundTransactionId(1, 2), Purpose::kRefund, this->Usd(700)},
            {"settlement:" + this->Payment(1).Value(), Purpose::kSettlement, this->Usd(1000)},
        })
    );
    EXPECT_EQ(this->Settlement(1), this->Usd(1000));
}

TYPED_TEST_P(LedgerBookContract, RefundsNeverGiveBackMoreThanTheSettlement) {
    ASSERT_TRUE(this->Post(1, this->Entry(Purpose::kSettlement, 1, 500)));
    ASSERT_TRUE(this->Post(1, this->Refund(1, 1, 300)));

    EXPECT_EQ(this->PostFails(1, this->Refund(1, 2, 201)), ErrorCode::kInvalidArgument);
    EXPECT_TRUE(this->Post(1, this->Refund(1, 2, 200)));
    EXPECT_EQ(this->PostFails(1, this->Refund(1, 3, 1)), ErrorCode::kInvalidArgument);

    EXPECT_EQ(this->Transactions(1).size(), 3U);
}

TYPED_TEST_P(LedgerBookContract, TwoRefundsInOneUnitOfWorkAreBoundedTogether) {
    ASSERT_TRUE(this->Post(1, this->Entry(Purpose::kSettlement, 1, 500)));

    EXPECT_EQ(
        testing::ErrorCodeOf([&] {
            this->harness_.Run([&](LedgerBook& book) {
                (void)book.Post(this->Payment(1), this->Refund(1, 1, 300), EventId("evt-1"));
                (void)book.Post(this->Payment(1), this->Refund(1, 2, 300), EventId("evt-2"));
            });
        }),
        ErrorCode::kInvalidArgument
    );

    EXPECT_EQ(this->Transactions(1).size(), 1U);  // the settlement alone
}

TYPED_TEST_P(LedgerBookContract, ASettlementAndItsRefundInOneUnitOfWorkCommit) {
    this->harness_.Run([&](LedgerBook& book) {
        EXPECT_TRUE(
            book.Post(this->Payment(1), this->Entry(Purpose::kSettlement, 1, 500), EventId("evt-1"))
        );
        EXPECT_TRUE(book.Post(this->Payment(1), this->Refund(1, 1, 500), EventId("evt-2")));
    });

    EXPECT_EQ(this->Transactions(1).size(), 2U);
}

TYPED_TEST_P(LedgerBookContract, ARefundWithoutSettlementOrInAnotherCurrencyNeverCommits) {
    EXPECT_EQ(this->PostFails(1, this->Refund(1, 1, 100)), ErrorCode::kInvalidArgument);
    ASSERT_TRUE(this->Post(2, this->Entry(Purpose::kReversal, 2, 100)));
    EXPECT_EQ(this->PostFails(2, this->Refund(2, 1, 100)), ErrorCode::kInvalidArgument);
    ASSERT_TRUE(this->Post(3, this->Entry(Purpose::kSettlement, 3, 100, "EUR")));
    EXPECT_EQ(this->PostFails(3, this->Refund(3, 1, 100, "USD")), ErrorCode::kInvalidArgument);

    EXPECT_TRUE(this->Transactions(1).empty());
    EXPECT_EQ(this->Transactions(2).size(), 1U);
    EXPECT_EQ(this->Transactions(3).size(), 1U);
}

TYPED_TEST_P(LedgerBookContract, ARefundWhoseIdDoesNotNameItsPaymentAndARefundIdNeverCommits) {
    ASSERT_TRUE(this->Post(1, this->Entry(Purpose::kSettlement, 1, 500)));
    ASSERT_TRUE(this->Post(2, this->Entry(Purpose::kSettlement, 2, 500)));
    const auto with_id = [&](std::string id) {
        JournalEntry entry = this->Refund(1, 1, 100);
        entry.transaction_id = std::move(id);
        return entry;
    };
    const std::string payment = this->Payment(1).Value();
    const std::string refund = this->RefundId(1);

    for (const JournalEntry& entry : {
             this->Refund(2, 1, 100),                                 // payment 2's refund
             with_id("refund:" + payment),                            // no refund id
             with_id("refund:" + payment + ":refund-1"),              // not a uuid
             with_id(fmt::format("refund:{}:{}x", payment, refund)),  // more after it
             with_id("refund:" + payment + ":0000000A-0000-4000-8000-000000009001"),  // upper
             with_id("reversal:" + payment),  // another purpose's id
         }) {
        SCOPED_TRACE(entry.transaction_id);
        EXPECT_EQ(this->PostFails(1, entry), ErrorCode::kInvalidArgument);
    }
    // A settlement or reversal named like a refund.
    JournalEntry reversal = this->Entry(Purpose::kReversal, 1, 100);
    reversal.transaction_id = "reversal:" + payment + ":" + refund;
    EXPECT_EQ(this->PostFails(1, reversal), ErrorCode::kInvalidArgument);

    EXPECT_EQ(this->Transactions(1).size(), 1U);
    EXPECT_EQ(this->Transactions(2).size(), 1U);
}

TYPED_TEST_P(LedgerBookContract, AReversalAfterRefundsGivesBackAtMostWhatIsLeft) {
    ASSERT_TRUE(this->Post(1, this->Entry(Purpose::kSettlement, 1, 500)));
    ASSERT_TRUE(this->Post(1, this->Refund(1, 1, 200)));

    EXPECT_EQ(
        this->PostFails(1, this->Entry(Purpose::kReversal, 1, 500)), ErrorCode::kInvalidArgument
    );
    EXPECT_TRUE(this->Post(1, this->Entry(Purpose::kReversal, 1, 300)));
    // And a refund after the reversal finds nothing left.
    EXPECT_EQ(this->PostFails(1, this->Refund(1, 2, 1)), ErrorCode::kInvalidArgument);

    EXPECT_EQ(this->Transactions(1).size(), 3U);
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
    APaymentIdThatIsNotAUuidIsRefusedAsInvalid,
    ARefundIsPostedOncePerRefundIdAndAPaymentHasMany,
    RefundsNeverGiveBackMoreThanTheSettlement,
    TwoRefundsInOneUnitOfWorkAreBoundedTogether,
    ASettlementAndItsRefundInOneUnitOfWorkCommit,
    ARefundWithoutSettlementOrInAnotherCurrencyNeverCommits,
    ARefundWhoseIdDoesNotNameItsPaymentAndARefundIdNeverCommits,
    AReversalAfterRefundsGivesBackAtMostWhatIsLeft
);

}  // namespace sagapay::ledger::contract
