#include "services/orchestrator/payment_api.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "adapters/postgres/migrator.hpp"
#include "services/orchestrator/pg_payment_store.hpp"
#include "services/orchestrator/schema.hpp"
#include "testing/fake_clock.hpp"
#include "testing/test_env.hpp"

namespace sagapay::orchestrator {
namespace {

http::Request Post(std::string body, std::string trace = "") {
    http::Request request;
    request.method = "POST";
    request.path = "/internal/payments";
    request.body = std::move(body);
    if (!trace.empty()) {
        request.headers.emplace_back("x-trace-id", std::move(trace));
    }
    return request;
}

nlohmann::json Json(const http::Response& response) {
    return nlohmann::json::parse(response.body);
}

class PaymentApiTest : public ::testing::Test {
protected:
    void SetUp() override {
        auto conn = db_.Connect();
        postgres::Migrate(conn, "orchestrator", OrchestratorMigrations());
    }

    testing::TestDatabase db_;
    postgres::Pool pool_{db_.Dsn(), 2};
    testing::FakeClock clock_;
    PaymentApi api_{pool_, clock_, "orchestrator"};
};

constexpr const char* kBody =
    R"({"customer_id":"c-1","amount_cents":1500,"currency":"usd","idempotency_key":"order-1"})";

TEST_F(PaymentApiTest, CreatesThenReplaysAndShowsThePayment) {
    const http::Response created = api_.Create(Post(kBody, "trace-abc"));
    ASSERT_EQ(created.status, 200) << created.body;
    EXPECT_EQ(Json(created)["status"], "CREATED");
    EXPECT_EQ(created.Header("idempotent-replayed"), "false");
    const std::string id = Json(created)["payment_id"];

    const http::Response replay = api_.Create(Post(kBody));
    EXPECT_EQ(replay.status, 200);
    EXPECT_EQ(Json(replay)["payment_id"], id);
    EXPECT_EQ(replay.Header("idempotent-replayed"), "true");

    http::Request get;
    get.path_params = {id};
    const http::Response shown = api_.Get(get);
    ASSERT_EQ(shown.status, 200);
    EXPECT_EQ(Json(shown)["currency"], "USD");
    auto conn = db_.Connect();
    EXPECT_EQ(
        conn.Exec("SELECT trace_id FROM payments WHERE payment_id = $1", {id}).GetString(0, 0),
        "trace-abc"
    );
}

TEST_F(PaymentApiTest, AnUnsafeTraceIdIsReplacedByAFreshOne) {
    const http::Response created = api_.Create(Post(kBody, "bad trace\n"));
    ASSERT_EQ(created.status, 200);
    auto conn = db_.Connect();
    const std::string trace = conn.Exec("SELECT trace_id FROM payments").GetString(0, 0);
    EXPECT_NE(trace, "bad trace\n");
    EXPECT_EQ(trace.size(), 36U);
}

TEST_F(PaymentApiTest, RefusesBadBodiesAndAReusedKey) {
    EXPECT_EQ(api_.Create(Post("{")).status, 400);
    EXPECT_EQ(Json(api_.Create(Post("[]")))["error"]["code"], "malformed_json");
    const http::Response invalid = api_.Create(Post(R"({"customer_id":"c"})"));
    EXPECT_EQ(invalid.status, 422);
    EXPECT_EQ(Json(invalid)["error"]["code"], "validation_error");

    ASSERT_EQ(api_.Create(Post(kBody)).status, 200);
    const http::Response reused = api_.Create(Post(
        R"({"customer_id":"c-1","amount_cents":1501,"currency":"USD","idempotency_key":"order-1"})"
    ));
    EXPECT_EQ(reused.status, 422);
    EXPECT_EQ(Json(reused)["error"]["code"], "idempotency_key_reused");
    EXPECT_EQ(Json(reused)["error"]["field"], "idempotency_key");
}

std::string BodyWithKey(const std::string& key) {
    return R"({"customer_id":"c-1","amount_cents":1500,"currency":"USD","idempotency_key":")" +
           key + R"("})";
}

TEST_F(PaymentApiTest, AdmissionControlRefusesPastTheLimitUntilPaymentsFinish) {
    AdmissionGate gate({.limit = 2, .max_wait = std::chrono::milliseconds(10), .max_waiting = 4});
    PaymentApi api(pool_, clock_, "orchestrator", &gate);
    auto conn = db_.Connect();
    gate.Refresh(PgPaymentStore::CountInFlight(conn), gate.BeginRefresh());
    ASSERT_EQ(api.Create(Post(BodyWithKey("order-a"))).status, 200);
    ASSERT_EQ(api.Create(Post(BodyWithKey("order-b"))).status, 200);
    EXPECT_EQ(PgPaymentStore::CountInFlight(conn), 2);

    const http::Response refused = api.Create(Post(BodyWithKey("order-c")));
    EXPECT_EQ(refused.status, 503);
    EXPECT_EQ(Json(refused)["error"]["code"], "overloaded");
    EXPECT_EQ(refused.Header("retry-after"), "1");
    // Nothing half-written: no payment, no outbox row for the refused request.
    EXPECT_EQ(conn.Exec("SELECT count(*) FROM payments").GetInt(0, 0), 2);
    EXPECT_EQ(conn.Exec("SELECT count(*) FROM outbox_events").GetInt(0, 0), 2);

    // A payment waiting on a person does not hold a place; a final one neither.
    conn.Exec("UPDATE payments SET status = 'RISK_REVIEW' WHERE idempotency_key = 'order-a'");
    conn.Exec("UPDATE payments SET status = 'SETTLED' WHERE idempotency_key = 'order-b'");
    gate.Refresh(PgPaymentStore::CountInFlight(conn), gate.BeginRefresh());
    EXPECT_EQ(gate.Estimate(), 0);
    EXPECT_EQ(api.Create(Post(BodyWithKey("order-c"))).status, 200);
}

TEST_F(PaymentApiTest, InvalidBodiesAreRefusedBeforeAdmission) {
    AdmissionGate gate({.limit = 1, .max_wait = std::chrono::milliseconds(0), .max_waiting = 4});
    PaymentApi api(pool_, clock_, "orchestrator", &gate);
    ASSERT_EQ(gate.Enter(), AdmissionGate::Verdict::kAdmitted);  // full
    EXPECT_EQ(api.Create(Post("{")).status, 400);
    EXPECT_EQ(api.Create(Post(R"({"customer_id":"c"})")).status, 422);
    EXPECT_EQ(api.Create(Post(kBody)).status, 503);
}

TEST_F(PaymentApiTest, AnUnknownPaymentIs404) {
    http::Request get;
    get.path_params = {"00000000-0000-4000-8000-000000000000"};
    EXPECT_EQ(api_.Get(get).status, 404);
    get.path_params = {"not-a-uuid"};
    EXPECT_EQ(Json(api_.Get(get))["error"]["code"], "payment_not_found");
}

}  // namespace
}  // namespace sagapay::orchestrator
