#include "runtime/log.hpp"

#include <atomic>
#include <cstdio>
#include <mutex>

#include <nlohmann/json.hpp>

#include "core/clock.hpp"

namespace sagapay::log {

namespace {

struct Context {
    std::string trace_id;
    std::string event_id;
    std::string payment_id;
};

thread_local Context tls_context;
std::string g_service = "sagapay";
std::atomic<int> g_min_level{static_cast<int>(Level::kInfo)};
std::mutex g_write_mutex;

const char* LevelName(Level level) {
    switch (level) {
        case Level::kDebug:
            return "DEBUG";
        case Level::kInfo:
            return "INFO";
        case Level::kWarning:
            return "WARNING";
        case Level::kError:
            return "ERROR";
    }
    return "INFO";
}

}  // namespace

void Init(std::string service_name, std::string_view level) {
    g_service = std::move(service_name);
    Level min = Level::kInfo;
    if (level == "DEBUG" || level == "debug") {
        min = Level::kDebug;
    } else if (level == "WARNING" || level == "warning" || level == "WARN") {
        min = Level::kWarning;
    } else if (level == "ERROR" || level == "error") {
        min = Level::kError;
    }
    g_min_level = static_cast<int>(min);
}

ScopedContext::ScopedContext(std::string trace_id, std::string event_id, std::string payment_id)
    : saved_trace_(std::exchange(tls_context.trace_id, std::move(trace_id))),
      saved_event_(std::exchange(tls_context.event_id, std::move(event_id))),
      saved_payment_(std::exchange(tls_context.payment_id, std::move(payment_id))) {}

ScopedContext::~ScopedContext() {
    tls_context.trace_id = std::move(saved_trace_);
    tls_context.event_id = std::move(saved_event_);
    tls_context.payment_id = std::move(saved_payment_);
}

void Write(Level level, std::string_view message, const Fields& fields) {
    if (static_cast<int>(level) < g_min_level.load(std::memory_order_relaxed)) {
        return;
    }
    nlohmann::json line = {
        {"asctime", FormatIsoUtc(std::chrono::system_clock::now())},
        {"levelname", LevelName(level)},
        {"service_name", g_service},
        {"trace_id", tls_context.trace_id},
        {"event_id", tls_context.event_id},
        {"payment_id", tls_context.payment_id},
        {"message", message},
    };
    for (const auto& [key, value] : fields) {
        line[key] = value;
    }
    std::string text = line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    text.push_back('\n');
    const std::lock_guard lock(g_write_mutex);
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fflush(stdout);
}

}  // namespace sagapay::log
