#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "adapters/http/request.hpp"
#include "adapters/http/response.hpp"
#include "adapters/http/router.hpp"

namespace sagapay::http {

struct ServerOptions {
    std::string host = "127.0.0.1";
    std::uint16_t port = 0;  ///< 0 picks a free port; Server::Port() tells which.
    int threads = 2;
    std::size_t body_limit = std::size_t{64} * 1024;  ///< Larger bodies get 413.
    /// How long a keep-alive connection may wait for its next request.
    std::chrono::milliseconds idle_timeout{std::chrono::seconds(30)};
    /// How long a new connection may take to send its first complete request.
    std::chrono::milliseconds first_request_timeout{std::chrono::seconds(5)};
    /// Open connections at most; 0: the process's file limit (RLIMIT_NOFILE) minus fd_headroom.
    /// At the cap a new connection closes the connection idle the longest (waiting for a
    /// request), or is closed itself when every connection is busy.
    std::size_t max_connections = 0;
    std::size_t fd_headroom = 256;  ///< Files kept for everything else (database, Redis, logs).
    /// Called after each request with the request (Request::route is the matched pattern, empty
    /// when none matched), the response and the seconds the handler took.
    std::function<void(const Request&, const Response&, double)> observer;
};

/// options.max_connections, or the file limit (RLIMIT_NOFILE) minus options.fd_headroom.
[[nodiscard]] std::size_t MaxConnectionsFor(const ServerOptions& options) noexcept;

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
    /// The connection cap in force (after Start()): see ServerOptions::max_connections.
    [[nodiscard]] std::size_t MaxConnections() const noexcept;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace sagapay::http
