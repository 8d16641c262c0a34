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
#include "services/ledger/schema.hpp"
#include "testing/test_env.hpp"

namespace sagapay::ledger {
namespace {

using ::sagapay::testing::TestDatabase;
using Balances = std::map<std::string, std::int64_t>;

/// A fixed, valid payment id for case `n` (tables refer to payments by number).
std::string PaymentId(int n) {
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
    const bool posted = LedgerStore::Post(tx, payment_id, entry, event_id);
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
                PaymentId(step.payment),
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
        const auto entry = BuildJournalEntry(c.purpose, PaymentId(1), c.amount, c.currency);
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
    const std::string payment = PaymentId(7);
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
    const auto settled = LedgerStore::Settlement(tx, payment);
    ASSERT_TRUE(settled.has_value());
    EXPECT_EQ(settled->first, 4200);
    EXPECT_EQ(settled->second, "USD");
}

TEST_F(LedgerStoreTest, ASecondPostingInTheSameTransactionIsANoOp) {
    const std::string payment = PaymentId(8);
    const JournalEntry entry = Entry(kSettle, payment, 300, "EUR");
    postgres::Transaction tx(conn_);
    EXPECT_TRUE(LedgerStore::Post(tx, payment, entry, "evt-1"));
    EXPECT_FALSE(LedgerStore::Post(tx, payment, entry, "evt-2"));
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
    AddTransaction(tx, PaymentId(1), "USD");
    AddEntry(tx, PaymentId(1), "customer_cash:USD", "DEBIT", 100, "USD");
    AddEntry(tx, PaymentId(1), "merchant_receivable:USD", "CREDIT", 100, "USD");
    EXPECT_EQ(SqlStateOf([&] { tx.Commit(); }), "");
    EXPECT_EQ(Count("ledger_entries"), 2);
}

TEST_F(LedgerDatabaseRulesTest, ATransactionRowThatDisagreesWithItsEntriesIsRefused) {
    {
        postgres::Transaction tx(conn_);
        AddTransaction(tx, PaymentId(1), "USD");  // no entries at all
        EXPECT_EQ(SqlStateOf([&] { tx.Commit(); }), "23514");
    }
    {
        postgres::Transaction tx(conn_);
        AddAccount(tx, "customer_cash", "USD");
        AddAccount(tx, "merchant_receivable", "USD");
        AddTransaction(tx, PaymentId(2), "USD");  // says 100
        AddEntry(tx, PaymentId(2), "customer_cash:USD", "DEBIT", 5, "USD");
        AddEntry(tx, PaymentId(2), "merchant_receivable:USD", "CREDIT", 5, "USD");
        EXPECT_EQ(SqlStateOf([&] { tx.Commit(); }), "23514");
    }
    {
        postgres::Transaction tx(conn_);
        tx.Exec(
            "INSERT INTO ledger_transactions (transaction_id, payment_id, purpose, currency, "
            "amount_minor, source_event_id) VALUES ('reversal:' || $1, $2::uuid, 'SETTLEMENT', "
            "'USD', 100, 'evt-hand')",
            {PaymentId(3), PaymentId(4)}
        );
        EXPECT_EQ(SqlStateOf([&] { tx.Commit(); }), "23514");
    }
    ExpectEmpty();
}

TEST_F(LedgerDatabaseRulesTest, ASingleDebitFailsAtCommitWithACheckViolation) {
    postgres::Transaction tx(conn_);
    AddAccount(tx, "customer_cash", "USD");
    AddTransaction(tx, PaymentId(1), "USD");
    AddEntry(tx, PaymentId(1), "customer_cash:USD", "DEBIT", 100, "USD");
    EXPECT_EQ(SqlStateOf([&] { tx.Commit(); }), "23514");
    ExpectEmpty();
}

TEST_F(LedgerDatabaseRulesTest, ADebitAndACreditOfTheSameAmountInTwoCurrenciesAreRefused) {
    postgres::Transaction tx(conn_);
    AddAccount(tx, "customer_cash", "USD");
    AddAccount(tx, "merchant_receivable", "EUR");
    AddTransaction(tx, PaymentId(1), "USD");
    AddEntry(tx, PaymentId(1), "customer_cash:USD", "DEBIT", 100, "USD");
    AddEntry(tx, PaymentId(1), "merchant_receivable:EUR", "CREDIT", 100, "EUR");
    EXPECT_EQ(SqlStateOf([&] { tx.Commit(); }), "23514");
    ExpectEmpty();
}

TEST_F(LedgerDatabaseRulesTest, AnEntryInAnotherCurrencyThanItsAccountIsRefused) {
    postgres::Transaction tx(conn_);
    AddAccount(tx, "customer_cash", "USD");
    AddAccount(tx, "merchant_receivable", "EUR");
    AddTransaction(tx, PaymentId(1), "EUR");
    AddEntry(tx, PaymentId(1), "customer_cash:USD", "DEBIT", 100, "EUR");
    AddEntry(tx, PaymentId(1), "merchant_receivable:EUR", "CREDIT", 100, "EUR");
    EXPECT_EQ(SqlStateOf([&] { tx.Commit(); }), "23514");
    ExpectEmpty();
}

TEST_F(LedgerDatabaseRulesTest, AnUnbalancedEntryFromWrongCodeIsRefusedAtCommit) {
    JournalEntry wrong;
    wrong.transaction_id = "settlement:" + PaymentId(1);
    wrong.postings = {
        {"customer_cash", Direction::kDebit, 100, "USD"},
        {"merchant_receivable", Direction::kCredit, 99, "USD"},
    };
    postgres::Transaction tx(conn_);
    EXPECT_TRUE(LedgerStore::Post(tx, PaymentId(1), wrong, "evt-wrong"));
    EXPECT_EQ(SqlStateOf([&] { tx.Commit(); }), "23514");
    ExpectEmpty();
}

TEST_F(LedgerDatabaseRulesTest, ALaterEntryThatUnbalancesACommittedTransactionIsRefused) {
    ASSERT_TRUE(PostOne(conn_, kSettle, PaymentId(1), 100, "USD", "evt-1"));
    postgres::Transaction tx(conn_);
    AddEntry(tx, PaymentId(1), "customer_cash:USD", "DEBIT", 1, "USD");
    EXPECT_EQ(SqlStateOf([&] { tx.Commit(); }), "23514");
    EXPECT_EQ(Count("ledger_entries"), 2);
}

TEST_F(LedgerStoreTest, UpdateDeleteAndTruncateOfLedgerRowsAreRefused) {
    ASSERT_TRUE(PostOne(conn_, kSettle, PaymentId(1), 1250, "USD", "evt-1"));
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
    const std::string payment = PaymentId(42);
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
        for (int t = 0; t < kThreads; ++t) {
            threads.emplace_back([&, t] {
                start.arrive_and_wait();
                for (int i = 0; i < kPerThread; ++i) {
                    const int n = t * kPerThread + i + 1;  // payment n settles n minor units
                    try {
                        if (!PostOne(
                                connections[static_cast<std::size_t>(t)],
                                kSettle,
                                PaymentId(n),
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
        for (int t = 0; t < threads; ++t) {
            racers.emplace_back([&, t, p] {
                start.arrive_and_wait();
                const std::string state = SqlStateOf([&] {
                    if (PostOne(
                            connections[static_cast<std::size_t>(t)],
                            kSettle,
                            PaymentId(p),
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

TEST_F(LedgerStoreTest, RacingDuplicatePostingsOfOnePaymentNeverPostItTwice) {
    constexpr int kPayments = 50;
    const auto [posted, errors] = RaceDuplicatePostings(db_, 8, kPayments);
    EXPECT_EQ(posted, kPayments);
    EXPECT_EQ(Count("ledger_transactions"), kPayments);
    EXPECT_EQ(Count("ledger_entries"), 2 * kPayments);
    EXPECT_EQ(
        BalancesOf(Report()),
        (Balances{
            {"customer_cash:USD", 500 * kPayments}, {"merchant_receivable:USD", -500 * kPayments}})
    );
    // A loser fails with a unique violation on the primary key instead of returning false (see
    // the disabled test below); the money is right either way.
    for (const std::string& state : errors) {
        EXPECT_EQ(state, "23505");
    }
    std::printf(
        "[     INFO ] %zu of %d racing duplicate posts threw 23505 instead of returning false\n",
        errors.size(),
        7 * kPayments
    );
}

// KNOWN BUG (reported, not fixed here): LedgerStore::Post names only uq_ledger_payment_purpose as
// its ON CONFLICT arbiter. Two posts of the same (payment, purpose) that both pass the arbiter
// pre-check then collide on ledger_transactions_pkey (same transaction_id), which is not an
// arbiter, so the loser throws SqlError 23505 instead of returning false. Enable once fixed.
TEST_F(LedgerStoreTest, RacingDuplicatePostingsOfOnePaymentReturnFalseInsteadOfFailing) {
    constexpr int kPayments = 50;
    const auto [posted, errors] = RaceDuplicatePostings(db_, 8, kPayments);
    EXPECT_EQ(posted, kPayments);
    EXPECT_THAT(errors, ::testing::IsEmpty());
}

}  // namespace
}  // namespace sagapay::ledger
