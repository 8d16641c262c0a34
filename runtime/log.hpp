#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sagapay::log {

enum class Level { kDebug, kInfo, kWarning, kError };

/// Sets the process's service name and minimum level ("DEBUG", "INFO", "WARNING", "ERROR").
void Init(std::string service_name, std::string_view level);

/// The correlation ids every log line of this thread carries (`trace_id`, `event_id`,
/// `payment_id`), set for the span of one request or one event.
class ScopedContext {
public:
    ScopedContext(std::string trace_id, std::string event_id, std::string payment_id);
    ScopedContext(const ScopedContext&) = delete;
    ScopedContext& operator=(const ScopedContext&) = delete;
    ~ScopedContext();

private:
    std::string saved_trace_;
    std::string saved_event_;
    std::string saved_payment_;
};

using Fields = std::vector<std::pair<std::string, std::string>>;

/// Writes one JSON line to stdout: time, level, service_name, trace_id, event_id, payment_id,
/// message and `fields`. Thread-safe. Never pass secrets: nothing here redacts.
void Write(Level level, std::string_view message, const Fields& fields = {});

inline void Debug(std::string_view m, const Fields& f = {}) {
    Write(Level::kDebug, m, f);
}
inline void Info(std::string_view m, const Fields& f = {}) {
    Write(Level::kInfo, m, f);
}
inline void Warn(std::string_view m, const Fields& f = {}) {
    Write(Level::kWarning, m, f);
}
inline void Error(std::string_view m, const Fields& f = {}) {
    Write(Level::kError, m, f);
}

}  // namespace sagapay::log
