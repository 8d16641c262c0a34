#include "core/redact.hpp"

#include <algorithm>
#include <cctype>
#include <cstddef>

namespace sagapay {
namespace {

constexpr std::string_view kMask = "***";

bool IsSpace(char c) noexcept {
    return std::isspace(static_cast<unsigned char>(c)) != 0;
}

std::string RedactUri(std::string_view url, std::size_t scheme_end) {
    std::string out;
    const std::size_t authority = scheme_end + 3;
    const std::size_t query = std::min(url.find_first_of("?#", authority), url.size());
    // The last '@' before the query: a raw '@' or '/' in a password is masked too.
    const std::size_t at = url.substr(authority, query - authority).rfind('@');
    std::size_t copied = 0;
    if (at != std::string_view::npos) {
        const std::size_t colon = url.substr(authority, at).find(':');
        if (colon != std::string_view::npos) {
            out.append(url.substr(0, authority + colon + 1));
            out.append(kMask);
            copied = authority + at;
        }
    }
    if (query < url.size() && url[query] == '?') {
        std::size_t pos = query + 1;
        while (pos < url.size() && url[pos] != '#') {
            const std::size_t end = std::min(url.find_first_of("&#", pos), url.size());
            const std::string_view pair = url.substr(pos, end - pos);
            const std::size_t eq = pair.find('=');
            if (eq != std::string_view::npos && pair.substr(0, eq) == "password") {
                out.append(url.substr(copied, pos + eq + 1 - copied));
                out.append(kMask);
                copied = end;
            }
            pos = end < url.size() && url[end] == '&' ? end + 1 : end;
        }
    }
    out.append(url.substr(copied));
    return out;
}

std::string RedactKeywords(std::string_view text) {
    std::string out;
    std::size_t copied = 0;
    std::size_t pos = 0;
    while (pos < text.size()) {
        while (pos < text.size() && IsSpace(text[pos])) {
            ++pos;
        }
        const std::size_t key_begin = pos;
        while (pos < text.size() && text[pos] != '=' && !IsSpace(text[pos])) {
            ++pos;
        }
        const std::string_view key = text.substr(key_begin, pos - key_begin);
        while (pos < text.size() && IsSpace(text[pos])) {
            ++pos;
        }
        if (pos >= text.size() || text[pos] != '=') {
            ++pos;
            continue;
        }
        ++pos;
        while (pos < text.size() && IsSpace(text[pos])) {
            ++pos;
        }
        const std::size_t value_begin = pos;
        if (pos < text.size() && text[pos] == '\'') {
            ++pos;
            while (pos < text.size() && text[pos] != '\'') {
                pos += text[pos] == '\\' ? 2 : 1;
            }
            pos = std::min(pos + 1, text.size());
        } else {
            while (pos < text.size() && !IsSpace(text[pos])) {
                pos += text[pos] == '\\' ? 2 : 1;
            }
            pos = std::min(pos, text.size());
        }
        if (key == "password") {
            out.append(text.substr(copied, value_begin - copied));
            out.append(kMask);
            copied = pos;
        }
    }
    out.append(text.substr(std::min(copied, text.size())));
    return out;
}

}  // namespace

std::string RedactUrlPassword(std::string_view url) {
    const std::size_t scheme_end = url.find("://");
    if (scheme_end != std::string_view::npos &&
        url.substr(0, scheme_end).find_first_of(" ='") == std::string_view::npos) {
        return RedactUri(url, scheme_end);
    }
    return RedactKeywords(url);
}

}  // namespace sagapay
