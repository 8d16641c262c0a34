#include "app/console/requests.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace sagapay::console {
namespace {

http::Request Query(std::string query) {
    http::Request request;
    request.method = "GET";
    request.path = "/api/reviews";
    request.query = std::move(query);
    return request;
}

template <typename T>
FieldError ErrorOf(const Parsed<T>& parsed) {
    const auto* error = std::get_if<FieldError>(&parsed);
    return error != nullptr ? *error : FieldError{"(none)", "(parsed)"};
}

TEST(ReviewFilter, DefaultsToPendingNewestFirstFiftyPerPage) {
    const auto parsed = ParseReviewFilter(Query(""));
    ASSERT_TRUE(std::holds_alternative<ReviewFilter>(parsed));
    const auto& filter = std::get<ReviewFilter>(parsed);
    EXPECT_EQ(filter.status, "PENDING");
    EXPECT_FALSE(filter.by_amount);
    EXPECT_TRUE(filter.descending);
    EXPECT_EQ(filter.page.limit, 50);
    EXPECT_EQ(filter.page.offset, 0);
    EXPECT_FALSE(filter.reason || filter.currency || filter.customer || filter.min_amount);
}

TEST(ReviewFilter, ReadsEveryFilterAndTreatsEmptyFieldsAsAbsent) {
    const auto parsed = ParseReviewFilter(
        Query("status=denied&reason=high_amount&currency=usd&customer=cust%201&min_amount=100&"
              "max_amount=&min_age_seconds=60&sort=amount&order=asc&limit=10&offset=20")
    );
    ASSERT_TRUE(std::holds_alternative<ReviewFilter>(parsed)) << ErrorOf(parsed).message;
    const auto& filter = std::get<ReviewFilter>(parsed);
    EXPECT_EQ(filter.status, "DENIED");
    EXPECT_EQ(filter.reason, "high_amount");
    EXPECT_EQ(filter.currency, "USD");
    EXPECT_EQ(filter.customer, "cust 1");
    EXPECT_EQ(filter.min_amount, 100);
    EXPECT_FALSE(filter.max_amount);
    EXPECT_EQ(filter.min_age_seconds, 60);
    EXPECT_TRUE(filter.by_amount);
    EXPECT_FALSE(filter.descending);
    EXPECT_EQ(filter.page.limit, 10);
    EXPECT_EQ(filter.page.offset, 20);
}

TEST(ReviewFilter, RefusesWhatItCannotUseNamingTheField) {
    EXPECT_EQ(ErrorOf(ParseReviewFilter(Query("status=LOST"))).field, "status");
    EXPECT_EQ(ErrorOf(ParseReviewFilter(Query("currency=US"))).field, "currency");
    EXPECT_EQ(ErrorOf(ParseReviewFilter(Query("currency=U1D"))).field, "currency");
    EXPECT_EQ(ErrorOf(ParseReviewFilter(Query("min_amount=-1"))).field, "min_amount");
    EXPECT_EQ(ErrorOf(ParseReviewFilter(Query("min_amount=1e3"))).field, "min_amount");
    EXPECT_EQ(
        ErrorOf(ParseReviewFilter(Query("min_amount=500&max_amount=100"))).field, "max_amount"
    );
    EXPECT_EQ(ErrorOf(ParseReviewFilter(Query("sort=customer_id"))).field, "sort");
    EXPECT_EQ(ErrorOf(ParseReviewFilter(Query("order=up"))).field, "order");
    EXPECT_EQ(ErrorOf(ParseReviewFilter(Query("limit=0"))).field, "limit");
    EXPECT_EQ(ErrorOf(ParseReviewFilter(Query("limit=201"))).field, "limit");
    EXPECT_EQ(ErrorOf(ParseReviewFilter(Query("offset=-5"))).field, "offset");
    EXPECT_EQ(ErrorOf(ParseReviewFilter(Query("customer=a%00b"))).field, "customer");
    EXPECT_EQ(ErrorOf(ParseReviewFilter(Query("reason=" + std::string(129, 'x')))).field, "reason");
}

TEST(PaymentFilter, ReadsIdsStatusAndTimesAsUtc) {
    const auto parsed = ParsePaymentFilter(
        Query("payment_id=0b6f1a6e-3c1f-4c55-9d0e-3f1d2a4b5c6d&customer=c1&idempotency_key=k1&"
              "status=settled&from=2026-12-02T10:00&to=2026-12-02T11:30:15Z")
    );
    ASSERT_TRUE(std::holds_alternative<PaymentFilter>(parsed)) << ErrorOf(parsed).message;
    const auto& filter = std::get<PaymentFilter>(parsed);
    EXPECT_EQ(filter.payment_id, "0b6f1a6e-3c1f-4c55-9d0e-3f1d2a4b5c6d");
    EXPECT_EQ(filter.status, "SETTLED");
    EXPECT_EQ(filter.from, "2026-12-02T10:00:00.000000+00:00");
    EXPECT_EQ(filter.to, "2026-12-02T11:30:15.000000+00:00");
}

TEST(PaymentFilter, RefusesABadIdStatusOrTime) {
    EXPECT_EQ(ErrorOf(ParsePaymentFilter(Query("payment_id=42"))).field, "payment_id");
    EXPECT_EQ(ErrorOf(ParsePaymentFilter(Query("status=PAID"))).field, "status");
    EXPECT_EQ(ErrorOf(ParsePaymentFilter(Query("from=yesterday"))).field, "from");
    EXPECT_EQ(ErrorOf(ParsePaymentFilter(Query("to=2026-13-40T99:00"))).field, "to");
}

TEST(Login, NeedsAnOperatorNameAndAKey) {
    const auto ok = ParseLogin(R"({"operator": "Zoë", "ops_key": "k"})");
    ASSERT_TRUE(std::holds_alternative<Credentials>(ok));
    EXPECT_EQ(std::get<Credentials>(ok).operator_name, "Zoë");
    EXPECT_EQ(ErrorOf(ParseLogin("[]")).field, "body");
    EXPECT_EQ(ErrorOf(ParseLogin("{")).field, "body");
    EXPECT_EQ(ErrorOf(ParseLogin(R"({"operator": "", "ops_key": "k"})")).field, "operator");
    EXPECT_EQ(
        ErrorOf(ParseLogin(R"({"operator": ")" + std::string(65, 'a') + R"(", "ops_key": "k"})"))
            .field,
        "operator"
    );
    EXPECT_EQ(ErrorOf(ParseLogin(R"({"operator": "a", "ops_key": 1})")).field, "ops_key");
}

TEST(Decision, TakesOneToAHundredDistinctIdsAndANote) {
    const std::string id = "0b6f1a6e-3c1f-4c55-9d0e-3f1d2a4b5c6d";
    const auto ok = ParseDecision(
        R"({"decision": "deny", "note": "stolen card", "payment_ids": [")" + id + R"(", ")" + id +
        R"("]})"
    );
    ASSERT_TRUE(std::holds_alternative<Decision>(ok)) << ErrorOf(ok).message;
    EXPECT_FALSE(std::get<Decision>(ok).approve);
    EXPECT_EQ(std::get<Decision>(ok).note, "stolen card");
    EXPECT_EQ(std::get<Decision>(ok).payment_ids, std::vector<std::string>{id});

    EXPECT_EQ(
        ErrorOf(ParseDecision(R"({"decision": "maybe", "payment_ids": []})")).field, "decision"
    );
    EXPECT_EQ(
        ErrorOf(ParseDecision(R"({"decision": "approve", "payment_ids": []})")).field, "payment_ids"
    );
    EXPECT_EQ(
        ErrorOf(ParseDecision(R"({"decision": "approve", "payment_ids": ["x"]})")).field,
        "payment_ids"
    );
    EXPECT_EQ(
        ErrorOf(
            ParseDecision(R"({"decision": "approve", "note": 5, "payment_ids": [")" + id + R"("]})")
        )
            .field,
        "note"
    );
    nlohmann::json many = {{"decision", "approve"}, {"payment_ids", nlohmann::json::array()}};
    for (int i = 0; i < 101; ++i) {
        many["payment_ids"].push_back(id);
    }
    EXPECT_EQ(ErrorOf(ParseDecision(many.dump())).field, "payment_ids");
}

TEST(Replay, NeedsAKnownTopicAndAnEventId) {
    const auto ok = ParseReplay(R"({"topic": "deadletter", "event_id": "e-1"})");
    ASSERT_TRUE(std::holds_alternative<ReplayRequest>(ok));
    EXPECT_EQ(std::get<ReplayRequest>(ok).topic, "deadletter");
    EXPECT_EQ(ErrorOf(ParseReplay(R"({"topic": "payments", "event_id": "e"})")).field, "topic");
    EXPECT_EQ(ErrorOf(ParseReplay(R"({"topic": "deadletter"})")).field, "event_id");
    EXPECT_EQ(std::get<std::string>(ParseDlqTopic(std::nullopt)), "payments.dlq");
}

}  // namespace
}  // namespace sagapay::console
