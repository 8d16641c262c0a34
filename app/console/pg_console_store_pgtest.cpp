#include "app/console/pg_console_store.hpp"

#include <string>

#include <gtest/gtest.h>

#include "adapters/postgres/migrator.hpp"
#include "adapters/postgres/sql_error.hpp"
#include "services/ledger/schema.hpp"
#include "services/notification/schema.hpp"
#include "services/orchestrator/schema.hpp"
#include "services/provider/schema.hpp"
#include "services/risk/schema.hpp"
#include "testing/test_env.hpp"

namespace sagapay {
std::span<const postgres::Migration> ConsoleMigrations();
}

namespace sagapay::console {
namespace {

using ::sagapay::testing::TestDatabase;

constexpr const char* kA = "aaaaaaaa-0000-4000-8000-000000000001";
constexpr const char* kB = "aaaaaaaa-0000-4000-8000-000000000002";
constexpr const char* kC = "aaaaaaaa-0000-4000-8000-000000000003";

/// Six migrated databases with rows as the services write them.
class PgConsoleStoreTest : public ::testing::Test {
protected:
    PgConsoleStoreTest() {
        postgres::Migrate(orchestrator_, "orchestrator", OrchestratorMigrations());
        postgres::Migrate(risk_, "risk", RiskMigrations());
        postgres::Migrate(provider_, "provider", ProviderMigrations());
        postgres::Migrate(ledger_, "ledger", LedgerMigrations());
        postgres::Migrate(notification_, "notification", NotificationMigrations());
        postgres::Migrate(console_, "console", ConsoleMigrations());
        const char* names[] = {
            "orchestrator", "risk", "provider", "ledger", "notification", "console"};
        for (int i = 0; i < 6; ++i) {
            config_.dsn[names[i]] = db_[i].Dsn();
        }
        // Three payments; a (large, USD, oldest) and c (EUR) wait for review, b was denied.
        const char* payments[][5] = {
            {kA, "cust-a", "250000", "USD", "RISK_REVIEW"},
            {kB, "cust-b", "120000", "USD", "FAILED"},
            {kC, "cust-c", "990000", "EUR", "RISK_REVIEW"},
        };
        int age = 300;
        for (const auto& p : payments) {
            orchestrator_.Exec(
                "INSERT INTO payments (payment_id, customer_id, amount_cents, currency, status, "
                "idempotency_key, request_fingerprint, trace_id, created_at) "
                "VALUES ($1, $2, $3, $4, $5, 'key-' || $2, 'fp', 'trace', "
                "now() - make_interval(secs => $6))",
                {p[0], p[1], p[2], p[3], p[4], age}
            );
            risk_.Exec(
                "INSERT INTO risk_reviews (review_id, payment_id, customer_id, amount_cents, "
                "currency, reason, status, reviewed_by, trace_id, created_at) "
                "VALUES (gen_random_uuid(), $1, $2, $3, $4, $5, $6, $7, 'trace', "
                "now() - make_interval(secs => $8))",
                {p[0],
                 p[1],
                 p[2],
                 p[3],
                 std::string(p[3]) == "EUR" ? "velocity_threshold" : "high_amount",
                 std::string(p[4]) == "FAILED" ? "DENIED" : "PENDING",
                 std::string(p[4]) == "FAILED" ? std::optional<std::string>("bob") : std::nullopt,
                 age}
            );
            age -= 100;
        }
        orchestrator_.Exec(
            "INSERT INTO payment_timeline (payment_id, from_state, to_state, reason) VALUES "
            "($1, NULL, 'CREATED', 'payment_created'), ($1, 'CREATED', 'RISK_REVIEW', 'review')",
            {kA}
        );
        orchestrator_.Exec(
            "INSERT INTO outbox_events (aggregate_id, event_type, topic, payload) "
            "VALUES ($1, 'payment.created', 'payments.created', '{\"n\": 1}')",
            {kA}
        );
        provider_.Exec(
            "INSERT INTO provider_attempts (payment_id, attempt_number, operation, result, "
            "latency_ms) VALUES ($1, 1, 'AUTHORIZE', 'AUTHORIZED', 12)",
            {kA}
        );
        notification_.Exec(
            "INSERT INTO notification_logs (payment_id, outcome, message, event_id) "
            "VALUES ($1, 'SETTLED', 'paid', 'e-1')",
            {kA}
        );
    }

    TestDatabase db_[6];
    postgres::Connection orchestrator_ = db_[0].Connect();
    postgres::Connection risk_ = db_[1].Connect();
    postgres::Connection provider_ = db_[2].Connect();
    postgres::Connection ledger_ = db_[3].Connect();
    postgres::Connection notification_ = db_[4].Connect();
    postgres::Connection console_ = db_[5].Connect();
    Config config_;
};

std::vector<std::string> Ids(const nlohmann::json& rows) {
    std::vector<std::string> ids;
    for (const auto& row : rows) {
        ids.push_back(row["payment_id"].get<std::string>());
    }
    return ids;
}

TEST_F(PgConsoleStoreTest, ReviewsAreFilteredSortedAndPaged) {
    PgConsoleStore store(config_);

    const auto newest = store.ListReviews({});
    EXPECT_EQ(Ids(newest["reviews"]), (std::vector<std::string>{kC, kA}));
    EXPECT_FALSE(newest["has_more"].get<bool>());
    EXPECT_EQ(newest["reasons"], nlohmann::json({"high_amount", "velocity_threshold"}));
    EXPECT_GE(newest["reviews"][1]["age_seconds"].get<std::int64_t>(), 299);
    EXPECT_FALSE(newest["reviews"][0].contains("trace_id"));

    ReviewFilter filter;
    filter.descending = false;
    filter.page.limit = 1;
    const auto oldest = store.ListReviews(filter);
    EXPECT_EQ(Ids(oldest["reviews"]), std::vector<std::string>{kA});
    EXPECT_TRUE(oldest["has_more"].get<bool>());
    filter.page.offset = 1;
    EXPECT_EQ(Ids(store.ListReviews(filter)["reviews"]), std::vector<std::string>{kC});

    ReviewFilter by_amount;
    by_amount.by_amount = true;
    by_amount.min_amount = 100'000;
    by_amount.max_amount = 500'000;
    EXPECT_EQ(Ids(store.ListReviews(by_amount)["reviews"]), std::vector<std::string>{kA});

    ReviewFilter narrow;
    narrow.currency = "EUR";
    narrow.reason = "velocity_threshold";
    narrow.customer = "cust-c";
    narrow.max_age_seconds = 150;
    EXPECT_EQ(Ids(store.ListReviews(narrow)["reviews"]), std::vector<std::string>{kC});
    narrow.min_age_seconds = 200;
    EXPECT_TRUE(store.ListReviews(narrow)["reviews"].empty());

    ReviewFilter denied;
    denied.status = "DENIED";
    EXPECT_EQ(Ids(store.ListReviews(denied)["reviews"]), std::vector<std::string>{kB});
    EXPECT_EQ(store.ReviewOf(kB)["reviewed_by"], "bob");
    EXPECT_TRUE(store.ReviewOf("aaaaaaaa-0000-4000-8000-00000000000f").is_null());
}

TEST_F(PgConsoleStoreTest, PaymentsAreFoundByEachFieldNewestFirst) {
    PgConsoleStore store(config_);
    EXPECT_EQ(Ids(store.SearchPayments({})["payments"]), (std::vector<std::string>{kC, kB, kA}));
    PaymentFilter filter;
    filter.status = "RISK_REVIEW";
    filter.customer = "cust-a";
    const auto found = store.SearchPayments(filter);
    ASSERT_EQ(Ids(found["payments"]), std::vector<std::string>{kA});
    EXPECT_EQ(found["payments"][0]["amount_cents"], 250000);
    EXPECT_EQ(found["payments"][0]["idempotency_key"], "key-cust-a");
    EXPECT_FALSE(found["payments"][0].contains("request_fingerprint"));
    PaymentFilter by_key;
    by_key.idempotency_key = "key-cust-b";
    EXPECT_EQ(Ids(store.SearchPayments(by_key)["payments"]), std::vector<std::string>{kB});
    PaymentFilter by_id;
    by_id.payment_id = kC;
    EXPECT_EQ(Ids(store.SearchPayments(by_id)["payments"]), std::vector<std::string>{kC});
    PaymentFilter future;
    future.from = "2999-01-01T00:00:00Z";
    EXPECT_TRUE(store.SearchPayments(future)["payments"].empty());
}

TEST_F(PgConsoleStoreTest, APaymentsPageGathersEveryServicesRows) {
    PgConsoleStore store(config_);
    const auto page = store.PaymentPage(kA);
    ASSERT_TRUE(page);
    EXPECT_EQ((*page)["payment"]["status"], "RISK_REVIEW");
    ASSERT_EQ((*page)["timeline"].size(), 2U);
    EXPECT_EQ((*page)["timeline"][1]["to_state"], "RISK_REVIEW");
    ASSERT_EQ((*page)["events"].size(), 1U);
    EXPECT_EQ((*page)["events"][0]["service"], "orchestrator");
    EXPECT_EQ((*page)["events"][0]["payload"]["n"], 1);
    ASSERT_EQ((*page)["attempts"].size(), 1U);
    EXPECT_EQ((*page)["attempts"][0]["operation"], "AUTHORIZE");
    EXPECT_TRUE((*page)["ledger"].empty());
    ASSERT_EQ((*page)["notifications"].size(), 1U);
    EXPECT_EQ((*page)["review"]["status"], "PENDING");
    EXPECT_TRUE((*page)["risk"].is_null());
    EXPECT_FALSE(store.PaymentPage("aaaaaaaa-0000-4000-8000-00000000000f"));
    EXPECT_TRUE((*page)["refunds"].empty());

    // A settled payment's page lists its refunds (not the request fingerprint).
    orchestrator_.Exec(
        "UPDATE payments SET status = 'SETTLED', captured_cents = 120000 WHERE payment_id = $1",
        {kB}
    );
    orchestrator_.Exec(
        "INSERT INTO refunds (refund_id, payment_id, amount_cents, currency, reason, "
        "idempotency_key, request_fingerprint, trace_id) VALUES "
        "('bbbbbbbb-0000-4000-8000-000000000001', $1, 5000, 'USD', 'duplicate', 'refund-1', "
        "'fp', 'trace')",
        {kB}
    );
    const auto refunded = store.PaymentPage(kB);
    ASSERT_EQ((*refunded)["refunds"].size(), 1U);
    EXPECT_EQ((*refunded)["refunds"][0]["amount_cents"], 5000);
    EXPECT_EQ((*refunded)["refunds"][0]["status"], "PENDING");
    EXPECT_FALSE((*refunded)["refunds"][0].contains("request_fingerprint"));
    EXPECT_EQ((*refunded)["payment"]["refund_reserved_cents"], 5000);
    orchestrator_.Exec("UPDATE payments SET status = 'FAILED' WHERE payment_id = $1", {kB});

    const auto statuses = store.PaymentStatuses({kA, kB, "not-a-uuid"});
    EXPECT_EQ(statuses.size(), 2U);
    EXPECT_EQ(statuses.at(kB), "FAILED");
}

TEST_F(PgConsoleStoreTest, TheAuditLogListsNewestFirstAndIsAppendOnly) {
    PgConsoleStore store(config_);
    store.RecordAudit(
        {"alice",
         "review.deny",
         kA,
         "denied",
         {{"status", "PENDING"}},
         {{"status", "DENIED"}, {"note", "n"}}}
    );
    store.RecordAudit({"bob", "session.login", "bob", "ok", nullptr, nullptr});

    Page page;
    page.limit = 1;
    const auto first = store.ListAudit(page);
    ASSERT_EQ(first["entries"].size(), 1U);
    EXPECT_EQ(first["entries"][0]["operator"], "bob");
    EXPECT_TRUE(first["has_more"].get<bool>());
    page.offset = 1;
    const auto second = store.ListAudit(page)["entries"][0];
    EXPECT_EQ(second["action"], "review.deny");
    EXPECT_EQ(second["before"]["status"], "PENDING");
    EXPECT_EQ(second["after"]["note"], "n");
    EXPECT_THROW(console_.Exec("DELETE FROM console_audit"), postgres::SqlError);
    EXPECT_THROW(console_.Exec("UPDATE console_audit SET operator = 'x'"), postgres::SqlError);
}

}  // namespace
}  // namespace sagapay::console
