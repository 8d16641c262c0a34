#include "services/ledger/ledger_store.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <functional>
#include <latch>
#include <limits>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "adapters/postgres/migrator.hpp"
#include "core/money.hpp"
#include "services/ledger/journal.hpp"
#include "services/ledger/pg_ledger_book.hpp"
#include "services/ledger/schema.hpp"
#include "testing/test_env.hpp"

namespace sagapay::ledger {
namespace {

using ::sagapay::testing::TestDatabase;
using Balances = std::map<std::string, std::int64_t>;

/// A fixed, valid payment id for case `n` (tables refer to payments by number).
std::string PaymentNo(int n) {
    char id[40];
    std::snprintf(id, sizeof(id), "00000000-0000-4000-8000-%012d", n);
    return id;
}

JournalEntry Entry(
    Purpose purpose, const std::string& payment_id, std::int64_t amount, const std::string& currency
) {
    auto entry = BuildJournalEntry(purpose, payment_id, amount, currency);
    if (!entry) {
        throw std::runtime_error(
            "BuildJournalEntry refused a valid entry: " + entry.error().message
        );
    }
    return *entry;
}

/// Posts one entry in its own transaction; returns what Post returned.
bool PostOne(
    postgres::Connection& conn,
    Purpose purpose,
    const std::string& payment_id,
    std::int64_t amount,
    const std::string& currency,
    const std::string& event_id
) {
    const JournalEntry entry = Entry(purpose, payment_id, amount, currency);
    postgres::Transaction tx(conn);
    const bool posted = PgLedgerBook(tx).Post(PaymentId(payment_id), entry, EventId(event_id));
    tx.Commit();
    return posted;
}

/// account_id → balance (debits − credits) from a ReconcileAll body.
Balances BalancesOf(const nlohmann::json& report) {
    Balances balances;
    for (const nlohmann::json& account : report.at("balances")) {
        balances[account.at("account_id").get<std::string>()] =
            account.at("balance_cents").get<std::int64_t>();
    }
    return balances;
}

Balances TotalsOf(const nlohmann::json& report) {
    Balances totals;
    for (const auto& [currency, net] : report.at("totals_by_currency").items()) {
        totals[currency] = net.get<std::int64_t>();
    }
    return totals;
}

/// The SQLSTATE `action` fails with, or "" when it does not throw SqlError.
std::string SqlStateOf(const std::function<void()>& action) {
    try {
        action();
    } catch (const postgres::SqlError& error) {
        return error.SqlState().empty() ? "(no sqlstate)" : error.SqlState();
    }
    return "";
}

class LedgerStoreTest : public ::testing::Test {
protected:
    LedgerStoreTest() : conn_(db_.Connect()) {
        postgres::Migrate(conn_, "ledger", LedgerMigrations());
    }

    std::int64_t Count(const char* table) {
        return conn_.Exec(std::string("SELECT count(*) FROM ") + table).GetInt(0, 0);
    }

    nlohmann::json Report() { return LedgerStore::ReconcileAll(conn_, 1000); }

    TestDatabase db_;
    postgres::Connection conn_;
};

// ---- Postings in, balances out ----------------------------------------------------------------

struct Step {
    Purpose purpose = Purpose::kSettlement;
    int payment = 0;
    std::int64_t amount = 0;
    std::string currency;
    bool posted = true;  ///< What Post returns: false for a repeated (payment, purpose).
};

struct PostingCase {
    std::string name;
    std::vector<Step> steps;
    Balances balances;  ///< Every account, '<code>:<currency>' → debits − credits.
    std::int64_t transactions = 0;
};

void PrintTo(const PostingCase& c, std::ostream* out) {
    *out << c.name;
}

constexpr auto kSettle = Purpose::kSettlement;
constexpr auto kReverse = Purpose::kReversal;

const std::vector<PostingCase>& PostingCases() {
    static const std::vector<PostingCase> cases = {
        {"OneSettlementDebitsTheCustomerAndCreditsTheMerchant",
         {{kSettle, 1, 1250, "USD"}},
         {{"customer_cash:USD", 1250}, {"merchant_receivable:USD", -1250}},
         1},
        {"SettlementsAddUpOnTheSameAccounts",
         {{kSettle, 1, 100, "USD"}, {kSettle, 2, 250, "USD"}, {kSettle, 3, 999, "USD"}},
         {{"customer_cash:USD", 1349}, {"merchant_receivable:USD", -1349}},
         3},
        {"EachCurrencyHasItsOwnAccounts",
         {{kSettle, 1, 100, "USD"},
          {kSettle, 2, 100, "EUR"},
          {kSettle, 3, 5000, "JPY"},
          {kSettle, 4, 7, "BHD"},
          {kSettle, 5, 50, "EUR"}},
         {{"customer_cash:USD", 100},
          {"merchant_receivable:USD", -100},
          {"customer_cash:EUR", 150},
          {"merchant_receivable:EUR", -150},
          {"customer_cash:JPY", 5000},
          {"merchant_receivable:JPY", -5000},
          {"customer_cash:BHD", 7},
          {"merchant_receivable:BHD", -7}},
         5},
        {"AReversalUndoesOnlyItsOwnSettlement",
         {{kSettle, 1, 500, "USD"}, {kSettle, 2, 300, "USD"}, {kReverse, 1, 500, "USD"}},
         {{"customer_cash:USD", 300}, {"merchant_receivable:USD", -300}},
         3},
        {"ARepeatedPostingCountsOnceWhateverItsAmount",
         {{kSettle, 1, 700, "EUR"},
          {kSettle, 1, 700, "EUR", false},
          {kSettle, 1, 999, "EUR", false},
          {kReverse, 1, 700, "EUR"},
          {kReverse, 1, 700, "EUR", false}},
         {{"customer_cash:EUR", 0}, {"merchant_receivable:EUR", 0}},
         2},
        {"TheLargestAmountsAddUpWithoutOverflow",
         {{kSettle, 1, kMaxAmountMinor, "USD"},
          {kSettle, 2, kMaxAmountMinor, "USD"},
          {kSettle, 3, kMaxAmountMinor, "USD"}},
         {{"customer_cash:USD", 3 * kMaxAmountMinor},
          {"merchant_receivable:USD", -3 * kMaxAmountMinor}},
         3},
        {"AStoreLevelReversalWithoutSettlementStillBalances",
         {{kReverse, 1, 100, "GBP"}},
         {{"customer_cash:GBP", -100}, {"merchant_receivable:GBP", 100}},
         1},
    };
    return cases;
}

class LedgerPostingTest : public LedgerStoreTest,
                          public ::testing::WithParamInterface<PostingCase> {};

TEST_P(LedgerPostingTest, BalancesPerAccountAndZeroTotalsPerCurrency) {
    const PostingCase& c = GetParam();
    std::set<std::string> currencies;
    int event = 0;
    for (const Step& step : c.steps) {
        SCOPED_TRACE(
            std::string(ToString(step.purpose)) + " payment " + std::to_string(step.payment)
        );
        EXPECT_EQ(
            PostOne(
                conn_,
                step.purpose,
                PaymentNo(step.payment),
                step.amount,
                step.currency,
                "evt-" + std::to_string(++event)
            ),
            step.posted
        );
        currencies.insert(step.currency);
    }
    const nlohmann::json report = Report();
    EXPECT_EQ(BalancesOf(report), c.balances);
    Balances zero_totals;
    for (const std::string& currency : currencies) {
        zero_totals[currency] = 0;
    }
    EXPECT_EQ(TotalsOf(report), zero_totals);
    EXPECT_EQ(report.at("transactions_checked").get<std::int64_t>(), c.transactions);
    EXPECT_EQ(report.at("imbalanced_count").get<std::int64_t>(), 0);
    EXPECT_TRUE(report.at("balanced").get<bool>()) << report.dump(2);
    EXPECT_EQ(Count("ledger_entries"), 2 * c.transactions);
}

INSTANTIATE_TEST_SUITE_P(
    Cases,
    LedgerPostingTest,
    ::testing::ValuesIn(PostingCases()),
    [](const ::testing::TestParamInfo<PostingCase>& param) { return param.param.name; }
);

// ---- Refusals ---------------------------------------------------------------------------------

struct RefusalCase {
    Purpose purpose;
    std::int64_t amount;
    std::string currency;
    std::string message;  ///< A part of the error message.
};

TEST_F(LedgerStoreTest, JournalEntriesWithABadAmountOrCurrencyAreRefusedAndPostNothing) {
    const std::vector<RefusalCase> cases = {
        {kSettle, 0, "USD", "amount must be from 1"},
        {kSettle, -1250, "USD", "amount must be from 1"},
        {kReverse, -1, "EUR", "amount must be from 1"},
        {kSettle, kMaxAmountMinor + 1, "USD", "amount must be from 1"},
        {kSettle, std::numeric_limits<std::int64_t>::min(), "USD", "amount must be from 1"},
        {kSettle, 1250, "usd", "unknown currency"},
        {kSettle, 1250, "US", "unknown currency"},
        {kSettle, 1250, "USDX", "unknown currency"},
        {kSettle, 1250, "", "unknown currency"},
        {kSettle, 1250, "ZZZ", "unknown currency"},
        {kReverse, 1250, "U$D", "unknown currency"},
    };
    for (const RefusalCase& c : cases) {
        SCOPED_TRACE(std::to_string(c.amount) + " '" + c.currency + "'");
        const auto entry = BuildJournalEntry(c.purpose, PaymentNo(1), c.amount, c.currency);
        ASSERT_FALSE(entry.has_value());
        EXPECT_EQ(entry.error().code, ErrorCode::kInvalidArgument);
        EXPECT_NE(entry.error().message.find(c.message), std::string::npos)
            << entry.error().message;
    }
    const nlohmann::json report = Report();
    EXPECT_EQ(report.at("transactions_checked").get<std::int64_t>(), 0);
    EXPECT_TRUE(report.at("balances").empty());
}

// ---- Idempotency ------------------------------------------------------------------------------

TEST_F(LedgerStoreTest, PostingTheSamePaymentAndPurposeTwiceWritesOneSetOfEntries) {
    const std::string payment = PaymentNo(7);
    EXPECT_TRUE(PostOne(conn_, kSettle, payment, 4200, "USD", "evt-first"));
    EXPECT_FALSE(PostOne(conn_, kSettle, payment, 4200, "USD", "evt-second"));

    EXPECT_EQ(Count("ledger_transactions"), 1);
    EXPECT_EQ(Count("ledger_entries"), 2);
    const auto source = conn_.Exec("SELECT source_event_id FROM ledger_transactions");
    EXPECT_EQ(source.GetString(0, 0), "evt-first");
    EXPECT_EQ(
        BalancesOf(Report()),
        (Balances{{"customer_cash:USD", 4200}, {"merchant_receivable:USD", -4200}})
    );
    postgres::Transaction tx(conn_);
    EXPECT_EQ(
        PgLedgerBook(tx).Settlement(PaymentId(payment)), (Money{4200, *Currency::Parse("USD")})
    );
}

TEST_F(LedgerStoreTest, ASecondPostingInTheSameTransactionIsANoOp) {
    const std::string payment = PaymentNo(8);
    const JournalEntry entry = Entry(kSettle, payment, 300, "EUR");
    postgres::Transaction tx(conn_);
    PgLedgerBook book(tx);
    EXPECT_TRUE(book.Post(PaymentId(payment), entry, EventId("evt-1")));
    EXPECT_FALSE(book.Post(PaymentId(payment), entry, EventId("evt-2")));
    tx.Commit();
    EXPECT_EQ(Count("ledger_entries"), 2);
}

// ---- The database refuses what the code must never write --------------------------------------

class LedgerDatabaseRulesTest : public LedgerStoreTest {
protected:
    void AddAccount(
        postgres::Transaction& tx, const std::string& code, const std::string& currency
    ) {
        tx.Exec(
            "INSERT INTO ledger_accounts (account_id, account_code, account_type, currency) "
            "VALUES ($1, $2, $3, $4)",
            {code + ":" + currency,
             code,
             code == "customer_cash" ? "CUSTOMER" : "MERCHANT",
             currency}
        );
    }

    void AddTransaction(postgres::Transaction& tx, const std::string& id, const std::string& cur) {
        tx.Exec(
            "INSERT INTO ledger_transactions (transaction_id, payment_id, purpose, currency, "
            "amount_minor, source_event_id) VALUES ('settlement:' || $1, $1::uuid, 'SETTLEMENT', "
            "$2, 100, 'evt-hand')",
            {id, cur}
        );
    }

    void AddEntry(
        postgres::Transaction& tx,
        const std::string& payment_id,
        const std::string& account_id,
        const std::string& direction,
        std::int64_t amount,
        const std::string& currency
    ) {
        tx.Exec(
            "INSERT INTO ledger_entries (transaction_id, account_id, direction, amount_cents, "
            "currency) VALUES ('settlement:' || $1, $2, $3, $4, $5)",
            {payment_id, account_id, direction, amount, currency}
        );
    }

    /// Nothing of a refused transaction is left behind.
    void ExpectEmpty() {
        EXPECT_EQ(Count("ledger_transactions"), 0);
        EXPECT_EQ(Count("ledger_entries"), 0);
        EXPECT_EQ(Count("ledger_accounts"), 0);
    }
};

TEST_F(LedgerDatabaseRulesTest, ABalancedPairWrittenByHandCommits) {
    postgres::Transaction tx(conn_);
    AddAccount(tx, "customer_cash", "USD");
    AddAccount(tx, "merchant_receivable", "USD");
    AddTransaction(tx, PaymentNo(1), "USD");
    AddEntry(tx, PaymentNo(1), "customer_cash:USD", "DEBIT", 100, "USD");
    AddEntry(tx, PaymentNo(1), "merchant_receivable:USD", "CREDIT", 100, "USD");
    EXPECT_EQ(SqlStateOf([&] { tx.Commit(); }), "");
    EXPECT_EQ(Count("ledger_entries"), 2);
}

TEST_F(LedgerDatabaseRulesTest, ATransactionRowThatDisagreesWithItsEntriesIsRefused) {
    {
        postgres::Transaction tx(conn_);
        AddTransaction(tx, PaymentNo(1), "USD");  // no entries at all
        EXPECT_EQ(SqlStateOf([&] { tx.Commit(); }), "23514");
    }
    {
        postgres::Transaction tx(conn_);
        AddAccount(tx, "customer_cash", "USD");
        AddAccount(tx, "merchant_receivable", "USD");
        AddTransaction(tx, PaymentNo(2), "USD");  // says 100
        AddEntry(tx, PaymentNo(2), "customer_cash:USD", "DEBIT", 5, "USD");
        AddEntry(tx, PaymentNo(2), "merchant_receivable:USD", "CREDIT", 5, "USD");
        EXPECT_EQ(SqlStateOf([&] { tx.Commit(); }), "23514");
    }
    {
        postgres::Transaction tx(conn_);
        tx.Exec(
            "INSERT INTO ledger_transactions (transaction_id, payment_id, purpose, currency, "
            "amount_minor, source_event_id) VALUES ('reversal:' || $1, $2::uuid, 'SETTLEMENT', "
            "'USD', 100, 'evt-hand')",
            {PaymentNo(3), PaymentNo(4)}
        );
        EXPECT_EQ(SqlStateOf([&] { tx.Commit(); }), "23514");
    }
    ExpectEmpty();
}

TEST_F(LedgerDatabaseRulesTest, ASingleDebitFailsAtCommitWithACheckViolation) {
    postgres::Transaction tx(conn_);
    AddAccount(tx, "customer_cash", "USD");
    AddTransaction(tx, PaymentNo(1), "USD");
    AddEntry(tx, PaymentNo(1), "customer_cash:USD", "DEBIT", 100, "USD");
    EXPECT_EQ(SqlStateOf([&] { tx.Commit(); }), "23514");
    ExpectEmpty();
}

TEST_F(LedgerDatabaseRulesTest, ADebitAndACreditOfTheSameAmountInTwoCurrenciesAreRefused) {
    postgres::Transaction tx(conn_);
    AddAccount(tx, "customer_cash", "USD");
    AddAccount(tx, "merchant_receivable", "EUR");
    AddTransaction(tx, PaymentNo(1), "USD");
    AddEntry(tx, PaymentNo(1), "customer_cash:USD", "DEBIT", 100, "USD");
    AddEntry(tx, PaymentNo(1), "merchant_receivable:EUR", "CREDIT", 100, "EUR");
    EXPECT_EQ(SqlStateOf([&] { tx.Commit(); }), "23514");
    ExpectEmpty();
}

TEST_F(LedgerDatabaseRulesTest, AnEntryInAnotherCurrencyThanItsAccountIsRefused) {
    postgres::Transaction tx(conn_);
    AddAccount(tx, "customer_cash", "USD");
    AddAccount(tx, "merchant_receivable", "EUR");
    AddTransaction(tx, PaymentNo(1), "EUR");
    AddEntry(tx, PaymentNo(1), "customer_cash:USD", "DEBIT", 100, "EUR");
    AddEntry(tx, PaymentNo(1), "merchant_receivable:EUR", "CREDIT", 100, "EUR");
    EXPECT_EQ(SqlStateOf([&] { tx.Commit(); }), "23514");
    ExpectEmpty();
}

TEST_F(LedgerDatabaseRulesTest, AnUnbalancedEntryFromWrongCodeIsRefusedAtCommit) {
    JournalEntry wrong;
    wrong.transaction_id = "settlement:" + PaymentNo(1);
    wrong.postings = {
        {"customer_cash", Direction::kDebit, 100, "USD"},
        {"merchant_receivable", Direction::kCredit, 99, "USD"},
    };
    postgres::Transaction tx(conn_);
    EXPECT_TRUE(PgLedgerBook(tx).Post(PaymentId(PaymentNo(1)), wrong, EventId("evt-wrong")));
    EXPECT_EQ(SqlStateOf([&] { tx.Commit(); }), "23514");
    ExpectEmpty();
}

TEST_F(LedgerDatabaseRulesTest, ALaterEntryThatUnbalancesACommittedTransactionIsRefused) {
    ASSERT_TRUE(PostOne(conn_, kSettle, PaymentNo(1), 100, "USD", "evt-1"));
    postgres::Transaction tx(conn_);
    AddEntry(tx, PaymentNo(1), "customer_cash:USD", "DEBIT", 1, "USD");
    EXPECT_EQ(SqlStateOf([&] { tx.Commit(); }), "23514");
    EXPECT_EQ(Count("ledger_entries"), 2);
}

TEST_F(LedgerStoreTest, UpdateDeleteAndTruncateOfLedgerRowsAreRefused) {
    ASSERT_TRUE(PostOne(conn_, kSettle, PaymentNo(1), 1250, "USD", "evt-1"));
    const nlohmann::json before = Report();
    // 42501 is the append-only trigger. A plain TRUNCATE of a referenced table is stopped even
    // earlier by its foreign keys (0A000); with CASCADE it reaches the triggers.
    const std::vector<std::pair<std::string, std::string>> statements = {
        {"UPDATE ledger_entries SET amount_cents = amount_cents + 1", "42501"},
        {"UPDATE ledger_entries SET direction = 'CREDIT' WHERE direction = 'DEBIT'", "42501"},
        {"DELETE FROM ledger_entries", "42501"},
        {"TRUNCATE ledger_entries", "42501"},
        {"UPDATE ledger_transactions SET amount_minor = 1", "42501"},
        {"DELETE FROM ledger_transactions", "42501"},
        {"TRUNCATE ledger_transactions", "0A000"},
        {"TRUNCATE ledger_transactions CASCADE", "42501"},
        {"TRUNCATE ledger_entries, ledger_transactions", "42501"},
        {"UPDATE ledger_accounts SET currency = 'EUR'", "42501"},
        {"DELETE FROM ledger_accounts", "42501"},
        {"TRUNCATE ledger_accounts CASCADE", "42501"},
    };
    for (const auto& [sql, state] : statements) {
        SCOPED_TRACE(sql);
        EXPECT_EQ(SqlStateOf([&, &sql = sql] { conn_.Exec(sql); }), state);
    }
    EXPECT_EQ(Count("ledger_transactions"), 1);
    EXPECT_EQ(Count("ledger_entries"), 2);
    EXPECT_EQ(Report(), before);
}

// ---- Reversal ---------------------------------------------------------------------------------

TEST_F(LedgerStoreTest, AReversalAfterASettlementNetsBothAccountsBackToZero) {
    const std::string payment = PaymentNo(42);
    ASSERT_TRUE(PostOne(conn_, kSettle, payment, 98'765, "EUR", "evt-captured"));
    EXPECT_EQ(
        BalancesOf(Report()),
        (Balances{{"customer_cash:EUR", 98'765}, {"merchant_receivable:EUR", -98'765}})
    );
    EXPECT_TRUE(PostOne(conn_, kReverse, payment, 98'765, "EUR", "evt-reversed"));
    EXPECT_FALSE(PostOne(conn_, kReverse, payment, 98'765, "EUR", "evt-reversed-again"));

    const nlohmann::json report = Report();
    EXPECT_EQ(
        BalancesOf(report), (Balances{{"customer_cash:EUR", 0}, {"merchant_receivable:EUR", 0}})
    );
    EXPECT_EQ(TotalsOf(report), (Balances{{"EUR", 0}}));
    EXPECT_EQ(report.at("transactions_checked").get<std::int64_t>(), 2);
    EXPECT_TRUE(report.at("balanced").get<bool>());
    const nlohmann::json reversal = LedgerStore::ReconcileTransaction(conn_, "reversal:" + payment);
    EXPECT_TRUE(reversal.at("balanced").get<bool>());
    EXPECT_EQ(reversal.at("debits").get<std::int64_t>(), 98'765);
    ASSERT_EQ(reversal.at("entries").size(), 2U);
    EXPECT_EQ(reversal.at("entries")[0].at("account_id"), "merchant_receivable:EUR");
    EXPECT_EQ(reversal.at("entries")[0].at("direction"), "DEBIT");
}

// ---- Settlement lookup ------------------------------------------------------------------------

TEST_F(LedgerStoreTest, SettlementIsTheSettledAmountAndOnlyThat) {
    const std::string payment = PaymentNo(50);
    {
        postgres::Transaction tx(conn_);
        EXPECT_FALSE(PgLedgerBook(tx).Settlement(PaymentId(payment)).has_value());
    }
    // A reversal alone is not a settlement.
    ASSERT_TRUE(PostOne(conn_, kReverse, PaymentNo(51), 300, "JPY", "evt-r"));
    ASSERT_TRUE(PostOne(conn_, kSettle, payment, 300, "JPY", "evt-s"));

    postgres::Transaction tx(conn_);
    PgLedgerBook book(tx);
    EXPECT_EQ(book.Settlement(PaymentId(payment)), (Money{300, *Currency::Parse("JPY")}));
    EXPECT_FALSE(book.Settlement(PaymentId(PaymentNo(51))).has_value());
}

TEST_F(LedgerStoreTest, APostingRecordsItsSourceEventAndAmount) {
    ASSERT_TRUE(PostOne(conn_, kSettle, PaymentNo(60), 1234, "KWD", "evt-src-60"));

    const auto row = conn_.Exec(
        "SELECT transaction_id, payment_id::text, purpose, currency, amount_minor, source_event_id "
        "FROM ledger_transactions"
    );
    ASSERT_EQ(row.Size(), 1);
    EXPECT_EQ(row.GetString(0, 0), "settlement:" + PaymentNo(60));
    EXPECT_EQ(row.GetString(0, 1), PaymentNo(60));
    EXPECT_EQ(row.GetString(0, 2), "SETTLEMENT");
    EXPECT_EQ(row.GetString(0, 3), "KWD");
    EXPECT_EQ(row.GetInt(0, 4), 1234);
    EXPECT_EQ(row.GetString(0, 5), "evt-src-60");
    const auto accounts =
        conn_.Exec("SELECT account_id, account_type FROM ledger_accounts ORDER BY account_id");
    ASSERT_EQ(accounts.Size(), 2);
    EXPECT_EQ(accounts.GetString(0, 0), "customer_cash:KWD");
    EXPECT_EQ(accounts.GetString(0, 1), "CUSTOMER");
    EXPECT_EQ(accounts.GetString(1, 0), "merchant_receivable:KWD");
    EXPECT_EQ(accounts.GetString(1, 1), "MERCHANT");
}

TEST_F(LedgerStoreTest, TheStringIdPostStillPostsThroughTheBook) {
    const JournalEntry entry = Entry(kSettle, PaymentNo(70), 10, "USD");
    postgres::Transaction tx(conn_);
    EXPECT_TRUE(LedgerStore::Post(tx, PaymentNo(70), entry, "evt-70"));
    EXPECT_FALSE(LedgerStore::Post(tx, PaymentNo(70), entry, "evt-71"));
    tx.Commit();
    EXPECT_EQ(Count("ledger_entries"), 2);
}

// ---- Reports ----------------------------------------------------------------------------------

TEST_F(LedgerStoreTest, ReportsThroughThePortMatchTheQueries) {
    ASSERT_TRUE(PostOne(conn_, kSettle, PaymentNo(80), 500, "USD", "evt-80"));
    postgres::Pool pool(db_.Dsn(), 1);
    PgLedgerReports reports(pool);
    LedgerReports& port = reports;

    EXPECT_EQ(port.All(1000), Report());
    const nlohmann::json one = port.Transaction("settlement:" + PaymentNo(80));
    EXPECT_EQ(one, LedgerStore::ReconcileTransaction(conn_, "settlement:" + PaymentNo(80)));
    EXPECT_TRUE(one.at("balanced").get<bool>());
    EXPECT_EQ(one.at("credits").get<std::int64_t>(), 500);
    ASSERT_EQ(one.at("entries").size(), 2U);
    EXPECT_EQ(one.at("entries")[1].at("amount_cents").get<std::int64_t>(), 500);
    EXPECT_EQ(one.at("entries")[1].at("currency"), "USD");

    const nlohmann::json unknown = port.Transaction("settlement:nothing");
    EXPECT_TRUE(unknown.at("entries").empty());
    EXPECT_EQ(unknown.at("debits").get<std::int64_t>(), 0);
    EXPECT_TRUE(unknown.at("balanced").get<bool>());
}

TEST_F(LedgerStoreTest, TheGlobalReportListsAtMostLimitImbalancedTransactionsButCountsAll) {
    ASSERT_TRUE(PostOne(conn_, kSettle, PaymentNo(90), 100, "USD", "evt-90"));
    // Rows the database would refuse, planted with its checks off (as a bug or a hand edit might).
    conn_.ExecScript(
        "ALTER TABLE ledger_entries DISABLE TRIGGER USER;"
        "ALTER TABLE ledger_transactions DISABLE TRIGGER USER;"
    );
    for (int n : {91, 92}) {
        const std::string id = PaymentNo(n);
        conn_.Exec(
            "INSERT INTO ledger_transactions (transaction_id, payment_id, purpose, currency, "
            "amount_minor, source_event_id) VALUES ('settlement:' || $1, $1::uuid, 'SETTLEMENT', "
            "'USD', 100, 'planted')",
            {id}
        );
        conn_.Exec(
            "INSERT INTO ledger_entries (transaction_id, account_id, direction, amount_cents, "
            "currency) VALUES ('settlement:' || $1, 'customer_cash:USD', 'DEBIT', $2, 'USD')",
            {id, static_cast<std::int64_t>(n)}
        );
    }
    conn_.Exec(
        "INSERT INTO ledger_transactions (transaction_id, payment_id, purpose, currency, "
        "amount_minor, source_event_id) VALUES ('settlement:' || $1, $1::uuid, 'SETTLEMENT', "
        "'USD', 100, 'planted-empty')",
        {PaymentNo(93)}
    );

    const nlohmann::json report = LedgerStore::ReconcileAll(conn_, 1);

    EXPECT_EQ(report.at("transactions_checked").get<std::int64_t>(), 4);
    EXPECT_EQ(report.at("transactions_without_entries").get<std::int64_t>(), 1);
    EXPECT_EQ(report.at("imbalanced_count").get<std::int64_t>(), 3);
    ASSERT_EQ(report.at("imbalanced_transactions").size(), 1U);
    const nlohmann::json& listed = report.at("imbalanced_transactions")[0];
    EXPECT_EQ(listed.at("transaction_id"), "settlement:" + PaymentNo(91));
    EXPECT_EQ(listed.at("debits").get<std::int64_t>(), 91);
    EXPECT_EQ(listed.at("credits").get<std::int64_t>(), 0);
    EXPECT_EQ(listed.at("entry_count").get<std::int64_t>(), 1);
    EXPECT_EQ(TotalsOf(report), (Balances{{"USD", 91 + 92}}));
    EXPECT_FALSE(report.at("balanced").get<bool>());
    EXPECT_EQ(LedgerStore::ReconcileAll(conn_, 10).at("imbalanced_transactions").size(), 2U);
    EXPECT_FALSE(LedgerStore::ReconcileTransaction(conn_, "settlement:" + PaymentNo(91))
                     .at("balanced")
                     .get<bool>());
}

// ---- Refunds ----------------------------------------------------------------------------------

/// Refund number `n` (a UUID).
std::string RefundNo(int n) {
    return PaymentNo(500'000 + n);
}

/// Posts refund `refund` of `payment_id` in its own transaction; returns what Post returned.
bool PostRefund(
    postgres::Connection& conn,
    const std::string& payment_id,
    const std::string& refund_id,
    std::int64_t amount,
    const std::string& currency = "USD"
) {
    auto entry = BuildRefundEntry(payment_id, refund_id, amount, currency);
    if (!entry) {
        throw std::runtime_error("BuildRefundEntry refused: " + entry.error().message);
    }
    postgres::Transaction tx(conn);
    const bool posted =
        PgLedgerBook(tx).Post(PaymentId(payment_id), *entry, EventId("evt-" + refund_id));
    tx.Commit();
    return posted;
}

TEST_F(LedgerStoreTest, RefundsMoveMoneyBackAndTheReportsStayBalanced) {
    const std::string payment = PaymentNo(100);
    ASSERT_TRUE(PostOne(conn_, kSettle, payment, 1000, "EUR", "evt-captured"));
    EXPECT_TRUE(PostRefund(conn_, payment, RefundNo(1), 250, "EUR"));
    EXPECT_FALSE(PostRefund(conn_, payment, RefundNo(1), 250, "EUR"));  // idempotent
    EXPECT_TRUE(PostRefund(conn_, payment, RefundNo(2), 750, "EUR"));

    const nlohmann::json report = Report();
    EXPECT_EQ(
        BalancesOf(report), (Balances{{"customer_cash:EUR", 0}, {"merchant_receivable:EUR", 0}})
    );
    EXPECT_EQ(TotalsOf(report), (Balances{{"EUR", 0}}));
    EXPECT_EQ(report.at("transactions_checked").get<std::int64_t>(), 3);
    EXPECT_TRUE(report.at("balanced").get<bool>()) << report.dump(2);
    const std::string id = "refund:" + payment + ":" + RefundNo(1);
    const nlohmann::json refund = LedgerStore::ReconcileTransaction(conn_, id);
    EXPECT_TRUE(refund.at("balanced").get<bool>());
    EXPECT_EQ(refund.at("debits").get<std::int64_t>(), 250);
    ASSERT_EQ(refund.at("entries").size(), 2U);
    EXPECT_EQ(refund.at("entries")[0].at("account_id"), "merchant_receivable:EUR");
    EXPECT_EQ(refund.at("entries")[0].at("direction"), "DEBIT");
    EXPECT_EQ(refund.at("entries")[1].at("account_id"), "customer_cash:EUR");
    const auto row = conn_.Exec(
        "SELECT purpose, amount_minor, currency, source_event_id FROM ledger_transactions "
        "WHERE transaction_id = $1",
        {id}
    );
    ASSERT_EQ(row.Size(), 1);
    EXPECT_EQ(row.GetString(0, 0), "REFUND");
    EXPECT_EQ(row.GetInt(0, 1), 250);
    EXPECT_EQ(row.GetString(0, 2), "EUR");
    EXPECT_EQ(row.GetString(0, 3), "evt-" + RefundNo(1));

    postgres::Transaction tx(conn_);
    const auto posted = PgLedgerBook(tx).Transactions(PaymentId(payment));
    ASSERT_EQ(posted.size(), 3U);
    EXPECT_EQ(posted[0].transaction_id, id);
    EXPECT_EQ(posted[2].purpose, Purpose::kSettlement);
}

TEST_F(LedgerDatabaseRulesTest, TheDatabaseRefusesAnOverRefundAtCommit) {
    const std::string payment = PaymentNo(1);
    ASSERT_TRUE(PostOne(conn_, kSettle, payment, 500, "USD", "evt-1"));
    ASSERT_TRUE(PostRefund(conn_, payment, RefundNo(1), 400));

    EXPECT_EQ(SqlStateOf([&] { PostRefund(conn_, payment, RefundNo(2), 101); }), "23514");
    // Without a settlement, or in another currency.
    EXPECT_EQ(SqlStateOf([&] { PostRefund(conn_, PaymentNo(2), RefundNo(3), 1); }), "23514");
    EXPECT_EQ(SqlStateOf([&] { PostRefund(conn_, payment, RefundNo(4), 1, "EUR"); }), "23514");
    EXPECT_TRUE(PostRefund(conn_, payment, RefundNo(5), 100));

    EXPECT_EQ(
        conn_.Exec("SELECT count(*) FROM ledger_transactions WHERE purpose = 'REFUND'")
            .GetInt(0, 0),
        2
    );
    EXPECT_TRUE(Report().at("balanced").get<bool>());
}

TEST_F(LedgerDatabaseRulesTest, ARefundWrittenByHandIsCheckedLikeAnyOther) {
    ASSERT_TRUE(PostOne(conn_, kSettle, PaymentNo(1), 500, "USD", "evt-1"));
    const auto write = [&](const std::string& transaction_id, std::int64_t amount) {
        postgres::Transaction tx(conn_);
        tx.Exec(
            "INSERT INTO ledger_transactions (transaction_id, payment_id, purpose, currency, "
            "amount_minor, source_event_id) VALUES ($1, $2::uuid, 'REFUND', 'USD', $3, "
            "'evt-hand')",
            {transaction_id, PaymentNo(1), amount}
        );
        tx.Exec(
            "INSERT INTO ledger_entries (transaction_id, account_id, direction, amount_cents, "
            "currency) VALUES ($1, 'merchant_receivable:USD', 'DEBIT', $2, 'USD'), "
            "($1, 'customer_cash:USD', 'CREDIT', $2, 'USD')",
            {transaction_id, amount}
        );
        tx.Commit();
    };
    const std::string prefix = "refund:" + PaymentNo(1) + ":";
    const std::vector<std::string> malformed = {
        "refund:" + PaymentNo(1),
        prefix + "refund-1",
        prefix + RefundNo(1) + "0",
        prefix + "0000000A-0000-4000-8000-000000000001",
        "refund:" + PaymentNo(2) + ":" + RefundNo(1),
        "settlement:" + PaymentNo(1) + ":" + RefundNo(1),
    };
    for (const std::string& id : malformed) {
        SCOPED_TRACE(id);
        EXPECT_EQ(SqlStateOf([&] { write(id, 10); }), "23514");
    }
    EXPECT_EQ(SqlStateOf([&] { write(prefix + RefundNo(1), 501); }), "23514");
    EXPECT_EQ(SqlStateOf([&] { write(prefix + RefundNo(1), 500); }), "");
    // The primary key still holds: the same refund cannot be written twice.
    EXPECT_EQ(SqlStateOf([&] { write(prefix + RefundNo(1), 1); }), "23505");
    EXPECT_EQ(Count("ledger_transactions"), 2);
}

TEST_F(LedgerDatabaseRulesTest, SettlementsAndReversalsStayOnePerPaymentEvenByHand) {
    ASSERT_TRUE(PostOne(conn_, kSettle, PaymentNo(1), 500, "USD", "evt-1"));
    // A second settlement row for the payment under another id: the partial unique index.
    EXPECT_EQ(
        SqlStateOf([&] {
            conn_.Exec(
                "INSERT INTO ledger_transactions (transaction_id, payment_id, purpose, currency, "
                "amount_minor, source_event_id) VALUES ('settlement-2', $1::uuid, 'SETTLEMENT', "
                "'USD', 500, 'evt-hand')",
                {PaymentNo(1)}
            );
        }),
        "23505"
    );
}

TEST_F(LedgerDatabaseRulesTest, AReversalAfterRefundsMayGiveBackOnlyWhatIsLeft) {
    const std::string payment = PaymentNo(1);
    ASSERT_TRUE(PostOne(conn_, kSettle, payment, 500, "USD", "evt-1"));
    ASSERT_TRUE(PostRefund(conn_, payment, RefundNo(1), 200));

    EXPECT_EQ(SqlStateOf([&] { PostOne(conn_, kReverse, payment, 301, "USD", "evt-2"); }), "23514");
    EXPECT_TRUE(PostOne(conn_, kReverse, payment, 300, "USD", "evt-3"));
    EXPECT_EQ(SqlStateOf([&] { PostRefund(conn_, payment, RefundNo(2), 1); }), "23514");
    EXPECT_EQ(
        BalancesOf(Report()), (Balances{{"customer_cash:USD", 0}, {"merchant_receivable:USD", 0}})
    );
}

// Concurrent refunds of one payment each see the others': the settlement's row lock orders
// their checks at COMMIT, so together they never exceed it.
TEST_F(LedgerStoreTest, RacingRefundsOfOnePaymentNeverExceedItsSettlement) {
    constexpr int kThreads = 8;
    constexpr int kRounds = 5;
    constexpr std::int64_t kSettled = 1000;
    constexpr std::int64_t kRefund = 300;  // three fit, never four
    std::vector<postgres::Connection> connections;
    connections.reserve(kThreads);
    for (int t = 0; t < kThreads; ++t) {
        connections.push_back(db_.Connect());
    }
    for (int round = 1; round <= kRounds; ++round) {
        SCOPED_TRACE("round " + std::to_string(round));
        const std::string payment = PaymentNo(200 + round);
        ASSERT_TRUE(PostOne(conn_, kSettle, payment, kSettled, "USD", "evt-" + payment));
        std::atomic<int> posted{0};
        std::mutex states_mutex;
        std::vector<std::string> states;
        std::latch start(kThreads);
        {
            std::vector<std::jthread> racers;
            racers.reserve(kThreads);
            for (int t = 0; t < kThreads; ++t) {
                racers.emplace_back([&, t] {
                    start.arrive_and_wait();
                    const std::string state = SqlStateOf([&] {
                        if (PostRefund(
                                connections[static_cast<std::size_t>(t)],
                                payment,
                                RefundNo(round * 100 + t),
                                kRefund
                            )) {
                            ++posted;
                        }
                    });
                    if (!state.empty()) {
                        const std::lock_guard lock(states_mutex);
                        states.push_back(state);
                    }
                });
            }
        }  // joins
        EXPECT_EQ(posted.load(), 3);
        EXPECT_THAT(states, ::testing::Each(std::string("23514")));
        EXPECT_EQ(states.size(), static_cast<std::size_t>(kThreads - 3));
        EXPECT_EQ(
            conn_
                .Exec(
                    "SELECT coalesce(sum(amount_minor), 0)::bigint FROM ledger_transactions "
                    "WHERE payment_id = $1::uuid AND purpose = 'REFUND'",
                    {payment}
                )
                .GetInt(0, 0),
            3 * kRefund
        );
    }
    EXPECT_TRUE(Report().at("balanced").get<bool>());
}

// ---- Concurrency ------------------------------------------------------------------------------

TEST_F(LedgerStoreTest, ParallelSettlementsOnTheSameHotAccountsAddUpExactly) {
    constexpr int kThreads = 8;
    constexpr int kPerThread = 250;
    constexpr int kTotal = kThreads * kPerThread;
    std::vector<postgres::Connection> connections;
    connections.reserve(kThreads);
    for (int t = 0; t < kThreads; ++t) {
        connections.push_back(db_.Connect());
    }
    std::atomic<int> not_posted{0};
    std::mutex errors_mutex;
    std::vector<std::string> errors;
    std::latch start(kThreads + 1);
    std::chrono::steady_clock::time_point begin;
    {
        std::vector<std::jthread> threads;
        threads.reserve(kThreads);
        for (int t = 0; t < kThreads; ++t) {
            threads.emplace_back([&, t] {
                start.arrive_and_wait();
                for (int i = 0; i < kPerThread; ++i) {
                    const int n = t * kPerThread + i + 1;  // payment n settles n minor units
                    try {
                        if (!PostOne(
                                connections[static_cast<std::size_t>(t)],
                                kSettle,
                                PaymentNo(n),
                                n,
                                "USD",
                                "evt-" + std::to_string(n)
                            )) {
                            ++not_posted;
                        }
                    } catch (const std::exception& error) {
                        const std::lock_guard lock(errors_mutex);
                        errors.emplace_back(error.what());
                    }
                }
            });
        }
        start.arrive_and_wait();
        begin = std::chrono::steady_clock::now();
    }  // joins
    const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - begin;
    const double per_second = kTotal / elapsed.count();
    std::printf(
        "[     INFO ] %d settlements by %d threads in %.3f s: %.0f postings/second\n",
        kTotal,
        kThreads,
        elapsed.count(),
        per_second
    );
    RecordProperty("postings_per_second", static_cast<int>(per_second));

    EXPECT_TRUE(errors.empty()) << errors.size() << " failed, first: " << errors.front();
    EXPECT_EQ(not_posted.load(), 0);
    constexpr std::int64_t kSum = std::int64_t{kTotal} * (kTotal + 1) / 2;
    const nlohmann::json report = Report();
    EXPECT_EQ(
        BalancesOf(report),
        (Balances{{"customer_cash:USD", kSum}, {"merchant_receivable:USD", -kSum}})
    );
    EXPECT_EQ(TotalsOf(report), (Balances{{"USD", 0}}));
    EXPECT_EQ(report.at("transactions_checked").get<std::int64_t>(), kTotal);
    EXPECT_TRUE(report.at("balanced").get<bool>());
    EXPECT_EQ(Count("ledger_entries"), 2 * kTotal);
    EXPECT_EQ(
        conn_.Exec("SELECT sum(amount_minor)::bigint FROM ledger_transactions").GetInt(0, 0), kSum
    );
}

/// Races `threads` connections posting the settlement of each of `payments` payments (distinct
/// event ids). Returns how many posts returned true, and the SQLSTATE of each post that threw.
std::pair<int, std::vector<std::string>> RaceDuplicatePostings(
    const TestDatabase& db, int threads, int payments
) {
    std::vector<postgres::Connection> connections;
    connections.reserve(static_cast<std::size_t>(threads));
    for (int t = 0; t < threads; ++t) {
        connections.push_back(db.Connect());
    }
    std::atomic<int> posted{0};
    std::mutex errors_mutex;
    std::vector<std::string> errors;
    for (int p = 1; p <= payments; ++p) {
        std::latch start(threads);
        std::vector<std::jthread> racers;
        racers.reserve(static_cast<std::size_t>(threads));
        for (int t = 0; t < threads; ++t) {
            racers.emplace_back([&, t, p] {
                start.arrive_and_wait();
                const std::string state = SqlStateOf([&] {
                    if (PostOne(
                            connections[static_cast<std::size_t>(t)],
                            kSettle,
                            PaymentNo(p),
                            500,
                            "USD",
                            "evt-" + std::to_string(p) + "-" + std::to_string(t)
                        )) {
                        ++posted;
                    }
                });
                if (!state.empty()) {
                    const std::lock_guard lock(errors_mutex);
                    errors.push_back(state);
                }
            });
        }
    }  // each round joins its racers
    return {posted.load(), errors};
}

// The INSERT's ON CONFLICT names no arbiter, so both unique constraints (the primary key on
// transaction_id and (payment_id, purpose)) are arbiters: a loser of the race returns false.
TEST_F(LedgerStoreTest, RacingDuplicatePostingsOfOnePaymentPostItOnceAndTheLosersReturnFalse) {
    constexpr int kPayments = 50;
    const auto [posted, errors] = RaceDuplicatePostings(db_, 8, kPayments);
    EXPECT_EQ(posted, kPayments);
    EXPECT_THAT(errors, ::testing::IsEmpty());
    EXPECT_EQ(Count("ledger_transactions"), kPayments);
    EXPECT_EQ(Count("ledger_entries"), 2 * kPayments);
    EXPECT_EQ(
        BalancesOf(Report()),
        (Balances{
            {"customer_cash:USD", 500 * kPayments}, {"merchant_receivable:USD", -500 * kPayments}})
    );
}

}  // namespace
}  // namespace sagapay::ledger
