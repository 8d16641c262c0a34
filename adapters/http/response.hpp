#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sagapay::http {

struct Response {
    int status = 200;
    std::string body;
    std::string content_type = "application/json";
    std::vector<std::pair<std::string, std::string>> headers;

    [[nodiscard]] std::string_view Header(std::string_view name) const noexcept;
};

/// `{"error": {"code": code, "message": message, "field": field|null}}` with `status`.
[[nodiscard]] Response ErrorResponse(
    int status, std::string_view code, std::string_view message, std::string_view field = {}
);
[[nodiscard]] Response JsonResponse(int status, std::string body);

}  // namespace sagapay::http
