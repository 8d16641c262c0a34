#include "adapters/http/router.hpp"

#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "adapters/http/request.hpp"
#include "adapters/http/response.hpp"

namespace sagapay::http {
namespace {

Request MakeRequest(std::string method, std::string path, std::string query = {}) {
    Request request;
    request.method = std::move(method);
    request.path = std::move(path);
    request.query = std::move(query);
    return request;
}

/// A handler that answers with its own name, so tests see which route won.
Handler Named(std::string name) {
    return [name = std::move(name)](Request&) { return JsonResponse(200, name); };
}

nlohmann::json ErrorOf(const Response& response) {
    return nlohmann::json::parse(response.body).at("error");
}

TEST(Router, DispatchesToTheRouteMatchingMethodAndPath) {
    Router router;
    router.Add("GET", "/payments", Named("list"));
    router.Add("POST", "/payments", Named("create"));
    router.Add("GET", "/health", Named("health"));

    Request get = MakeRequest("GET", "/payments");
    Request post = MakeRequest("POST", "/payments");
    Request health = MakeRequest("GET", "/health");

    EXPECT_EQ(router.Dispatch(get).body, "list");
    EXPECT_EQ(router.Dispatch(post).body, "create");
    EXPECT_EQ(router.Dispatch(health).body, "health");
}

TEST(Router, FillsPathParamsInOrder) {
    Router router;
    std::vector<std::string> seen;
    router.Add("POST", "/ops/{kind}/{payment_id}/approve", [&seen](Request& request) {
        seen = request.path_params;
        return JsonResponse(200, "{}");
    });

    Request request = MakeRequest("POST", "/ops/reviews/pay_42/approve");
    const Response response = router.Dispatch(request);

    EXPECT_EQ(response.status, 200);
    EXPECT_EQ(seen, (std::vector<std::string>{"reviews", "pay_42"}));
}

TEST(Router, DecodesPercentEscapesInPathParams) {
    Router router;
    std::vector<std::string> seen;
    router.Add("GET", "/reconciliation/{transaction_id}", [&seen](Request& request) {
        seen = request.path_params;
        return JsonResponse(200, "{}");
    });

    Request request = MakeRequest("GET", "/reconciliation/settlement%3Apay%2F1");
    EXPECT_EQ(router.Dispatch(request).status, 200);
    EXPECT_EQ(seen, (std::vector<std::string>{"settlement:pay/1"}));
}

TEST(Router, RefusesABrokenEscapeOrAControlCharacterInAPathParam) {
    Router router;
    int calls = 0;
    router.Add("GET", "/reconciliation/{transaction_id}", [&calls](Request&) {
        ++calls;
        return JsonResponse(200, "{}");
    });

    for (const char* path :
         {"/reconciliation/settlement%3",
          "/reconciliation/a%zz",
          "/reconciliation/a%00b",
          "/reconciliation/%0A",
          "/reconciliation/%7F"}) {
        Request request = MakeRequest("GET", path);
        const Response response = router.Dispatch(request);
        EXPECT_EQ(response.status, 400) << path;
        EXPECT_NE(response.body.find("\"malformed_path\""), std::string::npos) << response.body;
        EXPECT_NE(response.body.find("\"transaction_id\""), std::string::npos) << response.body;
    }
    EXPECT_EQ(calls, 0);
}

TEST(Router, PrefersLiteralSegmentsOverParams) {
    Router router;
    router.Add("GET", "/payments/{id}", Named("by-id"));
    router.Add("GET", "/payments/search", Named("search"));

    Request search = MakeRequest("GET", "/payments/search");
    Request by_id = MakeRequest("GET", "/payments/pay_1");

    EXPECT_EQ(router.Dispatch(search).body, "search");
    EXPECT_EQ(router.Dispatch(by_id).body, "by-id");
    EXPECT_EQ(by_id.path_params, (std::vector<std::string>{"pay_1"}));
}

TEST(Router, ReturnsNotFoundForUnknownPath) {
    Router router;
    router.Add("GET", "/payments/{id}", Named("by-id"));

    Request request = MakeRequest("GET", "/refunds/1");
    const Response response = router.Dispatch(request);

    EXPECT_EQ(response.status, 404);
    EXPECT_EQ(response.content_type, "application/json");
    EXPECT_EQ(ErrorOf(response).at("code"), "not_found");
}

TEST(Router, DoesNotMatchAnEmptySegmentAgainstAParam) {
    Router router;
    router.Add("GET", "/payments/{id}", Named("by-id"));

    Request trailing_slash = MakeRequest("GET", "/payments/");
    Request bare = MakeRequest("GET", "/payments");
    Request empty_middle = MakeRequest("GET", "/payments//");

    EXPECT_EQ(router.Dispatch(trailing_slash).status, 404);
    EXPECT_EQ(router.Dispatch(bare).status, 404);
    EXPECT_EQ(router.Dispatch(empty_middle).status, 404);
}

TEST(Router, MatchesTheRootPath) {
    Router router;
    router.Add("GET", "/", Named("root"));

    Request root = MakeRequest("GET", "/");
    Request other = MakeRequest("GET", "/x");

    EXPECT_EQ(router.Dispatch(root).body, "root");
    EXPECT_EQ(router.Dispatch(other).status, 404);
}

TEST(Router, ReturnsMethodNotAllowedForKnownPathWithOtherMethod) {
    Router router;
    router.Add("GET", "/payments/{id}", Named("get"));
    router.Add("DELETE", "/payments/{id}", Named("delete"));
    router.Add("POST", "/payments", Named("create"));

    Request request = MakeRequest("PUT", "/payments/pay_1");
    const Response response = router.Dispatch(request);

    EXPECT_EQ(response.status, 405);
    EXPECT_EQ(ErrorOf(response).at("code"), "method_not_allowed");
    EXPECT_EQ(response.Header("Allow"), "GET, DELETE");
    EXPECT_EQ(response.Header("allow"), "GET, DELETE");
}

TEST(Router, TurnsAThrowingHandlerIntoAGenericInternalError) {
    Router router;
    router.Add("GET", "/boom", [](Request&) -> Response {
        throw std::runtime_error("password=hunter2 in connection string");
    });
    router.Add("GET", "/weird", [](Request&) -> Response { throw 42; });

    Request boom = MakeRequest("GET", "/boom");
    Request weird = MakeRequest("GET", "/weird");
    const Response response = router.Dispatch(boom);

    EXPECT_EQ(response.status, 500);
    EXPECT_EQ(ErrorOf(response).at("code"), "internal");
    EXPECT_EQ(response.body.find("hunter2"), std::string::npos);
    EXPECT_EQ(router.Dispatch(weird).status, 500);
}

TEST(Router, PassesTheHandlerStatusBodyAndHeadersThrough) {
    Router router;
    router.Add("POST", "/payments", [](Request& request) {
        Response response = JsonResponse(201, request.body);
        response.headers.emplace_back("Location", "/payments/pay_9");
        return response;
    });

    Request request = MakeRequest("POST", "/payments");
    request.body = R"({"amount":100})";
    const Response response = router.Dispatch(request);

    EXPECT_EQ(response.status, 201);
    EXPECT_EQ(response.body, R"({"amount":100})");
    EXPECT_EQ(response.Header("location"), "/payments/pay_9");
}

TEST(Router, AnInterceptorWrapsTheGuardAndHandlerOfMatchedRoutesOnly) {
    Router router;
    router.Add("GET", "/payments/{id}", Named("get"));
    router.Add("GET", "/boom", [](Request&) -> Response { throw std::runtime_error("x"); });
    router.SetGuard([](const Request& request, std::string_view) -> std::optional<Response> {
        if (request.Header("x-api-key") != "k") {
            return ErrorResponse(401, "unauthorized", "no key");
        }
        return std::nullopt;
    });
    std::vector<std::string> seen;
    router.SetInterceptor([&](Request& request, std::string_view route, const auto& next) {
        Response response = next(request);
        seen.push_back(std::string(route) + " " + std::to_string(response.status));
        response.headers.emplace_back("traceparent", "tp");
        return response;
    });

    Request with_key = MakeRequest("GET", "/payments/p1");
    with_key.headers.emplace_back("x-api-key", "k");
    Request without_key = MakeRequest("GET", "/payments/p1");
    Request boom = MakeRequest("GET", "/boom");
    boom.headers.emplace_back("x-api-key", "k");
    Request unknown = MakeRequest("GET", "/nowhere");

    EXPECT_EQ(router.Dispatch(with_key).Header("traceparent"), "tp");
    EXPECT_EQ(router.Dispatch(without_key).status, 401);
    EXPECT_EQ(router.Dispatch(boom).status, 500);
    EXPECT_EQ(router.Dispatch(unknown).status, 404);
    EXPECT_EQ(
        seen, (std::vector<std::string>{"/payments/{id} 200", "/payments/{id} 401", "/boom 500"})
    );
}

}  // namespace
}  // namespace sagapay::http
