#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sagapay::http {

/// An HTTP request as handlers see it: no Beast types, so handlers compile fast and test alone.
struct Request {
    std::string method;  ///< "GET", "POST", …
    std::string path;    ///< Without the query string, not decoded.
    std::string query;   ///< After '?', raw.
    std::vector<std::pair<std::string, std::string>> headers;  ///< Names in lower case.
    std::string body;
    std::vector<std::string> path_params;  ///< Filled by Router for `{name}` segments, in order.
    /// The matched route pattern ("/payments/{payment_id}"), set by the server for its observer;
    /// empty when no route matched (404, 405, a malformed request).
    std::string route;

    /// The first header named `name` (lower case), or empty.
    [[nodiscard]] std::string_view Header(std::string_view name) const noexcept;
    /// The percent-decoded value of a query parameter.
    [[nodiscard]] std::optional<std::string> QueryParam(std::string_view name) const;
};

/// Percent-decodes a URL component ('+' is a space in queries).
[[nodiscard]] std::string UrlDecode(std::string_view text);

}  // namespace sagapay::http
