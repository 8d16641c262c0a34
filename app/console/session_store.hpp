#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/clock.hpp"

namespace sagapay::console {

/// One operator's login.
struct Session {
    std::string id;             ///< The cookie's value: 256 random bits.
    std::string operator_name;  ///< Who the audit log names.
    std::string csrf_token;     ///< Every POST must echo it in `x-csrf-token`.
    Clock::TimePoint last_seen{};
};

/// The console's sessions, in memory, bounded: at most `max_sessions` live at once (opening one
/// more evicts the one idle longest) and one idle for `idle_timeout` is gone. Only a caller who
/// gave the ops key opens one, so nothing an unauthenticated caller sends is kept. Thread-safe;
/// time from the injected Clock, tokens from the injected source (NewSecretToken in production).
class SessionStore {
public:
    struct Options {
        std::chrono::seconds idle_timeout{900};
        std::size_t max_sessions = 256;
    };

    SessionStore(Options options, const Clock& clock, std::function<std::string()> new_token);

    /// Opens a session for `operator_name` with a fresh id and CSRF token.
    Session Open(std::string operator_name);
    /// The live session `id` names, its idle time restarted; nullopt (and forgotten) when
    /// unknown or idle too long.
    std::optional<Session> Touch(std::string_view id);
    /// Ends the session (logout); unknown ids are ignored.
    void Close(std::string_view id);
    [[nodiscard]] std::size_t Size() const;
    [[nodiscard]] const Options& Settings() const noexcept { return options_; }

private:
    void DropExpiredLocked(Clock::TimePoint now);

    Options options_;
    const Clock& clock_;
    std::function<std::string()> new_token_;
    mutable std::mutex mutex_;
    std::unordered_map<std::string, Session> sessions_;
};

/// The session id in a `Cookie` header (`sagapay_console=<id>`), or "".
[[nodiscard]] std::string_view SessionCookie(std::string_view cookie_header) noexcept;

/// The `Set-Cookie` value that stores `id` (HttpOnly, SameSite=Strict, Path=/), or clears it
/// when `id` is empty.
[[nodiscard]] std::string SetSessionCookie(std::string_view id);

inline constexpr std::string_view kSessionCookieName = "sagapay_console";

}  // namespace sagapay::console
