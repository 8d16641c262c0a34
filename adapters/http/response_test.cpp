#include "adapters/http/response.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace sagapay::http {
namespace {

using ::testing::HasSubstr;

TEST(Response, FindsHeadersWhateverTheirCase) {
    Response response;
    response.headers = {{"Location", "/payments/pay_1"}, {"location", "/second"}};

    EXPECT_EQ(response.Header("location"), "/payments/pay_1");
    EXPECT_EQ(response.Header("LOCATION"), "/payments/pay_1");
    EXPECT_EQ(response.Header("retry-after"), "");
}

TEST(ErrorResponse, WritesCodeMessageAndFieldInThatOrder) {
    const Response response = ErrorResponse(422, "invalid_amount", "amount must be > 0", "amount");

    EXPECT_EQ(response.status, 422);
    EXPECT_EQ(response.content_type, "application/json");
    EXPECT_EQ(
        response.body,
        R"({"error":{"code":"invalid_amount","message":"amount must be > 0","field":"amount"}})"
    );
}

TEST(ErrorResponse, WritesNullFieldWhenNoneIsGiven) {
    const Response response = ErrorResponse(409, "conflict", "say \"no\"");

    EXPECT_EQ(
        response.body, R"({"error":{"code":"conflict","message":"say \"no\"","field":null}})"
    );
}

TEST(ErrorResponse, ReplacesInvalidUtf8InsteadOfThrowing) {
    const Response response = ErrorResponse(400, "bad_request", "no such id: \xff\xfe");

    EXPECT_EQ(response.status, 400);
    EXPECT_THAT(response.body, HasSubstr("no such id: \xEF\xBF\xBD"));  // U+FFFD
}

TEST(JsonResponse, KeepsStatusAndBody) {
    const Response response = JsonResponse(202, R"({"ok":true})");

    EXPECT_EQ(response.status, 202);
    EXPECT_EQ(response.body, R"({"ok":true})");
    EXPECT_EQ(response.content_type, "application/json");
}

TEST(RetryLaterResponse, IsAnErrorWithRetryAfterOfAtLeastOneSecond) {
    const Response later = RetryLaterResponse(503, "overloaded", "too many", 3);
    EXPECT_EQ(later.status, 503);
    EXPECT_EQ(later.Header("retry-after"), "3");
    EXPECT_EQ(later.body, ErrorResponse(503, "overloaded", "too many").body);
    EXPECT_EQ(RetryLaterResponse(429, "rate_limited", "slow down", 0).Header("retry-after"), "1");
}

}  // namespace
}  // namespace sagapay::http
