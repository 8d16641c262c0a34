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
    std::unique_ptr<Impl> impl_;
};

}  // namespace sagapay::http
