// Manual capture, cancel and refunds against the orchestrator's real schema: the HTTP commands
// (PaymentApi), the saga's handling of the PSP's answers (SagaHandler over PgPaymentStore), the
// sweeper's capture window, and the database's own guard on refunds.
#include <atomic>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "adapters/postgres/migrator.hpp"
#include "runtime/transaction_outbox.hpp"
#include "services/orchestrator/payment_api.hpp"
#include "services/orchestrator/pg_payment_store.hpp"
#include "services/orchestrator/saga_handler.hpp"
#include "services/orchestrator/schema.hpp"
#include "services/orchestrator/sweeper.hpp"
#include "testing/fake_clock.hpp"
#include "testing/test_env.hpp"

namespace sagapay::orchestrator {
namespace {

nlohmann::json Json(const http::Response& response) {
    return nlohmann::json::parse(response.body);
}

std::string ErrorCode(const http::Response& response) {
    return Json(response)["error"]["code"];
}

http::Request On(const std::string& payment_id, std::string body = "") {
    http::Request request;
    request.method = "POST";
    request.path_params = {payment_id};
    request.body = std::move(body);
    return request;
}

class NoObserver final : public SagaObserver {
public:
    void Ignored(std::string_view /*topic*/) override {}
    void Finished(PaymentStatus /*s*/, double /*age*/, std::string_view /*reason*/) override {}
};

class PaymentCommandsTest : public ::testing::Test {
protected:
    void SetUp() override {
        auto conn = db_.Connect();
        postgres::Migrate(conn, "orchestrator", OrchestratorMigrations());
    }

    /// A payment created through the API, then moved to `status` (as the saga would have).
    std::string Payment(
        const std::string& key, const std::string& status, bool manual, std::int64_t captured = 0
    ) {
        const std::string body =
            R"({"customer_id":"c-1","amount_cents":1500,"currency":"USD","idempotency_key":")" +
            key + "\"" + (manual ? R"(,"capture_method":"manual")" : "") + "}";
        http::Request create;
        create.body = body;
        const http::Response created = api_.Create(create);
        EXPECT_EQ(created.status, 200) << created.body;
        std::string id = Json(created)["payment_id"];
        auto conn = db_.Connect();
        conn.Exec(
            "UPDATE payments SET status = $2, captured_cents = nullif($3::bigint, 0) "
            "WHERE payment_id = $1",
            {id, status, captured}
        );
        return id;
    }

    std::vector<std::string> Topics(const std::string& id) {
        auto conn = db_.Connect();
        const auto rows = conn.Exec(
            "SELECT topic FROM outbox_events WHERE aggregate_id = $1 AND topic <> "
            "'payments.requested' ORDER BY seq",
            {id}
        );
        std::vector<std::string> topics;
        topics.reserve(static_cast<std::size_t>(rows.Size()));
        for (int i = 0; i < rows.Size(); ++i) {
            topics.push_back(rows.GetString(i, 0));
        }
        return topics;
    }

    nlohmann::json LastPayload(const std::string& id, const std::string& topic) {
        auto conn = db_.Connect();
        const auto rows = conn.Exec(
            "SELECT (payload -> 'payload')::text FROM outbox_events WHERE aggregate_id = $1 AND "
            "topic = $2 "
            "ORDER BY seq DESC LIMIT 1",
            {id, topic}
        );
        return rows.Empty() ? nlohmann::json() : nlohmann::json::parse(rows.GetString(0, 0));
    }

    /// The saga handles `event` about `id` in its own transaction, as a consumer does.
    void Handle(const std::string& id, const SagaEvent& event) {
        auto conn = db_.Connect();
        postgres::Transaction tx(conn);
        PgPaymentStore store(tx);
        TransactionOutbox outbox(tx);
        SagaHandler(clock_, observer_)
            .Handle(store, outbox, NewEnvelope(event, PaymentId(id), "trace-1", clock_));
        tx.Commit();
    }

    nlohmann::json Shown(const std::string& id) {
        http::Request get;
        get.path_params = {id};
        return Json(api_.Get(get));
    }

    http::Response Refund(const std::string& id, const std::string& key, std::int64_t amount) {
        return api_.Refund(
            On(id,
               R"({"amount_cents":)" + std::to_string(amount) + R"(,"idempotency_key":")" + key +
                   R"(","reason":"requested_by_customer"})")
        );
    }

    testing::TestDatabase db_;
    postgres::Pool pool_{db_.Dsn(), 8};
    testing::FakeClock clock_;
    NoObserver observer_;
    PaymentApi api_{pool_, clock_, "orchestrator"};
};

TEST_F(PaymentCommandsTest, AManualPaymentIsCapturedInPartOnceAndSettlesWhatWasCaptured) {
    const std::string id = Payment("order-1", "AUTHORIZED", true);
    EXPECT_EQ(Shown(id)["capture_method"], "manual");

    const http::Response capture = api_.Capture(On(id, R"({"amount_cents":900})"));
    ASSERT_EQ(capture.status, 200) << capture.body;
    EXPECT_EQ(capture.Header("idempotent-replayed"), "false");
    EXPECT_EQ(Json(capture)["capture_amount_cents"], 900);
    EXPECT_EQ(LastPayload(id, "provider.capture.requested")["capture_amount_cents"], 900);

    // The same capture again is a replay; another amount is refused; nothing more is emitted.
    const http::Response again = api_.Capture(On(id, R"({"amount_cents":900})"));
    EXPECT_EQ(again.status, 200);
    EXPECT_EQ(again.Header("idempotent-replayed"), "true");
    const http::Response other = api_.Capture(On(id, R"({"amount_cents":800})"));
    EXPECT_EQ(other.status, 409);
    EXPECT_EQ(ErrorCode(other), "capture_already_requested");
    EXPECT_EQ(Topics(id), std::vector<std::string>{"provider.capture.requested"});
    // A capture asked for is in progress: it cannot be canceled any more.
    EXPECT_EQ(ErrorCode(api_.Cancel(On(id))), "capture_in_progress");

    Handle(id, CaptureCompleted{"au-1", Money{900, *Currency::Parse("USD")}});
    const nlohmann::json captured = Shown(id);
    EXPECT_EQ(captured["status"], "CAPTURED");
    EXPECT_EQ(captured["captured_cents"], 900);
    EXPECT_EQ(LastPayload(id, "payments.captured")["amount_cents"], 900);
}

TEST_F(PaymentCommandsTest, CaptureIsRefusedForAnAutomaticOrUnknownPaymentAndABadAmount) {
    const std::string automatic = Payment("order-2", "AUTHORIZED", false);
    EXPECT_EQ(ErrorCode(api_.Capture(On(automatic))), "capture_not_manual");
    const std::string manual = Payment("order-3", "AUTHORIZED", true);
    const http::Response too_much = api_.Capture(On(manual, R"({"amount_cents":1501})"));
    EXPECT_EQ(too_much.status, 422);
    EXPECT_EQ(api_.Capture(On(manual, R"({"amount_cents":"9"})")).status, 422);
    EXPECT_EQ(api_.Capture(On(manual, "[")).status, 400);
    EXPECT_EQ(api_.Capture(On("6f0c1f8e-1111-4a57-9d6f-6b1f1d2c3e4f")).status, 404);
    EXPECT_EQ(api_.Capture(On("not-a-uuid")).status, 404);
    EXPECT_TRUE(Topics(manual).empty());
    EXPECT_TRUE(Topics(automatic).empty());
}

TEST_F(PaymentCommandsTest, CancelVoidsTheAuthorizationOnceAndEndsThePayment) {
    const std::string id = Payment("order-4", "AUTHORIZED", true);
    const http::Response canceled = api_.Cancel(On(id));
    ASSERT_EQ(canceled.status, 200) << canceled.body;
    EXPECT_EQ(Json(canceled)["status"], "REVERSED");
    EXPECT_EQ(Json(canceled)["timeline"].back()["reason"], "canceled");
    EXPECT_EQ(
        Topics(id), (std::vector<std::string>{"provider.release.requested", "payments.reversed"})
    );
    const http::Response again = api_.Cancel(On(id));
    EXPECT_EQ(again.status, 200);
    EXPECT_EQ(again.Header("idempotent-replayed"), "true");
    EXPECT_EQ(ErrorCode(api_.Capture(On(id))), "payment_not_capturable");
    EXPECT_EQ(Topics(id).size(), 2U);
    EXPECT_EQ(ErrorCode(api_.Cancel(On(id, R"({"x":1})"))), "validation_error");
}

TEST_F(PaymentCommandsTest, TheSweeperVoidsAnAuthorizationLeftUncapturedAndNeverRedrivesIt) {
    const std::string waiting = Payment("order-5", "AUTHORIZED", true);
    const std::string fresh = Payment("order-6", "AUTHORIZED", true);
    auto conn = db_.Connect();
    conn.Exec(
        "UPDATE payments SET updated_at = now() - interval '8 days' WHERE payment_id = $1",
        {waiting}
    );
    SweeperOptions options;
    options.service = "orchestrator";
    options.stuck_after = std::chrono::milliseconds(100);
    // Waiting on the merchant is not stuck: nothing is re-driven for either.
    EXPECT_EQ(SweepStuckPayments(conn, options, clock_), 0);
    EXPECT_EQ(PgPaymentStore::CountInFlight(conn), 0);

    EXPECT_EQ(VoidExpiredAuthorizations(conn, options, clock_), 1);
    EXPECT_EQ(Shown(waiting)["status"], "REVERSED");
    EXPECT_EQ(Shown(waiting)["timeline"].back()["reason"], "authorization_expired");
    EXPECT_EQ(
        Topics(waiting),
        (std::vector<std::string>{"provider.release.requested", "payments.reversed"})
    );
    EXPECT_EQ(Shown(fresh)["status"], "AUTHORIZED");
    EXPECT_EQ(VoidExpiredAuthorizations(conn, options, clock_), 0);
}

TEST_F(PaymentCommandsTest, TwoPartialRefundsThenTheRestRefundThePaymentInFull) {
    const std::string id = Payment("order-7", "SETTLED", true, 900);
    const http::Response first = Refund(id, "refund-1", 400);
    ASSERT_EQ(first.status, 200) << first.body;
    EXPECT_EQ(Json(first)["status"], "PENDING");
    const std::string first_id = Json(first)["refund_id"];
    EXPECT_EQ(LastPayload(id, "provider.refund.requested")["refund_id"], first_id);

    // The same key and body: the same refund. The same key, another body: refused.
    const http::Response replay = Refund(id, "refund-1", 400);
    EXPECT_EQ(Json(replay)["refund_id"], first_id);
    EXPECT_EQ(replay.Header("idempotent-replayed"), "true");
    EXPECT_EQ(ErrorCode(Refund(id, "refund-1", 300)), "idempotency_key_reused");

    // 400 pending: 501 more is refused, 500 accepted.
    const http::Response beyond = Refund(id, "refund-2", 501);
    EXPECT_EQ(beyond.status, 409);
    EXPECT_EQ(ErrorCode(beyond), "refund_exceeds_captured");
    const http::Response second = Refund(id, "refund-3", 300);
    ASSERT_EQ(second.status, 200);
    const std::string second_id = Json(second)["refund_id"];

    const Money usd400{400, *Currency::Parse("USD")};
    Handle(id, RefundCompleted{first_id, usd400, true, "", 12});
    EXPECT_EQ(Shown(id)["status"], "PARTIALLY_REFUNDED");
    EXPECT_EQ(Shown(id)["refunded_cents"], 400);
    Handle(id, RefundCompleted{second_id, Money{300, usd400.currency}, true, "", 12});
    EXPECT_EQ(Shown(id)["status"], "PARTIALLY_REFUNDED");
    EXPECT_EQ(Shown(id)["refunded_cents"], 700);

    // No amount: all that is left (200), and the payment is REFUNDED.
    const http::Response rest = api_.Refund(On(id, R"({"idempotency_key":"refund-4"})"));
    ASSERT_EQ(rest.status, 200) << rest.body;
    EXPECT_EQ(Json(rest)["amount_cents"], 200);
    Handle(id, RefundCompleted{Json(rest)["refund_id"], Money{200, usd400.currency}, true, "", 9});
    EXPECT_EQ(Shown(id)["status"], "REFUNDED");
    EXPECT_EQ(ErrorCode(Refund(id, "refund-5", 1)), "payment_fully_refunded");

    http::Request list;
    list.path_params = {id};
    const nlohmann::json refunds = Json(api_.ListRefunds(list));
    EXPECT_EQ(refunds["refunded_cents"], 900);
    EXPECT_EQ(refunds["refund_pending_cents"], 0);
    ASSERT_EQ(refunds["refunds"].size(), 3U);
    for (const auto& refund : refunds["refunds"]) {
        EXPECT_EQ(refund["status"], "SUCCEEDED");
    }
    EXPECT_EQ(
        Topics(id),
        (std::vector<std::string>{
            "provider.refund.requested",
            "provider.refund.requested",
            "payments.refunded",
            "payments.refunded",
            "provider.refund.requested",
            "payments.refunded"})
    );
}

TEST_F(PaymentCommandsTest, AFailedRefundFreesItsAmountAndIsAnnounced) {
    const std::string id = Payment("order-8", "SETTLED", false, 1500);
    const http::Response all = Refund(id, "refund-1", 1500);
    ASSERT_EQ(all.status, 200);
    EXPECT_EQ(ErrorCode(Refund(id, "refund-2", 1)), "refund_exceeds_captured");
    Handle(
        id,
        RefundCompleted{
            Json(all)["refund_id"], Money{1500, *Currency::Parse("USD")}, false, "psp_refused", 3}
    );
    EXPECT_EQ(Shown(id)["status"], "SETTLED");
    EXPECT_EQ(Shown(id)["refund_pending_cents"], 0);
    EXPECT_EQ(LastPayload(id, "refunds.failed")["reason"], "psp_refused");
    EXPECT_EQ(Refund(id, "refund-2", 1).status, 200);
}

TEST_F(PaymentCommandsTest, ConcurrentRefundsNeverTotalMoreThanTheCapture) {
    const std::string id = Payment("order-9", "SETTLED", false, 1000);
    std::atomic<int> accepted{0};
    std::atomic<int> refused{0};
    std::vector<std::thread> threads;
    threads.reserve(8);
    for (int t = 0; t < 8; ++t) {
        threads.emplace_back([&, t] {
            const http::Response r = Refund(id, "refund-" + std::to_string(t), 300);
            if (r.status == 200) {
                ++accepted;
            } else if (r.status == 409) {
                ++refused;
            }
        });
    }
    for (auto& thread : threads) {
        thread.join();
    }
    EXPECT_EQ(accepted.load(), 3);  // 900 of 1000
    EXPECT_EQ(refused.load(), 5);
    auto conn = db_.Connect();
    EXPECT_EQ(
        conn.Exec("SELECT refund_reserved_cents FROM payments WHERE payment_id = $1", {id})
            .GetInt(0, 0),
        900
    );
}

TEST_F(PaymentCommandsTest, TheDatabaseRefusesAnOverRefundWhateverWritesIt) {
    const std::string id = Payment("order-10", "SETTLED", false, 1000);
    auto conn = db_.Connect();
    const auto insert = [&](const std::string& refund_id, std::int64_t amount) {
        conn.Exec(
            "INSERT INTO refunds (refund_id, payment_id, amount_cents, currency, reason, "
            "idempotency_key, request_fingerprint, trace_id) "
            "VALUES ($1::uuid, $2, $3, 'USD', 'x', $1::text, 'f', 't')",
            {refund_id, id, amount}
        );
    };
    insert("0b6c1a52-7a4e-4a57-9d6f-000000000001", 600);
    EXPECT_THROW(insert("0b6c1a52-7a4e-4a57-9d6f-000000000002", 401), postgres::SqlError);
    // A refund's end is final, its amount never changes, and it is never deleted.
    conn.Exec("UPDATE refunds SET status = 'SUCCEEDED'");
    EXPECT_THROW(conn.Exec("UPDATE refunds SET status = 'FAILED'"), postgres::SqlError);
    EXPECT_THROW(conn.Exec("UPDATE refunds SET amount_cents = 1"), postgres::SqlError);
    EXPECT_THROW(conn.Exec("DELETE FROM refunds"), postgres::SqlError);
    EXPECT_EQ(
        conn.Exec("SELECT refunded_cents FROM payments WHERE payment_id = $1", {id}).GetInt(0, 0),
        600
    );
}

}  // namespace
}  // namespace sagapay::orchestrator
