#include "services/ledger/reconciliation_api.hpp"

#include <cstdlib>

#include "runtime/bootstrap.hpp"

namespace sagapay::ledger {

namespace {

constexpr std::int64_t kDefaultLimit = 1000;
constexpr std::int64_t kMaxLimit = 1'000'000;

http::Response Unauthorized() {
    return http::ErrorResponse(401, "unauthorized", "invalid API key");
}

}  // namespace

void ReconciliationApi::AddRoutes(http::Router& router) {
    router.Add("GET", "/reconciliation", WithDatabaseErrors([this](http::Request& r) {
                   return All(r);
               }));
    router.Add(
        "GET", "/reconciliation/{transaction_id}", WithDatabaseErrors([this](http::Request& r) {
            return One(r);
        })
    );
}

http::Response ReconciliationApi::All(http::Request& request) {
    if (!ApiKeyMatches(request, ops_api_key_)) {
        return Unauthorized();
    }
    std::int64_t limit = kDefaultLimit;
    if (const auto text = request.QueryParam("limit")) {
        // As the seed parsed it: strtoll over the whole text (leading blanks allowed).
        char* end = nullptr;
        limit = std::strtoll(text->c_str(), &end, 10);
        if (text->empty() || end == nullptr || *end != '\0' || limit < 1 || limit > kMaxLimit) {
            return http::ErrorResponse(
                422, "validation_error", "limit must be from 1 to 1000000", "limit"
            );
        }
    }
    return http::JsonResponse(200, reports_.All(limit).dump());
}

http::Response ReconciliationApi::One(http::Request& request) {
    if (!ApiKeyMatches(request, ops_api_key_)) {
        return Unauthorized();
    }
    return http::JsonResponse(200, reports_.Transaction(request.path_params.at(0)).dump());
}

}  // namespace sagapay::ledger
