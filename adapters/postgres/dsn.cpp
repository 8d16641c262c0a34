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
    // Every occurrence is found in the message as libpq wrote it and each run of hidden bytes is
    // masked once: a mask is never searched again (a secret "*" would triple the message on
    // each pass) and never joins what is beside it into a new occurrence.
    std::sort(secrets.begin(), secrets.end());
    secrets.erase(std::unique(secrets.begin(), secrets.end()), secrets.end());
    std::vector<bool> hidden(message.size(), false);
    for (const std::string& secret : secrets) {
        if (secret.empty()) {
            continue;
        }
        for (std::size_t pos = message.find(secret); pos != std::string::npos;
             pos = message.find(secret, pos + 1)) {
            std::fill_n(hidden.begin() + static_cast<std::ptrdiff_t>(pos), secret.size(), true);
        }
    }
    std::string scrubbed;
    scrubbed.reserve(message.size());
    for (std::size_t i = 0; i < message.size(); ++i) {
        if (!hidden[i]) {
            scrubbed.push_back(message[i]);
        } else if (i == 0 || !hidden[i - 1]) {
            scrubbed.append(kMask);
        }
    }
    return scrubbed;
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
