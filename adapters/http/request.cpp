#include "adapters/http/request.hpp"

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "adapters/http/ascii.hpp"
#include "core/percent_decode.hpp"

namespace sagapay::http {
std::string_view Request::Header(std::string_view name) const noexcept {
    return detail::FindHeader(headers, name);
}

std::optional<std::string> Request::QueryParam(std::string_view name) const {
    std::string_view rest = query;
    while (!rest.empty()) {
        const std::size_t amp = rest.find('&');
        const std::string_view pair = rest.substr(0, amp);
        rest = (amp == std::string_view::npos) ? std::string_view{} : rest.substr(amp + 1);
        if (pair.empty()) {
            continue;
        }
        const std::size_t eq = pair.find('=');
        const std::string_view raw_key = pair.substr(0, eq);
        if (UrlDecode(raw_key) != name) {
            continue;
        }
        if (eq == std::string_view::npos) {
            return std::string{};
        }
        return UrlDecode(pair.substr(eq + 1));
    }
    return std::nullopt;
}

std::string UrlDecode(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (c == '+') {
            out.push_back(' ');
        } else if (c == '%' && i + 2 < text.size()) {
            const int high = HexDigitValue(text[i + 1]);
            const int low = HexDigitValue(text[i + 2]);
            if (high < 0 || low < 0) {
                out.push_back(c);  // Not an escape: keep it literally.
                continue;
            }
            out.push_back(static_cast<char>(static_cast<unsigned char>(high * 16 + low)));
            i += 2;
        } else {
            out.push_back(c);
        }
    }
    return out;
}

}  // namespace sagapay::http
