#include "adapters/postgres/dsn.hpp"

#include <algorithm>
#include <cctype>
#include <cstddef>
#include <utility>
#include <vector>

#include "adapters/postgres/connection.hpp"
#include "core/percent_decode.hpp"
#include "core/redact.hpp"

namespace sagapay::postgres {
namespace {

constexpr std::string_view kMask = "***";

/// `scheme://...` rather than `key=value ...`.
std::size_t UriSchemeEnd(std::string_view dsn) {
    const std::size_t end = dsn.find("://");
    if (end == std::string_view::npos || dsn.substr(0, end).find_first_of(" ='") != dsn.npos) {
        return std::string_view::npos;
    }
    return end;
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
    for (const TextRange& range : PasswordRanges(dsn)) {
        std::string raw(dsn.substr(range.begin, range.end - range.begin));
        if (raw.size() >= 2 && raw.front() == '\'' && raw.back() == '\'') {
            raw = raw.substr(1, raw.size() - 2);
        }
        secrets.push_back(PercentDecode(raw).value_or(raw));
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
    return RedactUrlPassword(dsn);
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
