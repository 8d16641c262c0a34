#include "services/notification/webhook_events.hpp"

#include <gtest/gtest.h>

namespace sagapay::notification {
namespace {

Envelope Event(std::string type, nlohmann::json payload = nlohmann::json::object()) {
    Envelope event;
    event.event_id = "e-1";
    event.event_type = std::move(type);
    event.aggregate_id = "0b6f1a6e-3c1f-4c55-9d0e-3f1d2a4b5c6d";
    event.payload = std::move(payload);
    return event;
}

TEST(WebhookType, NamesTheMerchantsEventOfEachSagaEvent) {
    EXPECT_EQ(WebhookTypeOf(Event("payments.authorized")), "payment.authorized");
    EXPECT_EQ(WebhookTypeOf(Event("payments.settled")), "payment.settled");
    EXPECT_EQ(WebhookTypeOf(Event("payments.failed")), "payment.failed");
    EXPECT_EQ(WebhookTypeOf(Event("payments.reversed")), "payment.reversed");
    EXPECT_EQ(WebhookTypeOf(Event("risk.denied", {{"decision", "REVIEW"}})), "review.required");
    EXPECT_EQ(WebhookTypeOf(Event("payments.refunded")), "payment.refunded");
    EXPECT_EQ(WebhookTypeOf(Event("refunds.failed")), "refund.failed");
    EXPECT_FALSE(WebhookTypeOf(Event("provider.refund.requested")));
    EXPECT_FALSE(WebhookTypeOf(Event("provider.refund.completed")));
    EXPECT_FALSE(WebhookTypeOf(Event("risk.denied", {{"decision", "DENY"}})));
    EXPECT_FALSE(WebhookTypeOf(Event("risk.approved")));
    EXPECT_FALSE(WebhookTypeOf(Event("payments.requested")));
}

TEST(WebhookBody, CarriesIdTypeTimeSequenceAndTheSagaEventsPayloadInAStableOrder) {
    const std::string body = WebhookBody(
        "evt-1",
        "payment.settled",
        1700000000,
        3,
        Event("payments.settled", {{"amount_cents", 1500}})
    );
    EXPECT_EQ(
        body,
        R"({"created":1700000000,"data":{"object":{"amount_cents":1500},)"
        R"("payment_id":"0b6f1a6e-3c1f-4c55-9d0e-3f1d2a4b5c6d"},"id":"evt-1","sequence":3,)"
        R"("type":"payment.settled"})"
    );
}

TEST(WebhookBody, APaymentRefundedCarriesThePaymentsStatusAfterTheRefund) {
    const nlohmann::json refunded = {
        {"refund_id", "8b9c0d1e-0000-4000-8000-000000000001"},
        {"amount_cents", 300},
        {"currency", "EUR"},
        {"refunded_total_cents", 300},
        {"captured_cents", 1000},
        {"customer_id", "c"},
        {"reason", "requested_by_customer"},
    };
    const std::string body = WebhookBody(
        "evt-2", "payment.refunded", 1700000000, 4, Event("payments.refunded", refunded)
    );
    EXPECT_EQ(
        body,
        R"({"created":1700000000,"data":{"object":{"amount_cents":300,"captured_cents":1000,)"
        R"("currency":"EUR","customer_id":"c","reason":"requested_by_customer",)"
        R"("refund_id":"8b9c0d1e-0000-4000-8000-000000000001","refunded_total_cents":300,)"
        R"("status":"PARTIALLY_REFUNDED"},"payment_id":"0b6f1a6e-3c1f-4c55-9d0e-3f1d2a4b5c6d"},)"
        R"("id":"evt-2","sequence":4,"type":"payment.refunded"})"
    );
    nlohmann::json full = refunded;
    full["refunded_total_cents"] = 1000;
    EXPECT_EQ(
        WebhookObject("payment.refunded", Event("payments.refunded", full))["status"], "REFUNDED"
    );
    // Other types carry the payload as it is.
    const nlohmann::json failed = {
        {"refund_id", "8b9c0d1e-0000-4000-8000-000000000002"},
        {"amount_cents", 300},
        {"currency", "EUR"},
        {"customer_id", "c"},
        {"reason", "psp_refused"},
    };
    EXPECT_EQ(WebhookObject("refund.failed", Event("refunds.failed", failed)), failed);
}

TEST(WebhookSequence, NumbersInCommitOrderButKeepsTheAuthorizationBeforeTheSettlement) {
    using A = std::vector<Announced>;
    EXPECT_EQ(WebhookSequence("payment.authorized", A{}), 1);
    EXPECT_EQ(WebhookSequence("review.required", A{}), 1);
    EXPECT_EQ(WebhookSequence("payment.failed", A{{1, "review.required"}}), 2);
    // In order: one after another.
    EXPECT_EQ(WebhookSequence("payment.settled", A{{1, "payment.authorized"}}), 2);
    EXPECT_EQ(
        WebhookSequence("payment.refunded", A{{1, "payment.authorized"}, {2, "payment.settled"}}), 3
    );
    // The settlement first: a place is kept, and the authorization takes it.
    EXPECT_EQ(WebhookSequence("payment.settled", A{}), 2);
    EXPECT_EQ(WebhookSequence("payment.authorized", A{{2, "payment.settled"}}), 1);
    EXPECT_EQ(WebhookSequence("payment.settled", A{{1, "review.required"}}), 3);
    EXPECT_EQ(
        WebhookSequence("payment.authorized", A{{1, "review.required"}, {3, "payment.settled"}}), 2
    );
    // Refunds after a settlement whose authorization has not come: after the highest.
    EXPECT_EQ(WebhookSequence("payment.refunded", A{{2, "payment.settled"}}), 3);
    // A second authorization (the provider's answer to a repeated request) goes last.
    EXPECT_EQ(
        WebhookSequence("payment.authorized", A{{1, "payment.authorized"}, {2, "payment.settled"}}),
        3
    );
    // A kept place someone took meanwhile is not reused.
    EXPECT_EQ(
        WebhookSequence("payment.authorized", A{{1, "payment.refunded"}, {2, "payment.settled"}}), 3
    );
}

TEST(RetryDelay, DoublesFromTheBaseUpToAnHour) {
    const std::chrono::milliseconds base(30'000);
    EXPECT_EQ(RetryDelay(1, base), std::chrono::seconds(30));
    EXPECT_EQ(RetryDelay(2, base), std::chrono::seconds(60));
    EXPECT_EQ(RetryDelay(5, base), std::chrono::seconds(480));
    EXPECT_EQ(RetryDelay(8, base), std::chrono::hours(1));
    EXPECT_EQ(RetryDelay(1000, base), std::chrono::hours(1));
}

TEST(EndpointRequest, TakesAnHttpUrlKnownEventTypesAndAMerchant) {
    const auto parsed = ParseEndpointRequest(
        R"({"url": "http://127.0.0.1:9000/hooks?x=1", "event_types": ["payment.settled",)"
        R"( "payment.settled", "review.required"], "merchant_id": "shop-1"})"
    );
    ASSERT_TRUE(std::holds_alternative<EndpointRequest>(parsed));
    const auto& request = std::get<EndpointRequest>(parsed);
    EXPECT_EQ(request.url, "http://127.0.0.1:9000/hooks?x=1");
    EXPECT_EQ(
        request.event_types, (std::vector<std::string>{"payment.settled", "review.required"})
    );
    EXPECT_EQ(request.merchant_id, "shop-1");
    const auto refunds = ParseEndpointRequest(
        R"({"url": "http://h/r", "event_types": ["payment.refunded", "refund.failed"]})"
    );
    ASSERT_TRUE(std::holds_alternative<EndpointRequest>(refunds));
    EXPECT_EQ(
        std::get<EndpointRequest>(refunds).event_types,
        (std::vector<std::string>{"payment.refunded", "refund.failed"})
    );
    const auto all = ParseEndpointRequest(R"({"url": "http://h", "event_types": ["*"]})");
    ASSERT_TRUE(std::holds_alternative<EndpointRequest>(all));
    EXPECT_EQ(std::get<EndpointRequest>(all).merchant_id, "default");
}

TEST(EndpointRequest, RefusesWhatCannotBeDeliveredNamingTheField) {
    const auto field = [](std::string_view body) {
        const auto parsed = ParseEndpointRequest(body);
        const auto* error = std::get_if<RequestError>(&parsed);
        return error != nullptr ? error->field : std::string("(accepted)");
    };
    EXPECT_EQ(field("[]"), "body");
    EXPECT_EQ(field(R"({"url": "https://h/x", "event_types": ["*"]})"), "url");
    EXPECT_EQ(field(R"({"url": "http://", "event_types": ["*"]})"), "url");
    EXPECT_EQ(field(R"({"url": "http://u:p@h/", "event_types": ["*"]})"), "url");
    EXPECT_EQ(field(R"({"url": "http://h:99999/", "event_types": ["*"]})"), "url");
    EXPECT_EQ(field(R"({"url": "http://h/a b", "event_types": ["*"]})"), "url");
    EXPECT_EQ(field(R"({"url": "http://h/", "event_types": []})"), "event_types");
    EXPECT_EQ(field(R"({"url": "http://h/", "event_types": ["payment.lost"]})"), "event_types");
    EXPECT_EQ(field(R"({"url": "http://h/", "event_types": ["refund.succeeded"]})"), "event_types");
    EXPECT_EQ(
        field(R"({"url": "http://h/", "event_types": ["*"], "merchant_id": ""})"), "merchant_id"
    );
}

TEST(HttpUrl, SplitsIntoOriginAndTarget) {
    const auto parts = SplitHttpUrl("http://127.0.0.1:9000/a/b?c=d#frag");
    ASSERT_TRUE(parts);
    EXPECT_EQ(parts->origin, "http://127.0.0.1:9000");
    EXPECT_EQ(parts->target, "/a/b?c=d");
    EXPECT_EQ(SplitHttpUrl("http://example.com")->target, "/");
    EXPECT_EQ(SplitHttpUrl("http://example.com?x=1")->target, "/?x=1");
    EXPECT_FALSE(SplitHttpUrl("ftp://example.com/"));
}

TEST(WebhookSecret, IsWhsecAnd64HexCharacters) {
    const std::string secret = NewWebhookSecret();
    EXPECT_EQ(secret.rfind("whsec_", 0), 0U);
    EXPECT_EQ(secret.size(), 70U);
    EXPECT_NE(secret, NewWebhookSecret());
}

}  // namespace
}  // namespace sagapay::notification
