#include "adapters/http/request.hpp"

#include <optional>

#include <gtest/gtest.h>

namespace sagapay::http {
namespace {

TEST(Request, DecodesQueryParams) {
    Request request;
    request.method = "GET";
    request.path = "/search";
    request.query = "q=caf%C3%A9+au+lait&empty=&flag&limit=10&a%20b=c%26d&bad=100%zz%4";

    EXPECT_EQ(request.QueryParam("q"), "café au lait");
    EXPECT_EQ(request.QueryParam("empty"), "");
    EXPECT_EQ(request.QueryParam("flag"), "");
    EXPECT_EQ(request.QueryParam("limit"), "10");
    EXPECT_EQ(request.QueryParam("a b"), "c&d");
    EXPECT_EQ(request.QueryParam("bad"), "100%zz%4");
    EXPECT_EQ(request.QueryParam("missing"), std::nullopt);
}

TEST(Request, ReturnsTheFirstQueryParamWithTheNameAndSkipsEmptyPairs) {
    Request request;
    request.query = "&&limit=5&limit=6&";

    EXPECT_EQ(request.QueryParam("limit"), "5");
    EXPECT_EQ(request.QueryParam(""), std::nullopt);
}

TEST(Request, ReturnsTheFirstHeaderWithTheName) {
    Request request;
    request.headers = {{"x-trace", "a"}, {"idempotency-key", "k1"}, {"x-trace", "b"}};

    EXPECT_EQ(request.Header("x-trace"), "a");
    EXPECT_EQ(request.Header("Idempotency-Key"), "k1");
    EXPECT_EQ(request.Header("absent"), "");
}

TEST(UrlDecode, DecodesPercentEscapesAndPlus) {
    EXPECT_EQ(UrlDecode("a%2Fb+c%3d"), "a/b c=");
    EXPECT_EQ(UrlDecode("%"), "%");
    EXPECT_EQ(UrlDecode("%4"), "%4");
    EXPECT_EQ(UrlDecode(""), "");
}

}  // namespace
}  // namespace sagapay::http
