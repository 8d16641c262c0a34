#include "app/console/session_store.hpp"

#include <algorithm>
#include <utility>

namespace sagapay::console {

SessionStore::SessionStore(
    Options options, const Clock& clock, std::function<std::string()> new_token
)
    : options_(options), clock_(clock), new_token_(std::move(new_token)) {}

void SessionStore::DropExpiredLocked(Clock::TimePoint now) {
    std::erase_if(sessions_, [&](const auto& entry) {
        return now - entry.second.last_seen >= options_.idle_timeout;
    });
}

Session SessionStore::Open(std::string operator_name) {
    const Clock::TimePoint now = clock_.Now();
    Session session{
        .id = new_token_(),
        .operator_name = std::move(operator_name),
        .csrf_token = new_token_(),
        .last_seen = now,
    };
    const std::scoped_lock lock(mutex_);
    DropExpiredLocked(now);
    while (!sessions_.empty() && sessions_.size() >= options_.max_sessions) {
        const auto oldest =
            std::min_element(sessions_.begin(), sessions_.end(), [](const auto& a, const auto& b) {
                return a.second.last_seen < b.second.last_seen;
            });
        sessions_.erase(oldest);
    }
    sessions_[session.id] = session;
    return session;
}

std::optional<Session> SessionStore::Touch(std::string_view id) {
    if (id.empty()) {
        return std::nullopt;
    }
    const Clock::TimePoint now = clock_.Now();
    const std::scoped_lock lock(mutex_);
    const auto it = sessions_.find(std::string(id));
    if (it == sessions_.end()) {
        return std::nullopt;
    }
    if (now - it->second.last_seen >= options_.idle_timeout) {
        sessions_.erase(it);
        return std::nullopt;
    }
    it->second.last_seen = now;
    return it->second;
}

void SessionStore::Close(std::string_view id) {
    const std::scoped_lock lock(mutex_);
    sessions_.erase(std::string(id));
}

std::size_t SessionStore::Size() const {
    const std::scoped_lock lock(mutex_);
    return sessions_.size();
}

std::string_view SessionCookie(std::string_view cookie_header) noexcept {
    while (!cookie_header.empty()) {
        const std::size_t end = cookie_header.find(';');
        std::string_view pair = cookie_header.substr(0, end);
        while (!pair.empty() && pair.front() == ' ') {
            pair.remove_prefix(1);
        }
        const std::size_t equals = pair.find('=');
        if (equals != std::string_view::npos && pair.substr(0, equals) == kSessionCookieName) {
            return pair.substr(equals + 1);
        }
        if (end == std::string_view::npos) {
            break;
        }
        cookie_header.remove_prefix(end + 1);
    }
    return {};
}

std::string SetSessionCookie(std::string_view id) {
    std::string cookie(kSessionCookieName);
    cookie += '=';
    cookie += id;
    cookie += "; HttpOnly; SameSite=Strict; Path=/";
    if (id.empty()) {
        cookie += "; Max-Age=0";
    }
    return cookie;
}

}  // namespace sagapay::console
