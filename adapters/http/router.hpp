#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "adapters/http/request.hpp"
#include "adapters/http/response.hpp"

namespace sagapay::http {

using Handler = std::function<Response(Request&)>;
/// Runs before the handler of every matched route with the request and the route pattern; a
/// response it returns answers instead of the handler (authentication for a whole service).
using Guard = std::function<std::optional<Response>(const Request&, std::string_view route)>;
/// Runs around the guard and handler of every matched route: given the request, the route
/// pattern and `next` (guard + handler, which never throws), returns the response (a trace span
/// around every request, response headers added). Must call `next` once.
using Interceptor = std::function<
    Response(Request&, std::string_view route, const std::function<Response(Request&)>& next)>;

/// Maps (method, path pattern) to handlers. Patterns are literal segments and `{name}` segments:
/// "/ops/reviews/{payment_id}/approve". Unknown path → 404, known path with another method → 405,
/// both with the JSON error body. A handler that throws → 500 with code "internal" (logged by the
/// server), never a dropped connection.
class Router {
public:
    void Add(std::string method, const std::string& pattern, Handler handler);
    [[nodiscard]] Response Dispatch(Request& request) const;
    void SetGuard(Guard guard) { guard_ = std::move(guard); }
    void SetInterceptor(Interceptor interceptor) { interceptor_ = std::move(interceptor); }
    /// Every route added, as (method, pattern) in the order added: what docs/openapi.yaml must
    /// list (app/openapi_test.cpp).
    [[nodiscard]] std::vector<std::pair<std::string, std::string>> Routes() const;

private:
    friend class Server;  // Uses DispatchRoute to name the route pattern to the observer.

    struct Route {
        std::string method;
        std::vector<std::string> segments;
        Handler handler;
    };

    /// Dispatch that also sets `route` to the matched pattern, or leaves it empty.
    Response DispatchRoute(Request& request, std::string& route) const;

    std::vector<Route> routes_;
    Guard guard_;
    Interceptor interceptor_;
};

}  // namespace sagapay::http
