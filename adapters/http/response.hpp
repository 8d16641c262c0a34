#pragma once

#include <cstdint>
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
/// ErrorResponse with `retry-after: <seconds>` (at least 1): a 429 or 503 the client should send
/// again, unchanged, after that long.
[[nodiscard]] Response RetryLaterResponse(
    int status,
    std::string_view code,
    std::string_view message,
    std::int64_t retry_after_seconds = 1
);
[[nodiscard]] Response JsonResponse(int status, std::string body);

}  // namespace sagapay::http
