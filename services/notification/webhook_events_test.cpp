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
