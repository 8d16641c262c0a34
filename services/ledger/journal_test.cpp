#include "services/ledger/journal.hpp"

#include <gtest/gtest.h>

#include "core/money.hpp"

namespace sagapay::ledger {
namespace {

TEST(Journal, SettlementDebitsCustomerCashAndCreditsTheMerchant) {
    const auto entry = BuildJournalEntry(Purpose::kSettlement, "p-1", 1500, "USD");

    ASSERT_TRUE(entry.has_value());
    EXPECT_EQ(entry->transaction_id, "settlement:p-1");
    ASSERT_EQ(entry->postings.size(), 2U);
    EXPECT_EQ(entry->postings[0].account_code, "customer_cash");
    EXPECT_EQ(entry->postings[0].direction, Direction::kDebit);
    EXPECT_EQ(entry->postings[1].account_code, "merchant_receivable");
    EXPECT_EQ(entry->postings[1].direction, Direction::kCredit);
    EXPECT_EQ(entry->postings[1].amount_minor, 1500);
    EXPECT_EQ(entry->postings[1].currency, "USD");
}

TEST(Journal, ReversalUndoesTheSettlement) {
    const auto settle = BuildJournalEntry(Purpose::kSettlement, "p-1", 700, "EUR");
    const auto reverse = BuildJournalEntry(Purpose::kReversal, "p-1", 700, "EUR");
    ASSERT_TRUE(settle && reverse);

    std::vector<Posting> both = settle->postings;
    both.insert(both.end(), reverse->postings.begin(), reverse->postings.end());

    EXPECT_EQ(reverse->transaction_id, "reversal:p-1");
    EXPECT_TRUE(IsBalanced(both));
    EXPECT_EQ(reverse->postings[0].account_code, "merchant_receivable");
}

TEST(Journal, ARefundIsTheOppositeOfTheSettlementUnderItsRefundId) {
    const auto refund = BuildRefundEntry("p-1", "0F8E0000-0000-4000-8000-0000000000AB", 300, "JPY");

    ASSERT_TRUE(refund.has_value());
    EXPECT_EQ(refund->purpose, Purpose::kRefund);
    EXPECT_EQ(refund->transaction_id, "refund:p-1:0f8e0000-0000-4000-8000-0000000000ab");
    ASSERT_EQ(refund->postings.size(), 2U);
    EXPECT_EQ(refund->postings[0].account_code, "merchant_receivable");
    EXPECT_EQ(refund->postings[0].direction, Direction::kDebit);
    EXPECT_EQ(refund->postings[1].account_code, "customer_cash");
    EXPECT_EQ(refund->postings[1].direction, Direction::kCredit);
    EXPECT_EQ(refund->postings[1].amount_minor, 300);
    EXPECT_EQ(refund->postings[1].currency, "JPY");
    EXPECT_EQ(AmountOf(*refund), 300);
    EXPECT_STREQ(ToString(Purpose::kRefund), "REFUND");
}

TEST(Journal, ARefundNeedsAUuidRefundIdAndAValidAmount) {
    const std::string id = "0f8e0000-0000-4000-8000-0000000000ab";
    EXPECT_EQ(
        BuildRefundEntry("p", "refund-1", 100, "USD").error().code, ErrorCode::kInvalidArgument
    );
    EXPECT_EQ(BuildRefundEntry("p", "", 100, "USD").error().code, ErrorCode::kInvalidArgument);
    EXPECT_EQ(BuildRefundEntry("p", id, 0, "USD").error().code, ErrorCode::kInvalidArgument);
    EXPECT_EQ(BuildRefundEntry("p", id, 1, "usd").error().code, ErrorCode::kInvalidArgument);
    // Without its refund id a refund cannot be named.
    EXPECT_EQ(
        BuildJournalEntry(Purpose::kRefund, "p", 100, "USD").error().code,
        ErrorCode::kInvalidArgument
    );
}

struct BalanceCase {
    std::vector<Posting> postings;
    bool balanced;
};

TEST(Journal, BalanceIsCheckedPerCurrency) {
    const BalanceCase cases[] = {
        {{{"a", Direction::kDebit, 5, "USD"}, {"b", Direction::kCredit, 5, "USD"}}, true},
        {{{"a", Direction::kDebit, 5, "USD"}, {"b", Direction::kCredit, 4, "USD"}}, false},
        {{{"a", Direction::kDebit, 5, "USD"}, {"b", Direction::kCredit, 5, "EUR"}}, false},
        {{{"a", Direction::kDebit, 5, "USD"},
          {"b", Direction::kCredit, 5, "USD"},
          {"c", Direction::kDebit, 9, "EUR"},
          {"d", Direction::kCredit, 9, "EUR"}},
         true},
        {{{"a", Direction::kDebit, 0, "USD"}, {"b", Direction::kCredit, 0, "USD"}}, false},
        {{{"a", Direction::kDebit, INT64_MAX, "USD"}, {"b", Direction::kDebit, 1, "USD"}}, false},
        {{}, false},
    };
    for (const auto& c : cases) {
        EXPECT_EQ(IsBalanced(c.postings), c.balanced);
    }
}

TEST(Journal, RefusesBadAmountsAndCurrencies) {
    EXPECT_EQ(
        BuildJournalEntry(Purpose::kSettlement, "p", 0, "USD").error().code,
        ErrorCode::kInvalidArgument
    );
    EXPECT_EQ(
        BuildJournalEntry(Purpose::kSettlement, "p", -1, "USD").error().code,
        ErrorCode::kInvalidArgument
    );
    EXPECT_EQ(
        BuildJournalEntry(Purpose::kSettlement, "p", kMaxAmountMinor + 1, "USD").error().code,
        ErrorCode::kInvalidArgument
    );
    EXPECT_EQ(
        BuildJournalEntry(Purpose::kSettlement, "p", 1, "usd").error().code,
        ErrorCode::kInvalidArgument
    );
}

}  // namespace
}  // namespace sagapay::ledger
