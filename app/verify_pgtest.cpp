#include "app/verify.hpp"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "adapters/http/http.hpp"
#include "adapters/postgres/migrator.hpp"
#include "core/ids.hpp"
#include "services/ledger/journal.hpp"
#include "services/ledger/ledger_store.hpp"
#include "services/ledger/schema.hpp"
#include "services/notification/schema.hpp"
#include "services/orchestrator/schema.hpp"
#include "services/provider/schema.hpp"
#include "services/risk/schema.hpp"
#include "testing/test_env.hpp"

namespace sagapay::app {
namespace {

using invariants::Kind;
using ::sagapay::testing::TestDatabase;
using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

/// The five service databases, migrated, and a stand-in sandbox PSP serving GET /v1/records
/// from `psp_records_`. Rows are written as each service would have written them.
class VerifyTest : public ::testing::Test {
protected:
    VerifyTest()
        : orchestrator_(orchestrator_db_.Connect()),
          risk_(risk_db_.Connect()),
          provider_(provider_db_.Connect()),
          ledger_(ledger_db_.Connect()),
          notification_(notification_db_.Connect()) {
        postgres::Migrate(orchestrator_, "orchestrator", OrchestratorMigrations());
        postgres::Migrate(risk_, "risk", RiskMigrations());
        postgres::Migrate(provider_, "provider", ProviderMigrations());
        postgres::Migrate(ledger_, "ledger", LedgerMigrations());
        postgres::Migrate(notification_, "notification", NotificationMigrations());
        http::Router router;
        router.Add("GET", "/v1/records", [this](http::Request&) {
            const std::lock_guard lock(mutex_);
            return http::JsonResponse(200, psp_records_.dump());
        });
        http::ServerOptions options;
        options.host = "127.0.0.1";
        options.port = 0;
        psp_.emplace(options, std::move(router));
        psp_->Start();
        accepted_path_ =
            std::filesystem::temp_directory_path() / ("verify-accepted-" + NewUuid() + ".jsonl");
    }

    void TearDown() override {
        std::error_code ignored;
        std::filesystem::remove(accepted_path_, ignored);
    }

    VerifyOptions Options() const {
        VerifyOptions o;
        o.dsn = {
            {"orchestrator", orchestrator_db_.Dsn()},
            {"risk", risk_db_.Dsn()},
            {"provider", provider_db_.Dsn()},
            {"ledger", ledger_db_.Dsn()},
            {"notification", notification_db_.Dsn()},
        };
        o.psp_url = "http://127.0.0.1:" + std::to_string(psp_->Port());
        o.accepted_file = accepted_path_.string();
        o.grace = std::chrono::milliseconds(0);  // the planted rows are at rest
        return o;
    }

    /// A payment in `status`, created `age_s` seconds ago, last changed `idle_s` seconds ago,
    /// accepted by the gateway under its key.
    std::string AddPayment(
        const std::string& status,
        std::int64_t amount,
        const std::string& currency = "USD",
        int idle_s = 1,
        int age_s = 2
    ) {
        std::string id = NewUuid();
        orchestrator_.Exec(
            "INSERT INTO payments (payment_id, customer_id, amount_cents, currency, status, "
            "idempotency_key, request_fingerprint, trace_id, created_at, updated_at) VALUES "
            "($1, 'cust-1', $2, $3, $4, $5, 'fp', 'trace', "
            "now() - make_interval(secs => $6::float8), now() - make_interval(secs => $7::float8))",
            {id, amount, currency, status, "key-" + id, std::int64_t{age_s}, std::int64_t{idle_s}}
        );
        Accept("key-" + id, id);
        return id;
    }

    void Accept(const std::string& key, const std::string& payment_id) {
        std::ofstream out(accepted_path_, std::ios::app);
        out << nlohmann::json{{"idempotency_key", key}, {"payment_id", payment_id}}.dump() << "\n";
    }

    void Psp(const std::string& id, const std::string& status, std::int64_t amount, int captures) {
        const std::lock_guard lock(mutex_);
        psp_records_.push_back({
            {"idempotency_key", "auth-" + id},
            {"payment_id", id},
            {"customer_id", "cust-1"},
            {"amount_cents", amount},
            {"currency", "USD"},
            {"authorization_id", "auth_x"},
            {"status", status},
            {"authorizations", 1},
            {"captures", captures},
        });
    }

    void Post(ledger::Purpose purpose, const std::string& id, std::int64_t amount) {
        auto entry = ledger::BuildJournalEntry(purpose, id, amount, "USD");
        ASSERT_TRUE(entry.has_value());
        postgres::Transaction tx(ledger_);
        ASSERT_TRUE(ledger::LedgerStore::Post(tx, id, *entry, "evt-" + NewUuid()));
        tx.Commit();
    }

    void Notify(const std::string& id, const std::string& outcome) {
        notification_.Exec(
            "INSERT INTO notification_logs (payment_id, outcome, message, event_id) "
            "VALUES ($1, $2, 'm', $3)",
            {id, outcome, NewUuid()}
        );
    }

    static void Outbox(
        postgres::Connection& conn, const std::string& status, int age_s, const std::string& id
    ) {
        conn.Exec(
            "INSERT INTO outbox_events (aggregate_id, event_type, topic, payload, status, "
            "created_at) VALUES ($1, 'payments.requested', 'payments.requested', '{}', $2, "
            "now() - make_interval(secs => $3::float8))",
            {id, status, std::int64_t{age_s}}
        );
    }

    /// Every outcome a healthy system shows, each with what the other services hold for it.
    void AddHealthySet() {
        settled_ = AddPayment("SETTLED", 1000);
        Psp(settled_, "CAPTURED", 1000, 1);
        Post(ledger::Purpose::kSettlement, settled_, 1000);
        Notify(settled_, "SETTLED");

        const std::string declined = AddPayment("FAILED", 2000);
        Psp(declined, "DECLINED", 2000, 0);
        Notify(declined, "FAILED");

        const std::string reversed = AddPayment("REVERSED", 3000);
        Psp(reversed, "VOIDED", 3000, 0);
        Notify(reversed, "FAILED");
        Notify(reversed, "REVERSED");

        // Refunded after the saga failed it (a late capture): no money stands.
        const std::string refunded = AddPayment("FAILED", 3500);
        Psp(refunded, "REFUNDED", 3500, 1);
        Notify(refunded, "FAILED");

        // A person's review for an hour: waiting, not stuck.
        review_ = AddPayment("RISK_REVIEW", 500000, "USD", 3600, 3601);
        risk_.Exec(
            "INSERT INTO risk_reviews (review_id, payment_id, customer_id, amount_cents, currency, "
            "reason, status, trace_id) VALUES ($1, $2, 'cust-1', 500000, 'USD', 'amount', "
            "'PENDING', 't')",
            {NewUuid(), review_}
        );

        // In flight for a second.
        const std::string moving = AddPayment("AUTHORIZED", 700);
        Psp(moving, "AUTHORIZED", 700, 0);

        Outbox(orchestrator_, "SENT", 600, settled_);
        Outbox(provider_, "PENDING", 1, moving);  // just appended: not behind
    }

    Verified RunChecked(const VerifyOptions& options) {
        Verified v = Verify(options);
        last_json_ = ReportJson(v);
        return v;
    }

    static std::vector<Kind> Kinds(const Verified& v) {
        std::vector<Kind> kinds;
        for (const auto& violation : v.report.violations) {
            kinds.push_back(violation.kind);
        }
        return kinds;
    }

    static bool Has(const Verified& v, Kind kind, const std::string& payment_id) {
        for (const auto& violation : v.report.violations) {
            if (violation.kind == kind && violation.payment_id == payment_id) {
                return true;
            }
        }
        return false;
    }

    TestDatabase orchestrator_db_;
    TestDatabase risk_db_;
    TestDatabase provider_db_;
    TestDatabase ledger_db_;
    TestDatabase notification_db_;
    postgres::Connection orchestrator_;
    postgres::Connection risk_;
    postgres::Connection provider_;
    postgres::Connection ledger_;
    postgres::Connection notification_;
    std::mutex mutex_;
    nlohmann::json psp_records_ = nlohmann::json::array();  // Guarded by mutex_.
    std::optional<http::Server> psp_;
    std::filesystem::path accepted_path_;
    nlohmann::json last_json_;
    std::string settled_;
    std::string review_;
};

TEST_F(VerifyTest, AHealthySystemIsOkAndReportsItsCounts) {
    AddHealthySet();
    const Verified v = RunChecked(Options());
    EXPECT_THAT(v.report.violations, IsEmpty()) << last_json_.dump(2);
    EXPECT_EQ(v.payments, 6);
    EXPECT_EQ(v.accepted, 6);
    EXPECT_EQ(v.psp_records, 5);
    EXPECT_EQ(v.postings, 1);
    EXPECT_EQ(v.report.awaiting_review, 1);
    EXPECT_TRUE(v.parts.accepted && v.parts.psp && v.parts.ledger && v.parts.notices);
    EXPECT_TRUE(v.parts.outbox);
    EXPECT_FALSE(v.parts.dead_letters);  // no Redis named
    EXPECT_EQ(last_json_.at("ok"), true);
    EXPECT_EQ(last_json_.at("by_status").at("SETTLED"), 1);
    EXPECT_EQ(last_json_.at("by_status").at("FAILED"), 2);
    EXPECT_EQ(last_json_.at("by_status").at("REVERSED"), 1);
    EXPECT_EQ(last_json_.at("by_status").at("RISK_REVIEW"), 1);
    EXPECT_EQ(last_json_.at("awaiting_review"), 1);
    EXPECT_EQ(last_json_.at("violation_count"), 0);
    // Created 2 s before its last change 1 s ago: 1 s from creation to final.
    EXPECT_GE(last_json_.at("longest_to_final_ms").get<std::int64_t>(), 900);
    EXPECT_LE(last_json_.at("longest_to_final_ms").get<std::int64_t>(), 1100);
    // The AUTHORIZED one changed a second ago; the review is not counted as in flight.
    EXPECT_GE(last_json_.at("oldest_in_flight_ms").get<std::int64_t>(), 900);
    EXPECT_LT(last_json_.at("oldest_in_flight_ms").get<std::int64_t>(), 60'000);

    ::testing::internal::CaptureStdout();
    EXPECT_EQ(RunVerify(Options(), /*json=*/false), 0);
    EXPECT_THAT(::testing::internal::GetCapturedStdout(), HasSubstr("ok: every invariant holds"));
}

TEST_F(VerifyTest, ABrokenSystemReportsEachBrokenPromiseByPaymentAndExitsOne) {
    AddHealthySet();
    // SETTLED, captured and notified, but never posted to the ledger.
    const std::string unposted = AddPayment("SETTLED", 4000);
    Psp(unposted, "CAPTURED", 4000, 1);
    Notify(unposted, "SETTLED");
    // FAILED while the PSP still holds its authorization.
    const std::string held = AddPayment("FAILED", 4100);
    Psp(held, "AUTHORIZED", 4100, 0);
    Notify(held, "FAILED");
    // APPROVED and untouched for an hour.
    const std::string stuck = AddPayment("APPROVED", 4200, "USD", 3600, 3601);
    // The gateway said it exists; the orchestrator has no such payment.
    const std::string lost = NewUuid();
    Accept("key-lost", lost);
    // An outbox row the relay left unsent for ten minutes.
    Outbox(provider_, "PENDING", 600, held);

    const Verified v = RunChecked(Options());
    EXPECT_FALSE(v.report.Ok());
    EXPECT_TRUE(Has(v, Kind::kSettlementMissing, unposted)) << last_json_.dump(2);
    EXPECT_TRUE(Has(v, Kind::kHoldStanding, held)) << last_json_.dump(2);
    EXPECT_TRUE(Has(v, Kind::kStuck, stuck)) << last_json_.dump(2);
    EXPECT_TRUE(Has(v, Kind::kAcceptedMissing, lost)) << last_json_.dump(2);
    EXPECT_THAT(Kinds(v), Contains(Kind::kOutboxBehind));
    EXPECT_EQ(v.report.violations.size(), 5u) << last_json_.dump(2);
    EXPECT_EQ(last_json_.at("violations_by_kind").at("settlement_missing"), 1);
    EXPECT_EQ(last_json_.at("violations_by_kind").at("outbox_behind"), 1);
    EXPECT_EQ(last_json_.at("ok"), false);

    ::testing::internal::CaptureStdout();
    EXPECT_EQ(RunVerify(Options(), /*json=*/true), 1);
    const auto printed = nlohmann::json::parse(::testing::internal::GetCapturedStdout());
    EXPECT_EQ(printed.at("violation_count"), 5);
    EXPECT_THAT(printed.dump(), HasSubstr("provider: 2 rows unsent"));
}

TEST_F(VerifyTest, StuckAfterZeroWantsEveryPaymentFinalExceptThoseAwaitingAPerson) {
    AddHealthySet();
    VerifyOptions options = Options();
    options.stuck_after = std::chrono::milliseconds(0);
    const Verified v = RunChecked(options);
    ASSERT_EQ(v.report.violations.size(), 1u) << last_json_.dump(2);
    EXPECT_EQ(v.report.violations[0].kind, Kind::kStuck);
    EXPECT_NE(v.report.violations[0].payment_id, review_);
    // Once the review is decided the payment must move on: it is no longer waiting on a person.
    risk_.Exec("UPDATE risk_reviews SET status = 'APPROVED' WHERE payment_id = $1", {review_});
    EXPECT_TRUE(Has(RunChecked(options), Kind::kStuck, review_));
}

TEST_F(VerifyTest, PartsWithoutASourceAreNotCheckedAndSaySo) {
    AddHealthySet();
    VerifyOptions options = Options();
    options.dsn.erase("ledger");
    options.dsn.erase("notification");
    options.psp_url.clear();
    options.accepted_file.clear();
    // A SETTLED payment with nothing anywhere: only the missing parts could tell.
    AddPayment("SETTLED", 999);
    const Verified v = RunChecked(options);
    EXPECT_TRUE(v.report.Ok()) << last_json_.dump(2);
    EXPECT_FALSE(v.parts.ledger || v.parts.notices || v.parts.psp || v.parts.accepted);
    EXPECT_EQ(last_json_.at("checked").at("ledger"), false);
    EXPECT_THAT(ReportText(v), HasSubstr("not checked (not configured): accepted, psp, ledger"));
}

TEST_F(VerifyTest, WhatCannotBeReadExitsTwo) {
    AddHealthySet();
    VerifyOptions options = Options();
    psp_.reset();  // the PSP is gone
    ::testing::internal::CaptureStderr();
    EXPECT_EQ(RunVerify(options, false), 2);
    EXPECT_THAT(::testing::internal::GetCapturedStderr(), HasSubstr("cannot reach the PSP"));

    options.psp_url.clear();
    options.dsn["orchestrator"] = "postgresql://postgres@127.0.0.1:1/nowhere?connect_timeout=1";
    ::testing::internal::CaptureStderr();
    EXPECT_EQ(RunVerify(options, false), 2);
    EXPECT_THAT(::testing::internal::GetCapturedStderr(), HasSubstr("orchestrator database"));
}

TEST(VerifyReaders, PspRecordsParseTheSandboxBooksAndRefuseWhatTheyCannotRead) {
    const auto records = ParsePspRecords(nlohmann::json::parse(
        R"([{"idempotency_key":"auth-1","payment_id":"p1","customer_id":"c","amount_cents":10,
             "currency":"EUR","authorization_id":"a","status":"REFUNDED","authorizations":1,
             "captures":1}])"
    ));
    ASSERT_EQ(records.size(), 1u);
    EXPECT_EQ(records[0].payment_id, "p1");
    EXPECT_EQ(records[0].key, "auth-1");
    EXPECT_EQ(records[0].state, invariants::PspState::kRefunded);
    EXPECT_EQ(records[0].captures, 1);
    EXPECT_EQ(records[0].amount_minor, 10);
    EXPECT_EQ(records[0].currency, "EUR");
    EXPECT_THROW((void)ParsePspRecords(nlohmann::json::object()), VerifyError);
    EXPECT_THROW(
        (void)ParsePspRecords(nlohmann::json::parse(
            R"([{"idempotency_key":"k","payment_id":"p","amount_cents":1,"currency":"USD",
                 "status":"PENDING","captures":0}])"
        )),
        VerifyError
    );
}

TEST(VerifyReaders, AcceptedLinesAreReadAndAMalformedOneIsNamed) {
    const auto path =
        std::filesystem::temp_directory_path() / ("verify-accepted-" + NewUuid() + ".jsonl");
    {
        std::ofstream out(path);
        out << R"({"idempotency_key":"k1","payment_id":"p1"})"
            << "\n\n"
            << R"({"idempotency_key":"k2","payment_id":"p2"})"
            << "\n";
    }
    const auto accepted = ReadAccepted(path.string());
    ASSERT_EQ(accepted.size(), 2u);
    EXPECT_EQ(accepted[1].idempotency_key, "k2");
    EXPECT_EQ(accepted[1].payment_id, "p2");
    {
        std::ofstream out(path, std::ios::app);
        out << R"({"idempotency_key":"k3"})"
            << "\n";
    }
    try {
        (void)ReadAccepted(path.string());
        ADD_FAILURE() << "a line without payment_id was read";
    } catch (const VerifyError& error) {
        EXPECT_THAT(error.what(), HasSubstr(":4:"));
    }
    std::filesystem::remove(path);
    EXPECT_THROW((void)ReadAccepted(path.string()), VerifyError);
}

TEST(VerifyReaders, DurationsTakeAUnit) {
    EXPECT_EQ(ParseDuration("250ms"), std::chrono::milliseconds(250));
    EXPECT_EQ(ParseDuration("30s"), std::chrono::seconds(30));
    EXPECT_EQ(ParseDuration("30"), std::chrono::seconds(30));
    EXPECT_EQ(ParseDuration("5m"), std::chrono::minutes(5));
    EXPECT_EQ(ParseDuration("2h"), std::chrono::hours(2));
    EXPECT_EQ(ParseDuration("0"), std::chrono::milliseconds(0));
    EXPECT_EQ(ParseDuration(""), std::nullopt);
    EXPECT_EQ(ParseDuration("5x"), std::nullopt);
    EXPECT_EQ(ParseDuration("-1s"), std::nullopt);
    EXPECT_EQ(ParseDuration("1234567890123s"), std::nullopt);
}

}  // namespace
}  // namespace sagapay::app
