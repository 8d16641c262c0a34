#include "services/provider/provider_options.hpp"

#include <algorithm>
#include <cstdlib>
#include <string>
#include <vector>

#include "core/error.hpp"

namespace sagapay::provider {

namespace {

std::string_view Env(const char* name) {
    const char* value = std::getenv(name);
    return value == nullptr ? std::string_view() : std::string_view(value);
}

}  // namespace

namespace {

/// "1000,2000,4000": positive milliseconds separated by commas.
std::vector<std::chrono::milliseconds> ParseMillisList(std::string_view text, const char* name) {
    std::vector<std::chrono::milliseconds> list;
    std::string item;
    for (std::size_t i = 0; i <= text.size(); ++i) {
        if (i < text.size() && text[i] != ',') {
            item.push_back(text[i]);
            continue;
        }
        char* end = nullptr;
        const long long ms = std::strtoll(item.c_str(), &end, 10);
        if (item.empty() || end == nullptr || *end != '\0' || ms <= 0) {
            throw Exception(
                ErrorCode::kInvalidArgument,
                std::string(name) +
                    " must be positive milliseconds separated by commas, e.g. 1000,2000,4000"
            );
        }
        list.emplace_back(ms);
        item.clear();
    }
    return list;
}

}  // namespace

RetryPolicy ParseBackoffMs(std::string_view text) {
    RetryPolicy policy;
    if (!text.empty()) {
        policy.backoff = ParseMillisList(text, "PROVIDER_BACKOFF_MS");
    }
    return policy;
}

std::vector<std::chrono::milliseconds> ParseJanitorChecksMs(std::string_view text) {
    if (text.empty()) {
        return RetryPolicy{}.janitor_checks;
    }
    return ParseMillisList(text, "PROVIDER_JANITOR_CHECKS_MS");
}

int ParseWorkerCount(std::string_view text) {
    const int workers = text.empty() ? 4 : std::atoi(std::string(text).c_str());
    if (workers < 1 || workers > 64) {
        throw Exception(ErrorCode::kInvalidArgument, "PROVIDER_WORKERS must be from 1 to 64");
    }
    return workers;
}

ProviderOptions ProviderOptionsFromEnv() {
    ProviderOptions options{
        ParseBackoffMs(Env("PROVIDER_BACKOFF_MS")), ParseWorkerCount(Env("PROVIDER_WORKERS"))};
    options.policy.janitor_checks = ParseJanitorChecksMs(Env("PROVIDER_JANITOR_CHECKS_MS"));
    return options;
}

std::chrono::milliseconds IdleWait(std::optional<Clock::TimePoint> next_due, Clock::TimePoint now) {
    constexpr std::chrono::milliseconds kMin(1);
    constexpr std::chrono::milliseconds kMax = kMaxIdleWait;
    if (!next_due) {
        return kMax;
    }
    return std::clamp(
        std::chrono::duration_cast<std::chrono::milliseconds>(*next_due - now), kMin, kMax
    );
}

}  // namespace sagapay::provider
