// libFuzzer target: the DSN helpers: Connection::NormalizeDsn, Connection::RedactDsn and
// detail::ScrubPassword (a libpq error message scrubbed of the DSN's password). Input: the DSN,
// a newline, the message. Properties: normalising only rewrites a SQLAlchemy scheme; redaction
// masks what NormalizeDsn keeps; a scrubbed message contains no spelling of the password
// (raw, unquoted, percent-decoded) of at least 3 characters and without a '*'.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "adapters/postgres/connection.hpp"
#include "adapters/postgres/dsn.hpp"
#include "core/percent_decode.hpp"
#include "core/redact.hpp"
#include "testing/fuzz_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace sagapay;
    using fuzz::Check;
    const std::string_view input = fuzz::AsText(data, size);
    const auto [dsn_view, message] = fuzz::SplitOnce(input, '\n');
    const std::string dsn(dsn_view);

    const std::string normalized = postgres::Connection::NormalizeDsn(dsn);
    if (normalized != dsn) {
        Check(normalized.starts_with("postgresql://"), "normalised to postgresql://", input);
        Check(
            dsn.ends_with(std::string_view(normalized).substr(std::string_view("postgresql").size())
            ),
            "normalising keeps everything after the scheme",
            input
        );
    }
    Check(
        postgres::Connection::RedactDsn(normalized) == RedactUrlPassword(normalized),
        "RedactDsn is RedactUrlPassword",
        input
    );

    std::vector<std::string> secrets;
    for (const TextRange& range : PasswordRanges(dsn)) {
        std::string raw = dsn.substr(range.begin, range.end - range.begin);
        if (raw.size() >= 2 && raw.front() == '\'' && raw.back() == '\'') {
            raw = raw.substr(1, raw.size() - 2);
        }
        if (auto decoded = PercentDecode(raw)) {
            secrets.push_back(std::move(*decoded));
        }
        secrets.push_back(std::move(raw));
    }
    const std::string scrubbed = postgres::detail::ScrubPassword(std::string(message), dsn);
    for (const std::string& secret : secrets) {
        // A password with a '*' can be made up by the mask "***" and what is beside it.
        if (secret.size() >= 3 && secret.find('*') == std::string::npos) {
            Check(
                scrubbed.find(secret) == std::string::npos,
                "the password is scrubbed: " + scrubbed,
                input
            );
        }
    }
    return 0;
}
