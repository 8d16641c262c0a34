#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>

#include <boost/beast/http.hpp>

#include "adapters/http/ascii.hpp"
#include "adapters/http/request.hpp"

namespace sagapay::http::detail {

/// The Request a parsed Beast message becomes (what the server's sessions hand to the Router, and
/// what the HTTP fuzz target checks): method, path and raw query split at the first '?', header
/// names in lower case, the body moved out of `message`.
[[nodiscard]] inline Request ToRequest(
    boost::beast::http::request<boost::beast::http::string_body>& message
) {
    Request request;
    request.method = std::string(message.method_string());
    const std::string_view target = message.target();
    const std::size_t question = target.find('?');
    request.path = std::string(target.substr(0, question));
    if (question != std::string_view::npos) {
        request.query = std::string(target.substr(question + 1));
    }
    for (const auto& field : message) {
        request.headers.emplace_back(ToLower(field.name_string()), std::string(field.value()));
    }
    request.body = std::move(message.body());
    return request;
}

}  // namespace sagapay::http::detail
