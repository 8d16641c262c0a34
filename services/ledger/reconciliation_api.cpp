#include "services/ledger/reconciliation_api.hpp"

#include <cstdlib>
#include <exception>

#include "runtime/bootstrap.hpp"
#include "runtime/log.hpp"
#include "runtime/wait.hpp"

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

std::map<std::string, std::int64_t> MismatchesOf(const nlohmann::json& report) {
    std::map<std::string, std::int64_t> found = {
        {"imbalanced_transactions", 1}, {"currency_totals", 1}};
    if (const auto count = report.find("imbalanced_count");
        count != report.end() && count->is_number_integer()) {
        found["imbalanced_transactions"] = count->get<std::int64_t>();
    }
    if (const auto totals = report.find("totals_by_currency");
        totals != report.end() && totals->is_object()) {
        std::int64_t off = 0;
        for (const auto& [currency, net] : totals->items()) {
            off += (net.is_number() && net == 0) ? 0 : 1;
        }
        found["currency_totals"] = off;
    }
    return found;
}

void RunSelfCheck(
    std::stop_token stop,
    LedgerReports& reports,
    std::chrono::milliseconds interval,
    const std::function<void(const std::map<std::string, std::int64_t>&)>& publish
) {
    do {
        try {
            publish(MismatchesOf(reports.All(1)));
        } catch (const std::exception& e) {
            log::Warn(
                "reconciliation self-check failed; trying again later", {{"error", e.what()}}
            );
        }
    } while (!WaitFor(stop, interval));
}

}  // namespace sagapay::ledger
