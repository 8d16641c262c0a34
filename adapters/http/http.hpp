#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sagapay::http {

/// An HTTP request as handlers see it: no Beast types, so handlers compile fast and test alone.
struct Request {
    std::string method;  ///< "GET", "POST", …
    std::string path;    ///< Without the query string, not decoded.
    std::string query;   ///< After '?', raw.
    std::vector<std::pair<std::string, std::string>> headers;  ///< Names in lower case.
    std::string body;
    std::vector<std::string> path_params;  ///< Filled by Router for `{name}` segments, in order.

    /// The first header named `name` (lower case), or empty.
    [[nodiscard]] std::string_view Header(std::string_view name) const noexcept;
    /// The percent-decoded value of a query parameter.
    [[nodiscard]] std::optional<std::string> QueryParam(std::string_view name) const;
};

struct Response {
    int status = 200;
    std::string body;
    std::string content_type = "application/json";
    std::vector<std::pair<std::string, std::string>> headers;

    [[nodiscard]] std::string_view Header(std::string_view name) const noexcept;
};

/// `{"error": {"code": code, "message": message, "field": field|null}}` with `status`.
[[nodiscard]] Response ErrorResponse(
    int status, std::string_view code, std::string_view message, std::string_view field = {}
);
[[nodiscard]] Response JsonResponse(int status, std::string body);

using Handler = std::function<Response(Request&)>;

/// Maps (method, path pattern) to handlers. Patterns are literal segments and `{name}` segments:
/// "/ops/reviews/{payment_id}/approve". Unknown path → 404, known path with another method → 405,
/// both with the JSON error body. A handler that throws → 500 with code "internal" (logged by the
/// server), never a dropped connection.
class Router {
public:
    void Add(std::string method, std::string pattern, Handler handler);
    [[nodiscard]] Response Dispatch(Request& request) const;

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
};

struct ServerOptions {
    std::string host = "127.0.0.1";
    std::uint16_t port = 0;  ///< 0 picks a free port; Server::Port() tells which.
    int threads = 2;
    std::size_t body_limit = 64 * 1024;  ///< Larger bodies get 413.
    std::chrono::milliseconds idle_timeout{std::chrono::seconds(30)};
    /// Called after each request with (method, route pattern or path, status, seconds).
    std::function<void(const Request&, const Response&, double)> observer;
};

/// An HTTP/1.1 server (Boost.Beast) with keep-alive, running `threads` threads. Handlers run on
/// those threads and may block briefly (a database call). Start() binds or throws
/// std::runtime_error naming the address; Stop() closes the listener and joins the threads.
class Server {
public:
    Server(ServerOptions options, Router router);
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;
    ~Server();

    void Start();
    void Stop();
    [[nodiscard]] std::uint16_t Port() const noexcept;

private:
    struct Impl;
    Impl* impl_;
};

struct ClientOptions {
    std::size_t max_connections = 64;  ///< Idle keep-alive connections kept for reuse.
    std::chrono::milliseconds connect_timeout{1000};
    std::chrono::milliseconds request_timeout{5000};
};

enum class ClientErrorKind {
    kConnect,  ///< Nothing was sent: safe to retry.
    kTimeout,  ///< Sent, no answer in time: the outcome is unknown.
    kProtocol  ///< Connection broke or the answer was not HTTP.
};

struct ClientError {
    ClientErrorKind kind = ClientErrorKind::kConnect;
    std::string message;
};

/// The outcome of one call: a response, or why there is none.
struct ClientResult {
    std::optional<Response> response;
    ClientError error;
    [[nodiscard]] bool Ok() const noexcept { return response.has_value(); }
};

/// A keep-alive HTTP/1.1 client for one origin ("http://127.0.0.1:8001"), thread-safe: each call
/// borrows a pooled connection (or opens one), so no call pays connection setup once warm.
/// A stale pooled connection that fails before any byte of the answer is retried once on a new
/// connection only when the request carries `Idempotency-Key` or is a GET.
class Client {
public:
    explicit Client(const std::string& base_url, ClientOptions options = {});
    Client(const Client&) = delete;
    Client& operator=(const Client&) = delete;
    ~Client();

    ClientResult Send(
        std::string_view method,
        std::string_view target,
        std::string_view body = {},
        const std::vector<std::pair<std::string, std::string>>& headers = {}
    );
    ClientResult Get(std::string_view target) { return Send("GET", target); }

private:
    struct Impl;
    Impl* impl_;
};

/// Percent-decodes a URL component ('+' is a space in queries).
[[nodiscard]] std::string UrlDecode(std::string_view text);

}  // namespace sagapay::http
