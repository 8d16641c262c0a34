#include "adapters/postgres/dsn.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstddef>
#include <utility>
#include <vector>

#include "adapters/postgres/connection.hpp"

namespace sagapay::postgres {
namespace {

constexpr std::string_view kMask = "***";

struct Range {
    std::size_t begin;
    std::size_t end;
};

/// `scheme://...` rather than `key=value ...`.
std::size_t UriSchemeEnd(std::string_view dsn) {
    const std::size_t end = dsn.find("://");
    if (end == std::string_view::npos || dsn.substr(0, end).find_first_of(" ='") != dsn.npos) {
        return std::string_view::npos;
    }
    return end;
}

/// Where the password values are in a URI (userinfo and `password=` query parameters) or in a
/// keyword/value connection string.
std::vector<Range> PasswordRanges(std::string_view dsn) {
    std::vector<Range> ranges;
    const std::size_t scheme_end = UriSchemeEnd(dsn);
    if (scheme_end != std::string_view::npos) {
        const std::size_t authority = scheme_end + 3;
        const std::size_t query = std::min(dsn.find_first_of("?#", authority), dsn.size());
        // The last '@' before the query: a raw '@' or '/' in a password is masked too.
        const std::size_t at = dsn.substr(authority, query - authority).rfind('@');
        if (at != std::string_view::npos) {
            const std::size_t colon = dsn.substr(authority, at).find(':');
            if (colon != std::string_view::npos) {
                ranges.push_back({authority + colon + 1, authority + at});
            }
        }
        if (query < dsn.size() && dsn[query] == '?') {
            std::size_t pos = query + 1;
            while (pos < dsn.size() && dsn[pos] != '#') {
                const std::size_t end = std::min(dsn.find_first_of("&#", pos), dsn.size());
                const std::string_view pair = dsn.substr(pos, end - pos);
                const std::size_t eq = pair.find('=');
                if (eq != std::string_view::npos && pair.substr(0, eq) == "password") {
                    ranges.push_back({pos + eq + 1, end});
                }
                pos = end < dsn.size() && dsn[end] == '&' ? end + 1 : end;
            }
        }
        return ranges;
    }
    // keyword = value pairs; values may be single-quoted with backslash escapes.
    const auto is_space = [](char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; };
    std::size_t pos = 0;
    while (pos < dsn.size()) {
        while (pos < dsn.size() && is_space(dsn[pos])) {
            ++pos;
        }
        const std::size_t key_begin = pos;
        while (pos < dsn.size() && dsn[pos] != '=' && !is_space(dsn[pos])) {
            ++pos;
        }
        const std::string_view key = dsn.substr(key_begin, pos - key_begin);
        while (pos < dsn.size() && is_space(dsn[pos])) {
            ++pos;
        }
        if (pos >= dsn.size() || dsn[pos] != '=') {
            ++pos;
            continue;
        }
        ++pos;
        while (pos < dsn.size() && is_space(dsn[pos])) {
            ++pos;
        }
        const std::size_t value_begin = pos;
        if (pos < dsn.size() && dsn[pos] == '\'') {
            ++pos;
            while (pos < dsn.size() && dsn[pos] != '\'') {
                pos += dsn[pos] == '\\' ? 2 : 1;
            }
            pos = std::min(pos + 1, dsn.size());
        } else {
            while (pos < dsn.size() && !is_space(dsn[pos])) {
                pos += dsn[pos] == '\\' ? 2 : 1;
            }
            pos = std::min(pos, dsn.size());
        }
        if (key == "password") {
            ranges.push_back({value_begin, pos});
        }
    }
    return ranges;
}

std::string PercentDecode(std::string_view text) {
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
        unsigned value = 0;
        if (text[i] == '%' && i + 2 < text.size() &&
            std::from_chars(text.data() + i + 1, text.data() + i + 3, value, 16).ptr ==
                text.data() + i + 3) {
            out.push_back(static_cast<char>(value));
            i += 2;
        } else {
            out.push_back(text[i]);
        }
    }
    return out;
}

void ReplaceAll(std::string& text, std::string_view needle, std::string_view replacement) {
    if (needle.empty()) {
        return;
    }
    std::size_t pos = 0;
    while ((pos = text.find(needle, pos)) != std::string::npos) {
        text.replace(pos, needle.size(), replacement);
        pos += replacement.size();
    }
}

}  // namespace

namespace detail {

std::string ScrubPassword(std::string message, std::string_view dsn) {
    std::vector<std::string> secrets;
    for (const Range& range : PasswordRanges(dsn)) {
        std::string raw(dsn.substr(range.begin, range.end - range.begin));
        if (raw.size() >= 2 && raw.front() == '\'' && raw.back() == '\'') {
            raw = raw.substr(1, raw.size() - 2);
        }
        secrets.push_back(PercentDecode(raw));
        // libpq splits userinfo at the first '@': the rest would show up as the host name.
        std::size_t start = 0;
        while (start <= raw.size()) {
            const std::size_t at = std::min(raw.find('@', start), raw.size());
            secrets.push_back(raw.substr(start, at - start));
            start = at + 1;
        }
        secrets.push_back(std::move(raw));
    }
    std::sort(secrets.begin(), secrets.end(), [](const std::string& a, const std::string& b) {
        return a.size() > b.size();
    });
    for (const std::string& secret : secrets) {
        ReplaceAll(message, secret, kMask);
    }
    return message;
}

}  // namespace detail

std::string Connection::RedactDsn(const std::string& dsn) {
    std::string redacted = dsn;
    std::vector<Range> ranges = PasswordRanges(dsn);
    std::sort(ranges.begin(), ranges.end(), [](const Range& a, const Range& b) {
        return a.begin > b.begin;
    });
    for (const Range& range : ranges) {
        redacted.replace(range.begin, range.end - range.begin, kMask);
    }
    return redacted;
}

std::string Connection::NormalizeDsn(const std::string& dsn) {
    // `postgresql+psycopg2://`, `postgres+asyncpg://`: SQLAlchemy's driver suffix.
    const std::size_t scheme_end = UriSchemeEnd(dsn);
    if (scheme_end == std::string::npos) {
        return dsn;
    }
    const std::string_view scheme = std::string_view(dsn).substr(0, scheme_end);
    const std::size_t plus = scheme.find('+');
    if (plus == std::string_view::npos) {
        return dsn;
    }
    const std::string_view base = scheme.substr(0, plus);
    if (base != "postgresql" && base != "postgres") {
        return dsn;
    }
    return "postgresql" + dsn.substr(scheme_end);
}

}  // namespace sagapay::postgres
