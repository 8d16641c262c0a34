// The webhooks' tables and their dispatcher against a real database, with a scripted sender
// and a FakeClock for the signatures' time.
#include "services/notification/pg_webhook_store.hpp"

#include <deque>
#include <mutex>

#include <gtest/gtest.h>

#include "adapters/postgres/migrator.hpp"
#include "services/notification/schema.hpp"
#include "services/notification/webhook_api.hpp"
#include "services/notification/webhook_dispatcher.hpp"
#include "services/notification/webhook_signature.hpp"
#include "testing/fake_clock.hpp"
#include "testing/http_request.hpp"
#include "testing/test_env.hpp"

namespace sagapay::notification {
namespace {

constexpr const char* kPayment = "5a6b7c8d-0000-4000-8000-000000000009";

/// Answers from a script (200 when it runs out) and keeps every request.
class ScriptedSender final : public WebhookSender {
public:
    struct Sent {
        std::string url;
        Headers headers;
        std::string body;
        [[nodiscard]] std::string Header(std::string_view name) const {
            for (const auto& [key, value] : headers) {
                if (key == name) {
                    return value;
                }
            }
            return {};
        }
    };

    AttemptResult Send(const std::string& url, const Headers& headers, const std::string& body)
        override {
        const std::scoped_lock lock(mutex_);
        sent.push_back({url, headers, body});
        AttemptResult result;
        result.latency_ms = 3;
        const int status = script.empty() ? 200 : script.front();
        if (!script.empty()) {
            script.pop_front();
        }
        if (status == 0) {
            result.error = "timed out";
        } else {
            result.status_code = status;
            result.response_excerpt = "answer " + std::to_string(status);
            if (status >= 300) {
                result.error = "answered " + std::to_string(status);
            }
        }
        return result;
    }

    std::deque<int> script;  ///< 0: no answer
    std::vector<Sent> sent;

private:
    std::mutex mutex_;
};

class PgWebhookStoreTest : public ::testing::Test {
protected:
    PgWebhookStoreTest() : conn_(db_.Connect()), pool_(db_.Dsn(), 2), store_(pool_) {
        postgres::Migrate(conn_, "notification", NotificationMigrations());
    }

    void Announce(
        const std::string& source_event_id,
        const std::string& saga_type,
        nlohmann::json payload = nlohmann::json::object()
    ) {
        Envelope event;
        event.event_id = source_event_id;
        event.event_type = saga_type;
        event.aggregate_id = kPayment;
        event.payload = std::move(payload);
        postgres::Transaction tx(conn_);
        PgWebhookStore::Enqueue(tx, event, *WebhookTypeOf(event), std::chrono::seconds(3600));
        tx.Commit();
    }

    nlohmann::json Register(const std::vector<std::string>& types) {
        return store_.CreateEndpoint(
            {.url = "http://127.0.0.1:9/hook", .event_types = types, .merchant_id = "m"},
            NewWebhookSecret()
        );
    }

    /// A dispatcher whose retries are due `retry_base` after a failure (0: at once, so a test
    /// counts attempts without waiting).
    WebhookDispatcher Dispatcher(
        int disable_after = 100, std::chrono::milliseconds retry_base = std::chrono::milliseconds(0)
    ) {
        return WebhookDispatcher(
            store_,
            sender_,
            clock_,
            {.batch = 8,
             .retry_base = retry_base,
             .lease = std::chrono::seconds(30),
             .disable_after = disable_after,
             .idle_poll = std::chrono::milliseconds(10)}
        );
    }

    std::int64_t Now() const {
        return std::chrono::duration_cast<std::chrono::seconds>(clock_.Now().time_since_epoch())
            .count();
    }

    testing::TestDatabase db_;
    postgres::Connection conn_;
    postgres::Pool pool_;
    PgWebhookStore store_;
    ScriptedSender sender_;
    testing::FakeClock clock_{std::chrono::system_clock::now()};
};

TEST_F(PgWebhookStoreTest, EventsAreNumberedPerPaymentAndQueuedForSubscribedEndpointsOnce) {
    const auto all = Register({"*"});
    const auto settled_only = Register({"payment.settled"});
    const auto disabled = Register({"*"});
    ASSERT_TRUE(store_.SetEnabled(disabled["endpoint_id"], false));

    Announce("saga-1", "payments.authorized");
    Announce("saga-2", "payments.settled", {{"amount_cents", 1500}});
    Announce("saga-2", "payments.settled");  // the saga event again: nothing new

    const auto deliveries = store_.ListDeliveries(std::nullopt, std::nullopt, 50);
    ASSERT_EQ(deliveries.size(), 3U);  // authorized → all; settled → all and settled_only
    EXPECT_EQ(deliveries[0]["event_type"], "payment.settled");
    EXPECT_EQ(deliveries[0]["sequence"], 2);
    EXPECT_EQ(deliveries[2]["event_type"], "payment.authorized");
    EXPECT_EQ(deliveries[2]["sequence"], 1);
    EXPECT_EQ(store_.ListDeliveries(settled_only["endpoint_id"], std::nullopt, 50).size(), 1U);
    EXPECT_TRUE(store_.ListDeliveries(disabled["endpoint_id"], std::nullopt, 50).empty());
    EXPECT_FALSE(store_.ListEndpoints()[0].contains("secret"));
    EXPECT_EQ(all["secret"].get<std::string>().rfind("whsec_", 0), 0U);
}

TEST_F(PgWebhookStoreTest, AnAuthorizationConsumedAfterItsSettlementKeepsItsPlaceBeforeIt) {
    // Automatic capture: the settlement (three hops after the capture that followed the
    // authorization at once) can be consumed before payments.authorized, its own topic.
    Register({"*"});
    Announce("saga-2", "payments.settled", {{"amount_cents", 1500}});
    Announce("saga-1", "payments.authorized");
    Announce("saga-1", "payments.authorized");  // redelivered: nothing new

    const auto sequences = conn_.Exec(
        "SELECT event_type, sequence, (body::jsonb ->> 'sequence')::int FROM webhook_events "
        "ORDER BY sequence"
    );
    ASSERT_EQ(sequences.Size(), 2);
    EXPECT_EQ(sequences.GetString(0, 0), "payment.authorized");
    EXPECT_EQ(sequences.GetInt(0, 1), 1);
    EXPECT_EQ(sequences.GetInt(0, 2), 1);  // the signed body says the same
    EXPECT_EQ(sequences.GetString(1, 0), "payment.settled");
    EXPECT_EQ(sequences.GetInt(1, 1), 2);
    EXPECT_EQ(store_.ListDeliveries(std::nullopt, std::nullopt, 50).size(), 2U);
}

TEST_F(PgWebhookStoreTest, RefundsAreNumberedAfterThePaymentsEventsAndQueuedForTheirSubscribers) {
    const auto all = Register({"*"});
    const auto refunds = Register({"payment.refunded", "refund.failed"});
    const auto failures = Register({"refund.failed"});
    const auto settled_only = Register({"payment.settled"});
    const nlohmann::json partial = {
        {"refund_id", "8b9c0d1e-0000-4000-8000-0000000000d1"},
        {"amount_cents", 400},
        {"currency", "USD"},
        {"refunded_total_cents", 400},
        {"captured_cents", 1000},
        {"customer_id", "c"},
        {"reason", "requested_by_customer"},
    };
    nlohmann::json rest = partial;
    rest["refund_id"] = "8b9c0d1e-0000-4000-8000-0000000000d3";
    rest["amount_cents"] = 600;
    rest["refunded_total_cents"] = 1000;

    Announce("saga-1", "payments.settled", {{"amount_cents", 1000}});
    Announce("saga-2", "payments.refunded", partial);
    Announce(
        "saga-3",
        "refunds.failed",
        {{"refund_id", "8b9c0d1e-0000-4000-8000-0000000000d2"},
         {"amount_cents", 700},
         {"currency", "USD"},
         {"customer_id", "c"},
         {"reason", "psp_refused"}}
    );
    Announce("saga-4", "payments.refunded", rest);
    Announce("saga-2", "payments.refunded", partial);  // redelivered: nothing new

    const auto events =
        conn_.Exec("SELECT event_type, sequence, body FROM webhook_events ORDER BY sequence");
    ASSERT_EQ(events.Size(), 4);
    // The settlement is 2: place 1 is kept for its authorization, not announced here.
    EXPECT_EQ(events.GetInt(0, 1), 2);
    EXPECT_EQ(events.GetString(1, 0), "payment.refunded");
    EXPECT_EQ(events.GetInt(1, 1), 3);
    EXPECT_EQ(events.GetString(2, 0), "refund.failed");
    EXPECT_EQ(events.GetInt(2, 1), 4);
    EXPECT_EQ(events.GetString(3, 0), "payment.refunded");
    EXPECT_EQ(events.GetInt(3, 1), 5);
    const auto object = [&](int row) {
        return nlohmann::json::parse(events.GetString(row, 2))["data"]["object"];
    };
    EXPECT_EQ(object(1)["status"], "PARTIALLY_REFUNDED");
    EXPECT_EQ(object(1)["refund_id"], partial["refund_id"]);
    EXPECT_EQ(object(1)["amount_cents"], 400);
    EXPECT_EQ(object(1)["refunded_total_cents"], 400);
    EXPECT_EQ(object(1)["captured_cents"], 1000);
    EXPECT_EQ(object(1)["reason"], "requested_by_customer");
    EXPECT_EQ(object(2)["reason"], "psp_refused");
    EXPECT_FALSE(object(2).contains("status"));
    EXPECT_EQ(object(3)["status"], "REFUNDED");

    const auto count = [&](const nlohmann::json& endpoint) {
        return store_.ListDeliveries(endpoint["endpoint_id"], std::nullopt, 50).size();
    };
    EXPECT_EQ(count(all), 4U);
    EXPECT_EQ(count(refunds), 3U);
    EXPECT_EQ(count(failures), 1U);
    EXPECT_EQ(count(settled_only), 1U);
    const auto listed = store_.ListDeliveries(failures["endpoint_id"], std::nullopt, 50);
    EXPECT_EQ(listed[0]["event_type"], "refund.failed");
    EXPECT_EQ(listed[0]["sequence"], 4);
}

TEST_F(PgWebhookStoreTest, ADeliveryIsSignedSentOnceAndLoggedAsDelivered) {
    const auto endpoint = Register({"payment.settled"});
    Announce("saga-1", "payments.settled", {{"amount_cents", 1500}});
    WebhookDispatcher dispatcher = Dispatcher();

    EXPECT_EQ(dispatcher.RunOnce(), 1);
    EXPECT_EQ(dispatcher.RunOnce(), 0);  // delivered: not claimed again

    ASSERT_EQ(sender_.sent.size(), 1U);
    const auto& sent = sender_.sent[0];
    EXPECT_EQ(sent.url, "http://127.0.0.1:9/hook");
    EXPECT_EQ(sent.Header("SagaPay-Event-Type"), "payment.settled");
    EXPECT_EQ(
        VerifySignature(
            sent.Header("SagaPay-Signature"),
            sent.body,
            endpoint["secret"].get<std::string>(),
            Now()
        ),
        Verification::kValid
    );
    const auto body = nlohmann::json::parse(sent.body);
    EXPECT_EQ(body["type"], "payment.settled");
    EXPECT_EQ(body["data"]["payment_id"], kPayment);
    EXPECT_EQ(body["data"]["object"]["amount_cents"], 1500);
    EXPECT_EQ(body["id"], sent.Header("SagaPay-Event-Id"));
    const auto delivery =
        store_.Delivery(store_.ListDeliveries(std::nullopt, std::nullopt, 1)[0]["delivery_id"]);
    ASSERT_TRUE(delivery);
    EXPECT_EQ((*delivery)["status"], "DELIVERED");
    EXPECT_EQ((*delivery)["last_status_code"], 200);
    ASSERT_EQ((*delivery)["attempts"].size(), 1U);
    EXPECT_EQ((*delivery)["attempts"][0]["response_excerpt"], "answer 200");
}

TEST_F(PgWebhookStoreTest, FailedAttemptsAreRetriedWithBackoffEachLogged) {
    Register({"*"});
    Announce("saga-1", "payments.failed");
    sender_.script = {500, 0};  // an error, then no answer, then 200
    WebhookDispatcher dispatcher = Dispatcher();

    EXPECT_EQ(dispatcher.RunOnce(), 1);  // 500
    EXPECT_EQ(dispatcher.RunOnce(), 1);  // no answer
    EXPECT_EQ(dispatcher.RunOnce(), 1);  // 200
    EXPECT_EQ(dispatcher.RunOnce(), 0);  // delivered

    ASSERT_EQ(sender_.sent.size(), 3U);
    EXPECT_EQ(sender_.sent[0].body, sender_.sent[2].body);  // the same event, byte for byte
    const auto delivery =
        store_.Delivery(store_.ListDeliveries(std::nullopt, std::nullopt, 1)[0]["delivery_id"]);
    EXPECT_EQ((*delivery)["status"], "DELIVERED");
    EXPECT_EQ((*delivery)["attempts"].size(), 3U);
    EXPECT_EQ((*delivery)["attempts"][0]["status_code"], 500);
    EXPECT_TRUE((*delivery)["attempts"][1]["status_code"].is_null());
    EXPECT_EQ((*delivery)["attempts"][1]["error"], "timed out");
    EXPECT_EQ(store_.ListEndpoints()[0]["consecutive_failures"], 0);  // reset by the success
}

TEST_F(PgWebhookStoreTest, AFailedDeliveryWaitsItsBackoffBeforeTheNextAttempt) {
    Register({"*"});
    Announce("saga-1", "payments.failed");
    sender_.script = {500};
    WebhookDispatcher dispatcher = Dispatcher(100, std::chrono::hours(1));

    EXPECT_EQ(dispatcher.RunOnce(), 1);
    EXPECT_EQ(dispatcher.RunOnce(), 0);  // not due for an hour

    const auto due = conn_.Exec(
        "SELECT status, next_attempt_at > now() + interval '59 minutes' FROM webhook_deliveries"
    );
    EXPECT_EQ(due.GetString(0, 0), "PENDING");
    EXPECT_TRUE(due.GetBool(0, 1));
    EXPECT_EQ(sender_.sent.size(), 1U);
}

TEST_F(PgWebhookStoreTest, AnEndpointThatKeepsFailingIsDisabledAndAFailedDeliveryCanBeRedelivered) {
    Register({"*"});
    Announce("saga-1", "payments.failed");
    sender_.script = {503, 503, 503, 503};
    WebhookDispatcher dispatcher = Dispatcher(3);

    for (int attempt = 0; attempt < 3; ++attempt) {
        EXPECT_EQ(dispatcher.RunOnce(), 1);
    }
    EXPECT_EQ(dispatcher.RunOnce(), 0);  // due again at once, but the endpoint is disabled

    ASSERT_EQ(sender_.sent.size(), 3U);
    const auto endpoint = store_.ListEndpoints()[0];
    EXPECT_EQ(endpoint["status"], "DISABLED");
    EXPECT_EQ(endpoint["disabled_reason"], "disabled after 3 consecutive failed attempts");

    ASSERT_TRUE(store_.SetEnabled(endpoint["endpoint_id"], true));
    sender_.script.clear();
    const auto id = store_.ListDeliveries(std::nullopt, std::nullopt, 1)[0]["delivery_id"];
    ASSERT_TRUE(store_.Redeliver(id, std::chrono::seconds(60)));
    EXPECT_EQ(dispatcher.RunOnce(), 1);
    EXPECT_EQ((*store_.Delivery(id))["status"], "DELIVERED");
    EXPECT_FALSE(store_.Redeliver(999'999, std::chrono::seconds(60)));
}

TEST_F(PgWebhookStoreTest, PastTheHorizonADeliveryFails) {
    Register({"*"});
    Envelope event;
    event.event_id = "saga-1";
    event.event_type = "payments.reversed";
    event.aggregate_id = kPayment;
    {
        postgres::Transaction tx(conn_);
        PgWebhookStore::Enqueue(tx, event, "payment.reversed", std::chrono::seconds(0));
        tx.Commit();
    }
    sender_.script = {500};

    EXPECT_EQ(Dispatcher(100, std::chrono::milliseconds(10)).RunOnce(), 1);  // no time left

    const auto delivery = store_.ListDeliveries(std::nullopt, std::nullopt, 1)[0];
    EXPECT_EQ(delivery["status"], "FAILED");
    EXPECT_EQ(delivery["last_error"], "answered 500");
}

TEST_F(PgWebhookStoreTest, DuringASecretRotationDeliveriesCarryBothSignatures) {
    const auto endpoint = Register({"*"});
    const auto rotated =
        store_.RotateSecret(endpoint["endpoint_id"], NewWebhookSecret(), std::chrono::hours(1));
    ASSERT_TRUE(rotated);
    EXPECT_FALSE((*rotated)["previous_secret_expires_at"].is_null());
    Announce("saga-1", "payments.settled");

    Dispatcher().RunOnce();

    ASSERT_EQ(sender_.sent.size(), 1U);
    const std::string header = sender_.sent[0].Header("SagaPay-Signature");
    EXPECT_EQ(ParseSignatureHeader(header)->v1.size(), 2U);
    for (const std::string& secret :
         {endpoint["secret"].get<std::string>(), (*rotated)["secret"].get<std::string>()}) {
        EXPECT_EQ(
            VerifySignature(header, sender_.sent[0].body, secret, Now()), Verification::kValid
        );
    }
    // A rotation without overlap: only the new secret signs.
    ASSERT_TRUE(
        store_.RotateSecret(endpoint["endpoint_id"], NewWebhookSecret(), std::chrono::seconds(0))
    );
    Announce("saga-2", "payments.failed");
    Dispatcher().RunOnce();
    ASSERT_EQ(sender_.sent.size(), 2U);
    EXPECT_EQ(ParseSignatureHeader(sender_.sent[1].Header("SagaPay-Signature"))->v1.size(), 1U);
    EXPECT_FALSE(
        store_.RotateSecret("5a6b7c8d-0000-4000-8000-00000000000f", "s", std::chrono::seconds(1))
    );
}

}  // namespace
}  // namespace sagapay::notification

namespace sagapay::notification {
namespace {

/// The ops API over the real store, through its routes.
class WebhookApiTest : public PgWebhookStoreTest {
protected:
    WebhookApiTest() { api_.AddRoutes(router_); }

    http::Response Call(
        const std::string& method,
        const std::string& target,
        const std::string& body = {},
        const std::string& key = "ops-key"
    ) {
        std::vector<std::pair<std::string, std::string>> headers;
        if (!key.empty()) {
            headers.emplace_back("x-api-key", key);
        }
        http::Request request = testing::RequestFor(method, target, body, std::move(headers));
        return router_.Dispatch(request);
    }

    static nlohmann::json Body(const http::Response& response) {
        return nlohmann::json::parse(response.body);
    }

    WebhookApi api_{store_, "ops-key", std::chrono::seconds(3600)};
    http::Router router_;
};

TEST_F(WebhookApiTest, EndpointsAreRegisteredListedDisabledEnabledAndRotated) {
    const auto created = Call(
        "POST",
        "/ops/webhooks/endpoints",
        R"({"url": "http://127.0.0.1:9/h", "event_types": ["payment.settled"], "merchant_id": "m1"})"
    );
    ASSERT_EQ(created.status, 201) << created.body;
    const auto endpoint = Body(created);
    const std::string id = endpoint["endpoint_id"];
    EXPECT_EQ(endpoint["merchant_id"], "m1");
    EXPECT_EQ(endpoint["status"], "ENABLED");
    EXPECT_EQ(endpoint["secret"].get<std::string>().size(), 70U);

    const auto listed = Body(Call("GET", "/ops/webhooks/endpoints"));
    ASSERT_EQ(listed.size(), 1U);
    EXPECT_FALSE(listed[0].contains("secret"));
    EXPECT_EQ(
        Body(Call("POST", "/ops/webhooks/endpoints/" + id + "/disable"))["status"], "DISABLED"
    );
    EXPECT_EQ(Body(Call("POST", "/ops/webhooks/endpoints/" + id + "/enable"))["status"], "ENABLED");
    const auto rotated = Call(
        "POST", "/ops/webhooks/endpoints/" + id + "/rotate-secret", R"({"overlap_seconds": 60})"
    );
    ASSERT_EQ(rotated.status, 200) << rotated.body;
    EXPECT_NE(Body(rotated)["secret"], endpoint["secret"]);
    EXPECT_EQ(Call("POST", "/ops/webhooks/endpoints/" + id + "/rotate-secret").status, 200);

    const auto refunds = Call(
        "POST",
        "/ops/webhooks/endpoints",
        R"({"url": "http://127.0.0.1:9/r", "event_types": ["payment.refunded", "refund.failed"]})"
    );
    ASSERT_EQ(refunds.status, 201) << refunds.body;
    EXPECT_EQ(
        Body(refunds)["event_types"], nlohmann::json::array({"payment.refunded", "refund.failed"})
    );
}

TEST_F(WebhookApiTest, DeliveriesAreListedShownAndRedelivered) {
    Register({"*"});
    Announce("saga-1", "payments.settled");
    const auto listed = Body(Call("GET", "/ops/webhooks/deliveries?status=PENDING&limit=10"));
    ASSERT_EQ(listed.size(), 1U);
    const std::string id = std::to_string(listed[0]["delivery_id"].get<std::int64_t>());
    EXPECT_EQ(Body(Call("GET", "/ops/webhooks/deliveries/" + id))["attempts"].size(), 0U);
    const auto redelivered = Call("POST", "/ops/webhooks/deliveries/" + id + "/redeliver");
    ASSERT_EQ(redelivered.status, 200);
    EXPECT_EQ(Body(redelivered)["status"], "PENDING");
    EXPECT_TRUE(Body(Call("GET", "/ops/webhooks/deliveries?status=FAILED")).empty());
}

TEST_F(WebhookApiTest, RefusesWhatItCannotUseAndWritesNothing) {
    EXPECT_EQ(Call("GET", "/ops/webhooks/endpoints", {}, "").status, 401);
    EXPECT_EQ(Call("GET", "/ops/webhooks/endpoints", {}, "wrong").status, 401);
    EXPECT_EQ(Call("POST", "/ops/webhooks/endpoints", "nope").status, 400);
    const auto refused =
        Call("POST", "/ops/webhooks/endpoints", R"({"url": "https://x/", "event_types": ["*"]})");
    EXPECT_EQ(refused.status, 422);
    EXPECT_EQ(Body(refused)["error"]["field"], "url");
    EXPECT_TRUE(Body(Call("GET", "/ops/webhooks/endpoints")).empty());
    const std::string unknown = "5a6b7c8d-0000-4000-8000-00000000000f";
    EXPECT_EQ(Call("POST", "/ops/webhooks/endpoints/" + unknown + "/disable").status, 404);
    EXPECT_EQ(Call("POST", "/ops/webhooks/endpoints/not-a-uuid/enable").status, 404);
    EXPECT_EQ(Call("POST", "/ops/webhooks/endpoints/" + unknown + "/rotate-secret").status, 404);
    EXPECT_EQ(
        Call("POST", "/ops/webhooks/endpoints/" + unknown + "/rotate-secret", "[]").status, 400
    );
    EXPECT_EQ(
        Call(
            "POST",
            "/ops/webhooks/endpoints/" + unknown + "/rotate-secret",
            R"({"overlap_seconds": -1})"
        )
            .status,
        422
    );
    EXPECT_EQ(Call("GET", "/ops/webhooks/deliveries?status=LOST").status, 422);
    EXPECT_EQ(Call("GET", "/ops/webhooks/deliveries?limit=0").status, 422);
    EXPECT_EQ(Call("GET", "/ops/webhooks/deliveries?endpoint_id=x").status, 422);
    EXPECT_EQ(Call("GET", "/ops/webhooks/deliveries/0").status, 404);
    EXPECT_EQ(Call("GET", "/ops/webhooks/deliveries/12x").status, 404);
    EXPECT_EQ(Call("POST", "/ops/webhooks/deliveries/999/redeliver").status, 404);
}

}  // namespace
}  // namespace sagapay::notification
