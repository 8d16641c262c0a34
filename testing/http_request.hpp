#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "adapters/http/request.hpp"

namespace sagapay::testing {

/// The Request a route sees for `method` on `target` ("/path?query": split at the first '?', as
/// the server does), with `body` and `headers` (names in lower case): for tests that call a
/// Router directly.
[[nodiscard]] inline http::Request RequestFor(
    std::string method,
    std::string_view target,
    std::string body = {},
    std::vector<std::pair<std::string, std::string>> headers = {}
) {
    http::Request request;
    request.method = std::move(method);
    const std::size_t question = target.find('?');
    request.path = std::string(target.substr(0, question));
    if (question != std::string_view::npos) {
        request.query = std::string(target.substr(question + 1));
    }
    request.body = std::move(body);
    request.headers = std::move(headers);
    return request;
}

}  // namespace sagapay::testing
