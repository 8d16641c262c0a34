#include "app/reconcile.hpp"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "adapters/http/http.hpp"
#include "adapters/postgres/migrator.hpp"
#include "core/ids.hpp"
#include "core/payments/payment_status.hpp"
#include "services/ledger/journal.hpp"
#include "services/ledger/ledger_store.hpp"
#include "services/ledger/schema.hpp"
#include "services/orchestrator/schema.hpp"
#include "testing/test_env.hpp"

namespace sagapay::app {
namespace {

using ::sagapay::testing::TestDatabase;
using ::testing::HasSubstr;

constexpr const char* kApiKey = "ops-test-key";

const std::vector<std::string> kCurrencies = {"USD", "EUR", "JPY"};

/// Two migrated databases (orchestrator and ledger) and a stand-in ledger HTTP service serving
/// GET /reconciliation with LedgerStore::ReconcileAll over the ledger database.
class ReconcileTest : public ::testing::Test {
protected:
    ReconcileTest() : orchestrator_(orchestrator_db_.Connect()), ledger_(ledger_db_.Connect()) {
        postgres::Migrate(orchestrator_, "orchestrator", OrchestratorMigrations());
        postgres::Migrate(ledger_, "ledger", LedgerMigrations());
        http::Router router;
        router.Add("GET", "/reconciliation", [this](http::Request& request) {
            ++requests_;
            if (request.Header("x-api-key") != kApiKey) {
                return http::ErrorResponse(401, "unauthorized", "invalid API key");
            }
            {
                const std::lock_guard lock(mutex_);
                last_limit_ = request.QueryParam("limit").value_or("");
                last_internal_token_ = std::string(request.Header("x-internal-token"));
                if (canned_report_) {
                    return http::JsonResponse(200, canned_report_->dump());
                }
            }
            postgres::Connection conn = ledger_db_.Connect();
            const std::int64_t limit = std::stoll(request.QueryParam("limit").value_or("1000"));
            return http::JsonResponse(200, ledger::LedgerStore::ReconcileAll(conn, limit).dump());
        });
        http::ServerOptions options;
        options.host = "127.0.0.1";
        options.port = 0;
        server_.emplace(options, std::move(router));
        server_->Start();
    }

    ReconcileOptions Options(std::int64_t page_size = 64) const {
        ReconcileOptions options;
        options.ledger_url = "http://127.0.0.1:" + std::to_string(server_->Port());
        options.limit = 250;
        options.api_key = kApiKey;
        options.orchestrator_dsn = orchestrator_db_.Dsn();
        options.ledger_dsn = ledger_db_.Dsn();
        options.page_size = page_size;
        return options;
    }

    /// A payment; `captured` sets captured_cents (NULL otherwise, as before refunds existed).
    std::string AddPayment(
        const std::string& status,
        std::int64_t amount,
        const std::string& currency,
        std::optional<std::int64_t> captured = std::nullopt
    ) {
        std::string id = NewUuid();
        orchestrator_.Exec(
            "INSERT INTO payments (payment_id, customer_id, amount_cents, currency, status, "
            "idempotency_key, request_fingerprint, trace_id, captured_cents) VALUES ($1, $2, $3, "
            "$4, $5, $6, $7, $8, $9::bigint)",
            {id,
             "cust-" + std::to_string(amount % 17),
             amount,
             currency,
             status,
             "idem-" + id,
             "fp-" + id,
             "trace-" + id,
             captured ? std::optional<std::string>(std::to_string(*captured)) : std::nullopt}
        );
        return id;
    }

    /// A refund of `payment` in the orchestrator, moved from PENDING to `status` (its triggers
    /// keep payments.refund_reserved_cents and refunded_cents).
    std::string AddRefund(
        const std::string& payment,
        std::int64_t amount,
        const std::string& currency,
        const std::string& status
    ) {
        std::string id = NewUuid();
        orchestrator_.Exec(
            "INSERT INTO refunds (refund_id, payment_id, amount_cents, currency, reason, "
            "idempotency_key, request_fingerprint, trace_id) VALUES ($1, $2, $3, $4, "
            "'requested_by_customer', $5, $6, $7)",
            {id, payment, amount, currency, "idem-" + id, "fp-" + id, "trace-" + id}
        );
        if (status != "PENDING") {
            orchestrator_.Exec(
                "UPDATE refunds SET status = $2, updated_at = now() WHERE refund_id = $1",
                {id, status}
            );
        }
        return id;
    }

    /// The ledger's REFUND of refund `refund_id`.
    void PostRefund(
        const std::string& payment_id,
        const std::string& refund_id,
        std::int64_t amount,
        const std::string& currency
    ) {
        auto entry = ledger::BuildRefundEntry(payment_id, refund_id, amount, currency);
        ASSERT_TRUE(entry.has_value());
        postgres::Transaction tx(ledger_);
        ASSERT_TRUE(ledger::LedgerStore::Post(tx, payment_id, *entry, "evt-" + NewUuid()));
        tx.Commit();
    }

    /// A SUCCEEDED refund, posted.
    void Refund(const std::string& payment, std::int64_t amount, const std::string& currency) {
        PostRefund(payment, AddRefund(payment, amount, currency, "SUCCEEDED"), amount, currency);
    }

    void Post(
        ledger::Purpose purpose,
        const std::string& payment_id,
        std::int64_t amount,
        const std::string& currency
    ) {
        auto entry = ledger::BuildJournalEntry(purpose, payment_id, amount, currency);
        ASSERT_TRUE(entry.has_value());
        postgres::Transaction tx(ledger_);
        ASSERT_TRUE(ledger::LedgerStore::Post(tx, payment_id, *entry, "evt-" + NewUuid()));
        tx.Commit();
    }

    void Settle(const std::string& id, std::int64_t amount, const std::string& currency) {
        Post(ledger::Purpose::kSettlement, id, amount, currency);
    }
    void Reverse(const std::string& id, std::int64_t amount, const std::string& currency) {
        Post(ledger::Purpose::kReversal, id, amount, currency);
    }

    /// `count` payments over every status. SETTLED ones are posted (their capture: the whole
    /// amount, recorded or NULL, or part of it), some with a PENDING or FAILED refund;
    /// PARTIALLY_REFUNDED ones have one SUCCEEDED refund posted (and a FAILED one);
    /// REFUNDED ones two that add up to the capture; every fourth FAILED or REVERSED one was
    /// settled and then reversed; the rest have no posting.
    void AddCleanPayments(int count) {
        for (int i = 0; i < count; ++i) {
            const auto statuses = AllPaymentStatuses();
            const std::string status(
                ToString(statuses[static_cast<std::size_t>(i) % statuses.size()])
            );
            const std::string& currency = kCurrencies[static_cast<std::size_t>(i) % 3];
            const std::int64_t amount = 100 + std::int64_t{i} * 37;
            if (status == "SETTLED") {
                // Captured: NULL (the whole amount), recorded whole, or a partial capture.
                const std::optional<std::int64_t> captured =
                    i % 3 == 0 ? std::nullopt
                               : std::optional<std::int64_t>(i % 3 == 1 ? amount : amount - 7);
                const std::string id = AddPayment(status, amount, currency, captured);
                Settle(id, captured.value_or(amount), currency);
                if (captured && i % 4 == 1) {
                    AddRefund(id, 10, currency, i % 8 == 1 ? "PENDING" : "FAILED");
                }
                ++settled_;
            } else if (status == "PARTIALLY_REFUNDED" || status == "REFUNDED") {
                const std::int64_t captured = amount - static_cast<std::int64_t>(i % 2) * 5;
                const std::string id = AddPayment(status, amount, currency, captured);
                Settle(id, captured, currency);
                const std::int64_t first = captured / 3;
                Refund(id, first, currency);
                AddRefund(id, 1, currency, "FAILED");
                if (status == "REFUNDED") {
                    Refund(id, captured - first, currency);
                }
                ++settled_;
            } else if (const std::string id = AddPayment(status, amount, currency);
                       (status == "REVERSED" || status == "FAILED") && i % 4 == 2) {
                Settle(id, amount, currency);
                Reverse(id, amount, currency);
            }
        }
    }

    /// Runs RunReconcile, returning its exit code and the JSON it printed (null if none).
    std::pair<int, nlohmann::json> Run(const ReconcileOptions& options) {
        ::testing::internal::CaptureStdout();
        ::testing::internal::CaptureStderr();
        const int code = RunReconcile(options);
        const std::string out = ::testing::internal::GetCapturedStdout();
        last_stderr_ = ::testing::internal::GetCapturedStderr();
        nlohmann::json printed = nlohmann::json::parse(out, nullptr, false);
        return {code, printed.is_discarded() ? nlohmann::json() : printed};
    }

    void CannedReport(nlohmann::json report) {
        const std::lock_guard lock(mutex_);
        canned_report_ = std::move(report);
    }

    TestDatabase orchestrator_db_;
    TestDatabase ledger_db_;
    postgres::Connection orchestrator_;
    postgres::Connection ledger_;
    std::optional<http::Server> server_;
    std::atomic<int> requests_{0};
    std::string last_stderr_;
    std::mutex mutex_;
    std::string last_limit_;                       // Guarded by mutex_.
    std::string last_internal_token_;              // Guarded by mutex_.
    std::optional<nlohmann::json> canned_report_;  // Guarded by mutex_.
    int settled_ = 0;
};

TEST_F(ReconcileTest, ACleanSetOverEveryStatusHasNoMismatchAtAnyPageSize) {
    constexpr int kPayments = 400;
    AddCleanPayments(kPayments);
    // 2: one payment per page; 800: exactly one full page, then an empty one.
    for (const std::int64_t page_size : {std::int64_t{2}, std::int64_t{64}, std::int64_t{800}}) {
        SCOPED_TRACE("page size " + std::to_string(page_size));
        const ReconcileReport report = Reconcile(Options(page_size));
        EXPECT_THAT(report.mismatches, ::testing::IsEmpty());
        EXPECT_EQ(report.cross_service_checked, kPayments);
        EXPECT_TRUE(report.ledger_report.at("balanced").get<bool>());
    }
    const auto [code, printed] = Run(Options());
    EXPECT_EQ(code, 0) << last_stderr_;
    ASSERT_TRUE(printed.is_object());
    EXPECT_EQ(printed.at("mismatches"), nlohmann::json::array());
    EXPECT_EQ(printed.at("cross_service_checked"), kPayments);
    // settled_ settlements plus a settlement and a reversal for each compensated payment.
    EXPECT_GE(printed.at("transactions_checked").get<int>(), settled_);
    EXPECT_EQ(printed.at("imbalanced_count"), 0);
    const std::lock_guard lock(mutex_);
    EXPECT_EQ(last_limit_, "250");
}

TEST_F(ReconcileTest, AnEmptySystemIsClean) {
    const auto [code, printed] = Run(Options());
    EXPECT_EQ(code, 0) << last_stderr_;
    EXPECT_EQ(printed.at("cross_service_checked"), 0);
    EXPECT_EQ(printed.at("mismatches"), nlohmann::json::array());
    EXPECT_EQ(printed.at("mismatch_count"), 0);
}

TEST_F(ReconcileTest, EachPlantedMismatchIsReportedByPaymentAndTheExitCodeIsOne) {
    AddCleanPayments(300);

    const std::string settled_unposted = AddPayment("SETTLED", 5000, "USD");

    const std::string wrong_amount = AddPayment("SETTLED", 5000, "USD");
    Settle(wrong_amount, 4999, "USD");

    const std::string wrong_currency = AddPayment("SETTLED", 700, "EUR");
    Settle(wrong_currency, 700, "USD");

    const std::string failed_posted = AddPayment("FAILED", 1200, "USD");
    Settle(failed_posted, 1200, "USD");

    const std::string settled_reversed = AddPayment("SETTLED", 800, "JPY");
    Settle(settled_reversed, 800, "JPY");
    Reverse(settled_reversed, 800, "JPY");

    const std::string unknown = NewUuid();
    Settle(unknown, 333, "USD");

    const std::vector<std::pair<std::string, std::string>> expected = {
        {settled_unposted, "is SETTLED (5000 USD captured) but the ledger has no SETTLEMENT"},
        {wrong_amount, "is SETTLED for 5000 USD captured but its ledger SETTLEMENT"},
        {wrong_currency, "is SETTLED for 700 EUR captured but its ledger SETTLEMENT"},
        {failed_posted, "is FAILED, not SETTLED, but the ledger has a SETTLEMENT"},
        {settled_reversed, "is SETTLED but the ledger also has a REVERSAL"},
        {unknown, "is unknown to the orchestrator but the ledger has a SETTLEMENT"},
    };
    const ReconcileReport report = Reconcile(Options());
    EXPECT_EQ(report.mismatches.size(), expected.size())
        << ::testing::PrintToString(report.mismatches);
    for (const auto& [payment_id, what] : expected) {
        const bool found = std::any_of(
            report.mismatches.begin(),
            report.mismatches.end(),
            [&, &payment_id = payment_id, &what = what](const std::string& line) {
                return line.find(payment_id) != std::string::npos &&
                       line.find(what) != std::string::npos;
            }
        );
        EXPECT_TRUE(found) << "no mismatch for " << payment_id << " saying '" << what << "' in "
                           << ::testing::PrintToString(report.mismatches);
    }
    EXPECT_TRUE(report.ledger_report.at("balanced").get<bool>());
    EXPECT_EQ(report.cross_service_checked, 305);

    EXPECT_EQ(report.mismatch_count, 6);

    const auto [code, printed] = Run(Options());
    EXPECT_EQ(code, 1) << last_stderr_;
    EXPECT_EQ(printed.at("mismatches").size(), expected.size());
    EXPECT_EQ(printed.at("mismatch_count"), 6);

    // --limit bounds the list; the count stays exact.
    ReconcileOptions limited = Options();
    limited.limit = 4;
    const ReconcileReport capped = Reconcile(limited);
    EXPECT_EQ(capped.mismatch_count, 6);
    ASSERT_EQ(capped.mismatches.size(), 5U);
    EXPECT_EQ(capped.mismatches.back(), "... and 2 more mismatches (raise --limit to list them)");
    EXPECT_EQ(Run(limited).first, 1);
}

TEST_F(ReconcileTest, EachPlantedRefundMismatchIsReportedOnce) {
    AddCleanPayments(100);

    // The settlement is of what was captured, not of the amount.
    const std::string captured_less = AddPayment("SETTLED", 1000, "USD", 800);
    Settle(captured_less, 1000, "USD");

    const std::string partially_unsettled = AddPayment("PARTIALLY_REFUNDED", 1000, "USD", 1000);

    const std::string succeeded_unposted = AddPayment("PARTIALLY_REFUNDED", 1000, "USD", 1000);
    Settle(succeeded_unposted, 1000, "USD");
    const std::string unposted_refund = AddRefund(succeeded_unposted, 300, "USD", "SUCCEEDED");

    const std::string wrong_refund = AddPayment("PARTIALLY_REFUNDED", 1000, "EUR", 1000);
    Settle(wrong_refund, 1000, "EUR");
    PostRefund(wrong_refund, AddRefund(wrong_refund, 300, "EUR", "SUCCEEDED"), 299, "EUR");

    const std::string pending_posted = AddPayment("SETTLED", 1000, "USD", 1000);
    Settle(pending_posted, 1000, "USD");
    PostRefund(pending_posted, AddRefund(pending_posted, 200, "USD", "PENDING"), 200, "USD");

    const std::string failed_posted = AddPayment("SETTLED", 1000, "USD", 1000);
    Settle(failed_posted, 1000, "USD");
    PostRefund(failed_posted, AddRefund(failed_posted, 200, "USD", "FAILED"), 200, "USD");

    const std::string unknown_refund = AddPayment("SETTLED", 1000, "JPY", 1000);
    Settle(unknown_refund, 1000, "JPY");
    const std::string stray = NewUuid();
    PostRefund(unknown_refund, stray, 100, "JPY");

    const std::string refunded_cents_off = AddPayment("PARTIALLY_REFUNDED", 1000, "USD", 1000);
    Settle(refunded_cents_off, 1000, "USD");
    Refund(refunded_cents_off, 300, "USD");
    orchestrator_.Exec(
        "UPDATE payments SET refunded_cents = 299 WHERE payment_id = $1", {refunded_cents_off}
    );

    const std::string refunded_in_part = AddPayment("REFUNDED", 1000, "USD", 1000);
    Settle(refunded_in_part, 1000, "USD");
    Refund(refunded_in_part, 500, "USD");

    const std::vector<std::pair<std::string, std::string>> expected = {
        {captured_less, "is SETTLED for 800 USD captured but its ledger SETTLEMENT"},
        {partially_unsettled, "is PARTIALLY_REFUNDED (1000 USD captured) but the ledger has no"},
        {unposted_refund,
         "SUCCEEDED (300 USD) but the ledger has no REFUND refund:" + succeeded_unposted + ":" +
             unposted_refund},
        {wrong_refund, "SUCCEEDED for 300 EUR but its ledger REFUND"},
        {pending_posted, "is PENDING but the ledger has a REFUND"},
        {failed_posted, "is FAILED but the ledger has a REFUND"},
        {stray, "but the orchestrator has no such refund of the payment"},
        {refunded_cents_off, "records 299 refunded but its SUCCEEDED refunds add up to 300"},
        {refunded_in_part, "is REFUNDED but 500 of its 1000 captured was refunded"},
    };
    const ReconcileReport report = Reconcile(Options());
    EXPECT_EQ(report.mismatches.size(), expected.size())
        << ::testing::PrintToString(report.mismatches);
    for (const auto& [id, what] : expected) {
        const bool found = std::any_of(
            report.mismatches.begin(),
            report.mismatches.end(),
            [&, &id = id, &what = what](const std::string& line) {
                return line.find(id) != std::string::npos && line.find(what) != std::string::npos;
            }
        );
        EXPECT_TRUE(found) << "no mismatch for " << id << " saying '" << what << "' in "
                           << ::testing::PrintToString(report.mismatches);
    }
    EXPECT_TRUE(report.ledger_report.at("balanced").get<bool>());
    EXPECT_EQ(report.mismatch_count, static_cast<std::int64_t>(expected.size()));
    EXPECT_EQ(Run(Options()).first, 1);
}

TEST_F(ReconcileTest, RefundsAtAnyPageSizeAreClean) {
    // Many refunds of one payment, and payments with none, across page boundaries.
    const std::string many = AddPayment("REFUNDED", 5000, "EUR", 4000);
    Settle(many, 4000, "EUR");
    AddRefund(many, 1, "EUR", "FAILED");
    for (int i = 0; i < 40; ++i) {
        Refund(many, 100, "EUR");
    }
    AddCleanPayments(30);
    for (const std::int64_t page_size : {std::int64_t{2}, std::int64_t{7}, std::int64_t{1000}}) {
        SCOPED_TRACE("page size " + std::to_string(page_size));
        const ReconcileReport report = Reconcile(Options(page_size));
        EXPECT_THAT(report.mismatches, ::testing::IsEmpty());
        EXPECT_EQ(report.cross_service_checked, 31);
    }
}

TEST_F(ReconcileTest, ACompensatedPaymentInAnyStatusIsClean) {
    for (const char* status : {"CAPTURED", "FAILED", "REVERSED"}) {
        const std::string id = AddPayment(status, 640, "EUR");
        Settle(id, 640, "EUR");
        Reverse(id, 640, "EUR");
    }
    EXPECT_THAT(Reconcile(Options()).mismatches, ::testing::IsEmpty());
}

TEST_F(ReconcileTest, AReversalWithoutASettlementIsAMismatch) {
    const std::string id = AddPayment("REVERSED", 640, "EUR");
    Reverse(id, 640, "EUR");
    const ReconcileReport report = Reconcile(Options());
    ASSERT_EQ(report.mismatches.size(), 1U);
    EXPECT_THAT(report.mismatches[0], HasSubstr(id));
    EXPECT_THAT(report.mismatches[0], HasSubstr("has a ledger REVERSAL"));
}

TEST_F(ReconcileTest, ASettlementWithoutEntriesIsReportedByBothChecks) {
    // The database refuses a transaction row without entries; a superuser who disables triggers
    // (tampering) can still write one: the ledger's report counts it and the cross-check names it.
    const std::string id = AddPayment("SETTLED", 900, "USD");
    ledger_.ExecScript("SET session_replication_role = replica");
    ledger_.Exec(
        "INSERT INTO ledger_transactions (transaction_id, payment_id, purpose, currency, "
        "amount_minor, source_event_id) VALUES ('settlement:' || $1, $1::uuid, 'SETTLEMENT', "
        "'USD', 900, 'evt-bare')",
        {id}
    );
    ledger_.ExecScript("SET session_replication_role = origin");
    const ReconcileReport report = Reconcile(Options());
    EXPECT_FALSE(report.ledger_report.at("balanced").get<bool>());
    EXPECT_EQ(report.ledger_report.at("imbalanced_count"), 1);
    const auto mentions = [&](const std::string& what) {
        return std::any_of(
            report.mismatches.begin(),
            report.mismatches.end(),
            [&](const std::string& line) { return line.find(what) != std::string::npos; }
        );
    };
    EXPECT_TRUE(mentions("ledger report: not balanced"))
        << ::testing::PrintToString(report.mismatches);
    EXPECT_TRUE(mentions("settlement:" + id + " has no entries"))
        << ::testing::PrintToString(report.mismatches);
    EXPECT_EQ(Run(Options()).first, 1);
}

TEST_F(ReconcileTest, AnImbalanceInTheLedgerReportAloneGivesExitCodeOne) {
    const std::string id = AddPayment("SETTLED", 100, "USD");
    Settle(id, 100, "USD");
    // The seed's shape: no "balanced" field.
    CannedReport({
        {"transactions_checked", 1},
        {"imbalanced_count", 1},
        {"imbalanced_transactions",
         {{{"transaction_id", "settlement:" + id},
           {"debits", 100},
           {"credits", 0},
           {"entry_count", 1}}}},
    });
    const auto [code, printed] = Run(Options());
    EXPECT_EQ(code, 1) << last_stderr_;
    ASSERT_EQ(printed.at("mismatches").size(), 1U);
    EXPECT_THAT(
        printed.at("mismatches")[0].get<std::string>(),
        HasSubstr("ledger transaction settlement:" + id + " does not balance")
    );
    EXPECT_EQ(printed.at("imbalanced_count"), 1);
}

TEST_F(ReconcileTest, AWrongApiKeyOrAnUnreachableLedgerGivesExitCodeTwo) {
    ReconcileOptions wrong_key = Options();
    wrong_key.api_key = "not-the-key";
    EXPECT_EQ(Run(wrong_key).first, 2);
    EXPECT_THAT(last_stderr_, HasSubstr("answered GET /reconciliation?limit=250 with 401"));

    ReconcileOptions closed = Options();
    closed.ledger_url = "http://127.0.0.1:1";
    EXPECT_EQ(Run(closed).first, 2);
    EXPECT_THAT(last_stderr_, HasSubstr("cannot reach the ledger at http://127.0.0.1:1"));
    EXPECT_THROW((void)Reconcile(closed), ReconcileError);

    ReconcileOptions bad_url = Options();
    bad_url.ledger_url = "https://ledger.example";
    EXPECT_EQ(Run(bad_url).first, 2);
    EXPECT_THAT(last_stderr_, HasSubstr("--ledger-url"));

    CannedReport(nlohmann::json::array());
    EXPECT_EQ(Run(Options()).first, 2);
    EXPECT_THAT(last_stderr_, HasSubstr("not a report"));
}

TEST_F(ReconcileTest, AnUnreachableOrMissingDatabaseGivesExitCodeTwo) {
    ReconcileOptions no_orchestrator = Options();
    no_orchestrator.orchestrator_dsn = "postgresql://postgres@127.0.0.1:1/finpay_orchestrator";
    EXPECT_EQ(Run(no_orchestrator).first, 2);
    EXPECT_THAT(last_stderr_, HasSubstr("cannot reach the orchestrator database"));

    ReconcileOptions no_ledger_dsn = Options();
    no_ledger_dsn.ledger_dsn.clear();
    EXPECT_EQ(Run(no_ledger_dsn).first, 2);
    EXPECT_THAT(last_stderr_, HasSubstr("set LEDGER_POSTGRES_DSN or SAGAPAY_PG_BASE_DSN"));

    // Both DSNs on the orchestrator database: the ledger's tables are missing.
    ReconcileOptions swapped = Options();
    swapped.ledger_dsn = orchestrator_db_.Dsn();
    EXPECT_EQ(Run(swapped).first, 2);
    EXPECT_THAT(last_stderr_, HasSubstr("ledger database"));

    ReconcileOptions bad_limit = Options();
    bad_limit.limit = 0;
    EXPECT_EQ(Run(bad_limit).first, 2);
    EXPECT_THAT(last_stderr_, HasSubstr("--limit"));
    EXPECT_EQ(requests_.load(), 1);  // Only `swapped` got as far as the ledger's report.
}

// A ledger bound beyond loopback requires X-Internal-Token: the tool sends INTERNAL_API_TOKEN.
TEST_F(ReconcileTest, SendsTheInternalTokenFromTheEnvironment) {
    ReconcileOptions options = Options();
    options.internal_token =
        ReconcileOptionsFromEnvironment({{"INTERNAL_API_TOKEN", "internal-token-0123456789"}}
        ).internal_token;
    EXPECT_EQ(Run(options).first, 0) << last_stderr_;
    const std::lock_guard lock(mutex_);
    EXPECT_EQ(last_internal_token_, "internal-token-0123456789");
}

TEST(ReconcileOptionsTest, ReadsDsnsAndTheKeyFromTheEnvironment) {
    const ReconcileOptions explicit_env = ReconcileOptionsFromEnvironment({
        {"ORCHESTRATOR_POSTGRES_DSN", "postgresql://u@h:1/o"},
        {"LEDGER_POSTGRES_DSN", "postgresql://u@h:2/l"},
        {"SAGAPAY_PG_BASE_DSN", "postgresql://u@h:3"},
        {"OPS_API_KEY", "ops"},
        {"API_KEY", "api"},
    });
    EXPECT_EQ(explicit_env.orchestrator_dsn, "postgresql://u@h:1/o");
    EXPECT_EQ(explicit_env.ledger_dsn, "postgresql://u@h:2/l");
    EXPECT_EQ(explicit_env.api_key, "ops");

    const ReconcileOptions base = ReconcileOptionsFromEnvironment({
        {"SAGAPAY_PG_BASE_DSN", "postgresql://u@h:3"},
        {"API_KEY", "api"},
        {"OPS_API_KEY", ""},
    });
    EXPECT_EQ(base.orchestrator_dsn, "postgresql://u@h:3/finpay_orchestrator");
    EXPECT_EQ(base.ledger_dsn, "postgresql://u@h:3/finpay_ledger");
    EXPECT_EQ(base.api_key, "api");
    EXPECT_EQ(base.ledger_url, "http://localhost:8004");
    EXPECT_EQ(base.limit, 1000);

    const ReconcileOptions none = ReconcileOptionsFromEnvironment({});
    EXPECT_TRUE(none.orchestrator_dsn.empty());
    EXPECT_TRUE(none.api_key.empty());
}

}  // namespace
}  // namespace sagapay::app
