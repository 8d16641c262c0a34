// libFuzzer target: LoadConfig and DescribeConfig over an arbitrary environment. Input: the
// first byte picks the service, then `NAME=value` lines. Properties: a refusal is
// kInvalidArgument; nothing secret (API keys, the INTERNAL_API_TOKEN, URL and DSN passwords)
// reaches the refusal message or the logged description: each secret of 4 characters or more
// (without a '*', which masks can make up) that shows up there must also show up when the same
// environment has its secrets masked, or be in the clear elsewhere in it (a URL's host, say).
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/redact.hpp"
#include "runtime/config.hpp"
#include "testing/fuzz_check.hpp"

namespace sagapay {
namespace {

constexpr std::string_view kServices[] = {
    "gateway", "orchestrator", "risk", "provider", "ledger", "notification", "psp-sandbox"};

bool IsKey(std::string_view name) {
    return name == "API_KEY" || name == "OPS_API_KEY" || name == "INTERNAL_API_TOKEN";
}

bool IsUrl(std::string_view name) {
    return name == "REDIS_URL" || name == "ORCHESTRATOR_URL" || name == "PSP_URL" ||
           name.ends_with("POSTGRES_DSN") || name == "SAGAPAY_PG_BASE_DSN";
}

/// What LoadConfig and DescribeConfig tell about `env`: the refusal or the description.
std::string Told(const EnvMap& env, std::string_view service) {
    const auto config = LoadConfig(env, service);
    if (!config) {
        fuzz::Check(config.error().code == ErrorCode::kInvalidArgument, "refusal code");
        return config.error().message;
    }
    std::string out;
    for (const auto& [name, value] : DescribeConfig(*config)) {
        out.append(name).append("=").append(value).append("\n");
    }
    return out;
}

}  // namespace
}  // namespace sagapay

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace sagapay;
    if (size == 0) {
        return 0;
    }
    const std::string_view service = kServices[data[0] % std::size(kServices)];
    std::string_view rest = fuzz::AsText(data + 1, size - 1);
    EnvMap env;
    while (!rest.empty()) {
        const auto [line, after] = fuzz::SplitOnce(rest, '\n');
        rest = after;
        const auto [name, value] = fuzz::SplitOnce(line, '=');
        env.insert_or_assign(std::string(name), std::string(value));
    }

    // The same environment with every secret masked, keeping lengths and equalities of keys.
    EnvMap masked;
    std::string in_the_clear;  // What the environment shows anyway: names, other values, URLs
                               // without their passwords.
    std::vector<std::string> secrets;
    std::map<std::string, char, std::less<>> placeholders;
    for (const auto& [name, value] : env) {
        if (IsKey(name)) {
            const char mark = static_cast<char>('A' + placeholders.size() % 3);
            const char fill = placeholders.emplace(value, mark).first->second;
            masked.emplace(name, std::string(value.size(), fill));
            secrets.push_back(value);
        } else if (IsUrl(name)) {
            masked.emplace(name, RedactUrlPassword(value));
            in_the_clear.append(name).append("=").append(RedactUrlPassword(value)).append("\n");
            for (const TextRange& range : PasswordRanges(value)) {
                secrets.push_back(value.substr(range.begin, range.end - range.begin));
            }
        } else {
            masked.emplace(name, value);
            in_the_clear.append(name).append("=").append(value).append("\n");
        }
    }

    const std::string told = Told(env, service);
    const std::string told_masked = Told(masked, service);
    for (const std::string& secret : secrets) {
        if (secret.size() >= 4 && secret.find('*') == std::string::npos &&
            told.find(secret) != std::string::npos &&
            in_the_clear.find(secret) == std::string::npos) {
            fuzz::Check(
                told_masked.find(secret) != std::string::npos,
                "a secret in the configuration message: " + told,
                secret
            );
        }
    }
    return 0;
}
