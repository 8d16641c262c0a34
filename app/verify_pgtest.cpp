#include "app/verify.hpp"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
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
            // Something happens between the orchestrator's read and this one (once).
            if (const auto hook = std::exchange(on_records_, nullptr)) {
                hook();
            }
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
        // A payment that got as far as its capture captured its whole amount (automatic).
        const bool captured = status == "CAPTURED" || status == "SETTLED" ||
                              status == "PARTIALLY_REFUNDED" || status == "REFUNDED";
        orchestrator_.Exec(
            "INSERT INTO payments (payment_id, customer_id, amount_cents, currency, status, "
            "idempotency_key, request_fingerprint, trace_id, created_at, updated_at, "
            "captured_cents) VALUES "
            "($1, 'cust-1', $2, $3, $4, $5, 'fp', 'trace', "
            "now() - make_interval(secs => $6::float8), now() - make_interval(secs => $7::float8), "
            "$8)",
            {id,
             amount,
             currency,
             status,
             "key-" + id,
             std::int64_t{age_s},
             std::int64_t{idle_s},
             captured ? postgres::Param(amount) : postgres::Param(std::nullopt)}
        );
        Accept("key-" + id, id);
        return id;
    }

    /// Makes `id` a manual capture: `capture_amount` asked for and `captured` taken (0: none).
    void Manual(const std::string& id, std::int64_t capture_amount, std::int64_t captured) {
        orchestrator_.Exec(
            "UPDATE payments SET capture_method = 'manual', capture_amount_cents = $2, "
            "captured_cents = $3 WHERE payment_id = $1",
            {id,
             capture_amount > 0 ? postgres::Param(capture_amount) : postgres::Param(std::nullopt),
             captured > 0 ? postgres::Param(captured) : postgres::Param(std::nullopt)}
        );
    }

    /// A refund of `payment`, as the orchestrator's API inserts it (PENDING, its amount reserved
    /// by the trigger) and the saga ends it (`status`); returns its id.
    std::string AddRefund(
        postgres::Connection& conn,
        const std::string& payment,
        std::int64_t amount,
        const std::string& status
    ) {
        std::string id = NewUuid();
        conn.Exec(
            "INSERT INTO refunds (refund_id, payment_id, amount_cents, currency, reason, "
            "idempotency_key, request_fingerprint, trace_id, created_at, updated_at) VALUES "
            "($1, $2, $3, 'USD', 'requested_by_customer', $4, 'fp', 'trace', "
            "now() - interval '3 seconds', now() - interval '3 seconds')",
            {id, payment, amount, "rk-" + id}
        );
        if (status != "PENDING") {
            conn.Exec(
                "UPDATE refunds SET status = $2, updated_at = now() - interval '2 seconds' "
                "WHERE refund_id = $1",
                {id, status}
            );
        }
        return id;
    }
    std::string AddRefund(
        const std::string& payment, std::int64_t amount, const std::string& status
    ) {
        return AddRefund(orchestrator_, payment, amount, status);
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

    /// The PSP's capture and refunds of `id`'s record (the sandbox's fields since refunds).
    void PspRefunds(
        const std::string& id,
        std::int64_t captured,
        const std::vector<std::pair<std::string, std::int64_t>>& refunds
    ) {
        const std::lock_guard lock(mutex_);
        for (auto& record : psp_records_) {
            if (record.at("payment_id") == id) {
                std::int64_t refunded = 0;
                nlohmann::json made = nlohmann::json::array();
                for (const auto& [refund_id, amount] : refunds) {
                    made.push_back({{"refund_key", "rf-" + refund_id}, {"amount_cents", amount}});
                    refunded += amount;
                }
                record["captured_amount_cents"] = captured;
                record["refunded_amount_cents"] = refunded;
                record["refunds"] = made;
                if (refunded == captured) {
                    record["status"] = "REFUNDED";
                }
            }
        }
    }

    void PostRefund(const std::string& id, const std::string& refund_id, std::int64_t amount) {
        auto entry = ledger::BuildRefundEntry(id, refund_id, amount, "USD");
        ASSERT_TRUE(entry.has_value());
        postgres::Transaction tx(ledger_);
        ASSERT_TRUE(ledger::LedgerStore::Post(tx, id, *entry, "evt-" + NewUuid()));
        tx.Commit();
    }

    void NotifyRefund(
        const std::string& id, const std::string& refund_id, const std::string& outcome
    ) {
        notification_.Exec(
            "INSERT INTO notification_logs (payment_id, outcome, message, event_id, refund_id) "
            "VALUES ($1, $2, 'm', $3, $4)",
            {id, outcome, NewUuid(), refund_id}
        );
    }

    /// Manual capture and refunds at rest: one captured in part (600 of 1000) and refunded in
    /// part (one refund SUCCEEDED, one FAILED), one refunded in full, one waiting for its capture.
    void AddRefundSet() {
        partial_ = AddPayment("PARTIALLY_REFUNDED", 1000);
        Manual(partial_, 600, 600);
        Psp(partial_, "CAPTURED", 1000, 1);
        Post(ledger::Purpose::kSettlement, partial_, 600);
        Notify(partial_, "SETTLED");
        refund_ok_ = AddRefund(partial_, 100, "SUCCEEDED");
        refund_failed_ = AddRefund(partial_, 50, "FAILED");
        PspRefunds(partial_, 600, {{refund_ok_, 100}});
        PostRefund(partial_, refund_ok_, 100);
        NotifyRefund(partial_, refund_ok_, "PARTIALLY_REFUNDED");
        NotifyRefund(partial_, refund_failed_, "REFUND_FAILED");

        const std::string refunded = AddPayment("REFUNDED", 500);
        Psp(refunded, "CAPTURED", 500, 1);
        Post(ledger::Purpose::kSettlement, refunded, 500);
        Notify(refunded, "SETTLED");
        const std::string first = AddRefund(refunded, 300, "SUCCEEDED");
        const std::string last = AddRefund(refunded, 200, "SUCCEEDED");
        PspRefunds(refunded, 500, {{first, 300}, {last, 200}});
        PostRefund(refunded, first, 300);
        PostRefund(refunded, last, 200);
        NotifyRefund(refunded, first, "PARTIALLY_REFUNDED");
        NotifyRefund(refunded, last, "REFUNDED");

        waiting_ = AddPayment("AUTHORIZED", 800);
        Manual(waiting_, 0, 0);
        Psp(waiting_, "AUTHORIZED", 800, 0);
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
    std::string partial_;
    std::string refund_ok_;
    std::string refund_failed_;
    std::string waiting_;
    std::function<void()> on_records_;  ///< Run when the PSP's records are read.
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

TEST_F(VerifyTest, RefundsAndManualCapturesAreReadAndCheckedAtRest) {
    AddHealthySet();
    AddRefundSet();
    VerifyOptions options = Options();
    options.stuck_after = std::chrono::minutes(5);
    const Verified v = RunChecked(options);
    EXPECT_THAT(v.report.violations, IsEmpty()) << last_json_.dump(2);
    EXPECT_EQ(v.payments, 9);
    EXPECT_EQ(v.refunds, 4);
    EXPECT_EQ(v.postings, 6);  // three settlements, three refunds
    EXPECT_EQ(v.report.awaiting_capture, 1);
    EXPECT_EQ(last_json_.at("awaiting_capture"), 1);
    EXPECT_EQ(last_json_.at("by_status").at("PARTIALLY_REFUNDED"), 1);
    EXPECT_EQ(last_json_.at("by_status").at("REFUNDED"), 1);
    EXPECT_EQ(last_json_.at("refunds_by_status").at("SUCCEEDED"), 3);
    EXPECT_EQ(last_json_.at("refunds_by_status").at("FAILED"), 1);
    EXPECT_EQ(last_json_.at("refunds_by_status").at("PENDING"), 0);
    EXPECT_EQ(last_json_.at("checked").at("refunds"), true);
    EXPECT_THAT(ReportText(v), HasSubstr("4 refunds: SUCCEEDED 3 FAILED 1"));
}

TEST_F(VerifyTest, BrokenRefundPromisesAreReportedByPayment) {
    AddHealthySet();
    AddRefundSet();
    // The PSP made the FAILED refund too, and the ledger posted it.
    PspRefunds(partial_, 600, {{refund_ok_, 100}, {refund_failed_, 50}});
    PostRefund(partial_, refund_failed_, 50);
    // REFUNDED though only part of the capture came back.
    const std::string wrong = AddPayment("SETTLED", 900);
    Psp(wrong, "CAPTURED", 900, 1);
    Post(ledger::Purpose::kSettlement, wrong, 900);
    Notify(wrong, "SETTLED");
    const std::string part = AddRefund(wrong, 400, "SUCCEEDED");
    orchestrator_.Exec("UPDATE payments SET status = 'REFUNDED' WHERE payment_id = $1", {wrong});
    PspRefunds(wrong, 900, {{part, 400}});
    PostRefund(wrong, part, 400);
    NotifyRefund(wrong, part, "PARTIALLY_REFUNDED");
    // A manual capture the PSP took in full, and the ledger settled in full, though 300 of 800
    // was asked.
    const std::string whole = AddPayment("SETTLED", 800);
    Manual(whole, 300, 300);
    Psp(whole, "CAPTURED", 800, 1);
    PspRefunds(whole, 800, {});
    Post(ledger::Purpose::kSettlement, whole, 800);
    Notify(whole, "SETTLED");
    // A refund still PENDING, at rest: nothing made it at the PSP.
    const std::string settled = AddPayment("SETTLED", 700);
    Psp(settled, "CAPTURED", 700, 1);
    Post(ledger::Purpose::kSettlement, settled, 700);
    Notify(settled, "SETTLED");
    (void)AddRefund(settled, 70, "PENDING");

    VerifyOptions options = Options();
    options.stuck_after = std::chrono::milliseconds(0);
    options.capture_window = std::chrono::hours(1);
    const Verified v = RunChecked(options);
    EXPECT_TRUE(Has(v, Kind::kPspRefundMismatch, partial_)) << last_json_.dump(2);
    EXPECT_TRUE(Has(v, Kind::kRefundPostingMismatch, partial_)) << last_json_.dump(2);
    EXPECT_TRUE(Has(v, Kind::kRefundStatusMismatch, wrong)) << last_json_.dump(2);
    EXPECT_TRUE(Has(v, Kind::kCaptureAmountMismatch, whole)) << last_json_.dump(2);
    EXPECT_TRUE(Has(v, Kind::kSettlementMismatch, whole)) << last_json_.dump(2);
    EXPECT_TRUE(Has(v, Kind::kRefundStuck, settled)) << last_json_.dump(2);
    // Waiting on the merchant within the capture window: not stuck, even at rest.
    EXPECT_FALSE(Has(v, Kind::kStuck, waiting_)) << last_json_.dump(2);
    EXPECT_EQ(last_json_.at("violations_by_kind").at("refund_stuck"), 1);
}

TEST_F(VerifyTest, ARefundMadeWhileThePictureIsTakenCountsAsInFlight) {
    AddHealthySet();
    AddRefundSet();
    // Between the orchestrator's read and the PSP's: a refund is asked, made at the PSP, ends
    // SUCCEEDED, is posted and announced.
    std::string late;
    on_records_ = [&] {
        postgres::Connection conn = orchestrator_db_.Connect();
        late = AddRefund(conn, partial_, 200, "SUCCEEDED");
        PspRefunds(partial_, 600, {{refund_ok_, 100}, {late, 200}});
        PostRefund(partial_, late, 200);
        NotifyRefund(partial_, late, "PARTIALLY_REFUNDED");
    };
    const Verified v = RunChecked(Options());
    EXPECT_THAT(v.report.violations, IsEmpty()) << last_json_.dump(2);
    EXPECT_EQ(v.refunds, 5);                                           // read after the rest
    EXPECT_EQ(last_json_.at("refunds_by_status").at("SUCCEEDED"), 3);  // as of the first read
    // Read at once, every part agrees.
    EXPECT_TRUE(RunChecked(Options()).report.Ok()) << last_json_.dump(2);
    EXPECT_EQ(last_json_.at("refunds_by_status").at("SUCCEEDED"), 4);
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
    EXPECT_EQ(records[0].captured_minor, std::nullopt);  // before partial captures: all of it
    EXPECT_TRUE(records[0].refunds.empty());
    const auto partial = ParsePspRecords(nlohmann::json::parse(
        R"([{"idempotency_key":"auth-2","payment_id":"p2","amount_cents":1000,"currency":"USD",
             "status":"CAPTURED","captures":1,"captured_amount_cents":600,
             "refunded_amount_cents":150,
             "refunds":[{"refund_key":"rf-a","amount_cents":100},
                        {"refund_key":"rf-b","amount_cents":50}]}])"
    ));
    ASSERT_EQ(partial.size(), 1u);
    EXPECT_EQ(partial[0].captured_minor, 600);
    EXPECT_EQ(partial[0].refunded_minor, 150);
    ASSERT_EQ(partial[0].refunds.size(), 2u);
    EXPECT_EQ(partial[0].refunds[1].key, "rf-b");
    EXPECT_EQ(partial[0].refunds[1].amount_minor, 50);
    EXPECT_THROW(
        (void)ParsePspRecords(nlohmann::json::parse(
            R"([{"idempotency_key":"k","payment_id":"p","amount_cents":1,"currency":"USD",
                 "status":"CAPTURED","captures":1,"refunds":[{"refund_key":"rf-a"}]}])"
        )),
        VerifyError
    );
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
