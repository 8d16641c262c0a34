#include "core/redact.hpp"

#include <algorithm>
#include <cctype>

namespace sagapay {
namespace {

constexpr std::string_view kMask = "***";

bool IsSpace(char c) noexcept {
    return std::isspace(static_cast<unsigned char>(c)) != 0;
}

/// Where `scheme://` ends when `text` is a URI rather than `key=value ...`; npos otherwise.
std::size_t UriSchemeEnd(std::string_view text) {
    const std::size_t end = text.find("://");
    if (end == std::string_view::npos ||
        text.substr(0, end).find_first_of(" ='") != std::string_view::npos) {
        return std::string_view::npos;
    }
    return end;
}

void UriPasswordRanges(std::string_view url, std::size_t scheme_end, std::vector<TextRange>& out) {
    const std::size_t authority = scheme_end + 3;
    const std::size_t query = std::min(url.find_first_of("?#", authority), url.size());
    // The last '@' before the query: a raw '@' or '/' in a password is masked too.
    const std::size_t at = url.substr(authority, query - authority).rfind('@');
    if (at != std::string_view::npos) {
        const std::size_t colon = url.substr(authority, at).find(':');
        if (colon != std::string_view::npos) {
            out.push_back({authority + colon + 1, authority + at});
        }
    }
    if (query >= url.size() || url[query] != '?') {
        return;
    }
    std::size_t pos = query + 1;
    while (pos < url.size() && url[pos] != '#') {
        const std::size_t end = std::min(url.find_first_of("&#", pos), url.size());
        const std::string_view pair = url.substr(pos, end - pos);
        const std::size_t eq = pair.find('=');
        if (eq != std::string_view::npos && pair.substr(0, eq) == "password") {
            out.push_back({pos + eq + 1, end});
        }
        pos = end < url.size() && url[end] == '&' ? end + 1 : end;
    }
}

/// keyword = value pairs; values may be single-quoted with backslash escapes.
void KeywordPasswordRanges(std::string_view text, std::vector<TextRange>& out) {
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
            out.push_back({value_begin, pos});
        }
    }
}

}  // namespace

std::vector<TextRange> PasswordRanges(std::string_view url) {
    std::vector<TextRange> ranges;
    const std::size_t scheme_end = UriSchemeEnd(url);
    if (scheme_end != std::string_view::npos) {
        UriPasswordRanges(url, scheme_end, ranges);
    } else {
        KeywordPasswordRanges(url, ranges);
    }
    return ranges;
}

std::string RedactUrlPassword(std::string_view url) {
    std::string out;
    std::size_t copied = 0;
    for (const TextRange& range : PasswordRanges(url)) {
        out.append(url.substr(copied, range.begin - copied));
        out.append(kMask);
        copied = range.end;
    }
    out.append(url.substr(std::min(copied, url.size())));
    return out;
}

}  // namespace sagapay
