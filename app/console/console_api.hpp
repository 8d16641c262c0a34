#pragma once

#include <functional>
#include <span>
#include <string>
#include <string_view>

#include "adapters/http/request.hpp"
#include "adapters/http/response.hpp"
#include "adapters/http/router.hpp"
#include "app/console/console_store.hpp"
#include "app/console/ports.hpp"
#include "app/console/session_store.hpp"

namespace sagapay::console {

/// One file of the page, compiled into the binary (app/console/web).
struct Asset {
    const char* path;  ///< "/" or "/assets/app.js"
    const char* content_type;
    const char* body;
};

/// The console's HTTP surface (app/console/README.md): the page's files and the JSON API under
/// /api/. Reads go to the ConsoleStore, changes to risk (ReviewDecider) and the bus
/// (DeadLetters), each recorded in the audit log. Logic only: every I/O is a port.
class ConsoleApi {
public:
    struct Options {
        std::string ops_api_key;
        std::span<const Asset> assets;
    };

    ConsoleApi(
        Options options,
        SessionStore& sessions,
        ConsoleStore& store,
        ReviewDecider& decider,
        DeadLetters& dead_letters,
        HealthSource& health
    );

    void AddRoutes(http::Router& router);

    http::Response Login(const http::Request& request);
    [[nodiscard]] http::Response SessionInfo(const Session& session) const;
    http::Response Logout(const Session& session);
    http::Response Reviews(const http::Request& request);
    http::Response Decide(const http::Request& request, const Session& session);
    http::Response Payments(const http::Request& request);
    http::Response PaymentPage(const std::string& payment_id);
    http::Response DeadLetterList(const http::Request& request);
    http::Response DeadLetterEntry(const http::Request& request);
    http::Response Replay(const http::Request& request, const Session& session);
    http::Response Audit(const http::Request& request);

    /// Runs `handler` for the request's live session; 401 session_required without one, 403
    /// csrf_invalid for a change (`mutates`) without the session's token in x-csrf-token.
    http::Response WithSession(
        const http::Request& request,
        bool mutates,
        const std::function<http::Response(const Session&)>& handler
    );

private:
    Options options_;
    SessionStore& sessions_;
    ConsoleStore& store_;
    ReviewDecider& decider_;
    DeadLetters& dead_letters_;
    HealthSource& health_;
};

}  // namespace sagapay::console
