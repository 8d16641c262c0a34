#include "adapters/http/response.hpp"

#include <algorithm>
#include <utility>

#include <nlohmann/json.hpp>

#include "adapters/http/ascii.hpp"

namespace sagapay::http {

std::string_view Response::Header(std::string_view name) const noexcept {
    return detail::FindHeader(headers, name);
}

Response ErrorResponse(
    int status, std::string_view code, std::string_view message, std::string_view field
) {
    // ordered_json keeps the documented key order: code, message, field.
    nlohmann::ordered_json error;
    error["code"] = std::string(code);
    error["message"] = std::string(message);
    if (field.empty()) {
        error["field"] = nullptr;
    } else {
        error["field"] = std::string(field);
    }
    nlohmann::ordered_json body;
    body["error"] = std::move(error);
    // Replace invalid UTF-8 (e.g. echoed client input) instead of throwing.
    return JsonResponse(
        status, body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)
    );
}

Response RetryLaterResponse(
    int status, std::string_view code, std::string_view message, std::int64_t retry_after_seconds
) {
    Response response = ErrorResponse(status, code, message);
    response.headers.emplace_back(
        "retry-after", std::to_string(std::max<std::int64_t>(1, retry_after_seconds))
    );
    return response;
}

Response JsonResponse(int status, std::string body) {
    Response response;
    response.status = status;
    response.body = std::move(body);
    response.content_type = "application/json";
    return response;
}

}  // namespace sagapay::http
