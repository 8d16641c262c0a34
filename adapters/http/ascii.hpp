#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sagapay::http::detail {

/// ASCII case folding for HTTP header names and schemes, shared by the .cpp files of adapters/http
/// (not for use outside it). Locale-independent, unlike std::tolower.

[[nodiscard]] constexpr char ToLowerAscii(char c) noexcept {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

[[nodiscard]] inline std::string ToLower(std::string_view text) {
    std::string out(text);
    for (char& c : out) {
        c = ToLowerAscii(c);
    }
    return out;
}

[[nodiscard]] constexpr bool EqualsIgnoreCase(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) {
        return false;
    }
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (ToLowerAscii(a[i]) != ToLowerAscii(b[i])) {
            return false;
        }
    }
    return true;
}

/// The value of the first header named `name` in any case, or empty.
[[nodiscard]] inline std::string_view FindHeader(
    const std::vector<std::pair<std::string, std::string>>& headers, std::string_view name
) noexcept {
    for (const auto& [key, value] : headers) {
        if (EqualsIgnoreCase(key, name)) {
            return value;
        }
    }
    return {};
}

}  // namespace sagapay::http::detail
