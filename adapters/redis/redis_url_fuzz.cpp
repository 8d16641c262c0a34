// libFuzzer target: ParseRedisUrl (REDIS_URL) and RedactRedisUrl. Properties: an accepted URL
// names a host, a port from 1 to 65535 and a database >= 0, and when it carries a password both
// redactors change the text; a refused URL throws std::invalid_argument whose message contains
// no password of the URL (raw or percent-decoded, 4 characters or more) that is not also in the
// URL outside its password (nor contains a '*', which the mask could make up, or a quote).
// Only what the message quotes counts, not its fixed words.
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "adapters/redis/client.hpp"
#include "core/percent_decode.hpp"
#include "core/redact.hpp"
#include "testing/fuzz_check.hpp"

namespace sagapay {
namespace {

/// Why ParseRedisUrl refuses: the fixed text after the quoted URL ("invalid Redis URL '…': ").
constexpr std::string_view kWhys[] = {
    "TLS (rediss://) is not supported",
    "expected redis://host:port[/db]",
    "query parameters and fragments are not supported",
    "missing ']' after the IPv6 address",
    "expected ':' after ']'",
    "an IPv6 address must be in brackets: redis://[::1]:6379",
    "missing host",
    "credentials need a password: redis://[user]:password@host",
    "broken %-escape in the credentials",
    "empty password: leave out 'user:@' or give the password",
    "port must be a number from 1 to 65535, got '",
    "database must be a non-negative number, got '",
    "a '/' in the credentials must be percent-encoded as %2F",
};

/// What a message tells about the URL: the quoted URL and a quoted value after "got '", without
/// the fixed words (a "password" made of them leaks nothing).
std::string Told(std::string_view message) {
    constexpr std::string_view kPrefix = "invalid Redis URL '";
    fuzz::Check(message.starts_with(kPrefix), "the message names the URL", message);
    message.remove_prefix(kPrefix.size());
    for (const std::string_view why : kWhys) {
        const std::string separator = "': " + std::string(why);
        const std::size_t at = message.rfind(separator);
        if (at != std::string_view::npos && (message.ends_with(why) || why.ends_with('\''))) {
            return std::string(message.substr(0, at)) + "\n" +
                   std::string(message.substr(at + separator.size()));
        }
    }
    fuzz::Check(false, "a known reason", message);
    return {};
}

/// The passwords of `url` by the shared parser, raw and decoded, long enough to be telling.
std::vector<std::string> Secrets(const std::string& url) {
    std::vector<std::string> secrets;
    const std::string without_passwords = RedactUrlPassword(url);
    for (const TextRange& range : PasswordRanges(url)) {
        std::string raw = url.substr(range.begin, range.end - range.begin);
        std::vector<std::string> spellings = {raw};
        if (auto decoded = PercentDecode(raw)) {
            spellings.push_back(std::move(*decoded));
        }
        for (std::string& secret : spellings) {
            // A password with a '*' can be made up by the mask "***" and what is beside it, one
            // with a quote or a newline by the quoted parts' ends.
            if (secret.size() >= 4 && secret.find_first_of("*'\n") == std::string::npos &&
                without_passwords.find(secret) == std::string::npos) {
                secrets.push_back(std::move(secret));
            }
        }
    }
    return secrets;
}

}  // namespace
}  // namespace sagapay

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace sagapay;
    using fuzz::Check;
    const std::string url(fuzz::AsText(data, size));
    try {
        const redis::Endpoint endpoint = redis::ParseRedisUrl(url);
        Check(!endpoint.host.empty(), "a host", url);
        Check(endpoint.port >= 1 && endpoint.port <= 65535, "a port in range", url);
        Check(endpoint.database >= 0, "a database >= 0", url);
        if (!endpoint.password.empty() && endpoint.password != "***") {  // not the mask itself
            Check(RedactUrlPassword(url) != url, "RedactUrlPassword masks the password", url);
            Check(redis::RedactRedisUrl(url) != url, "RedactRedisUrl masks the password", url);
        }
    } catch (const std::invalid_argument& e) {
        if (url.find('\0') != std::string::npos) {
            return 0;  // what() ends at the NUL (and no environment variable can hold one)
        }
        const std::string told = Told(e.what());
        for (const std::string& secret : Secrets(url)) {
            Check(
                told.find(secret) == std::string_view::npos,
                "no password in the message: " + std::string(e.what()) + "\n  password",
                secret
            );
        }
    }
    return 0;
}
