// The keep-alive HTTP client: Boost.Beast stays in this file (and server.cpp).
#include "adapters/http/client.hpp"

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <poll.h>

#include "adapters/http/ascii.hpp"
#include "adapters/http/response.hpp"

namespace sagapay::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

using detail::ToLower;

struct Origin {
    std::string host;       ///< Without brackets for IPv6.
    std::string port;       ///< Decimal.
    std::string authority;  ///< For the Host header: "host:port" as given.
};

[[noreturn]] void BadUrl(const std::string& base_url, const char* why) {
    throw std::invalid_argument("invalid base url '" + base_url + "': " + why);
}

/// "http://host:port" (optionally with a trailing '/'); the port defaults to 80.
Origin ParseOrigin(const std::string& base_url) {
    constexpr std::string_view kScheme = "http://";
    if (base_url.size() < kScheme.size() ||
        ToLower(std::string_view(base_url).substr(0, kScheme.size())) != kScheme) {
        BadUrl(base_url, "only http:// is supported");
    }
    std::string_view rest = std::string_view(base_url).substr(kScheme.size());
    if (!rest.empty() && rest.back() == '/') {
        rest.remove_suffix(1);
    }
    if (rest.find_first_of("/?#@") != std::string_view::npos) {
        BadUrl(base_url, "expected http://host:port without path, query or user");
    }
    Origin origin;
    origin.authority = std::string(rest);
    std::string_view port;
    if (!rest.empty() && rest.front() == '[') {
        const std::size_t close = rest.find(']');
        if (close == std::string_view::npos) {
            BadUrl(base_url, "unterminated IPv6 address");
        }
        origin.host = std::string(rest.substr(1, close - 1));
        const std::string_view after = rest.substr(close + 1);
        if (!after.empty()) {
            if (after.front() != ':') {
                BadUrl(base_url, "unexpected text after the IPv6 address");
            }
            port = after.substr(1);
        }
    } else {
        const std::size_t colon = rest.rfind(':');
        origin.host = std::string(rest.substr(0, colon));
        if (colon != std::string_view::npos) {
            port = rest.substr(colon + 1);
        }
    }
    if (origin.host.empty()) {
        BadUrl(base_url, "missing host");
    }
    if (port.empty()) {
        origin.port = "80";
        return origin;
    }
    if (port.size() > 5 ||
        !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        BadUrl(base_url, "invalid port");
    }
    const int number = std::stoi(std::string(port));
    if (number < 1 || number > 65535) {
        BadUrl(base_url, "invalid port");
    }
    origin.port = std::to_string(number);
    return origin;
}

/// One keep-alive connection. Its own io_context lets one thread drive it with a deadline
/// (run_until) without a shared event loop; only one Send uses it at a time.
struct Connection {
    asio::io_context ioc{1};
    beast::tcp_stream stream{ioc};  // After ioc: destroyed first.
    beast::flat_buffer buffer;
};

/// Runs the connection's pending operations until they complete or `deadline` passes. On
/// timeout closes the socket (the operations finish as aborted) and returns false.
bool RunUntil(Connection& connection, Clock::time_point deadline) {
    connection.ioc.restart();
    connection.ioc.run_until(deadline);
    if (connection.ioc.stopped()) {
        return true;  // Out of work: every operation completed.
    }
    connection.stream.close();
    connection.ioc.restart();
    connection.ioc.run();  // Completion handlers of the cancelled operations.
    return false;
}

/// An idle keep-alive connection that is readable has been closed by the server (or received
/// bytes nobody asked for): either way it cannot carry a request.
bool LooksClosed(Connection& connection) {
    pollfd descriptor{};
    descriptor.fd = connection.stream.socket().native_handle();
    descriptor.events = POLLIN;
    return ::poll(&descriptor, 1, 0) != 0;
}

enum class Outcome { kOk, kTimeout, kFailedBeforeAnswer, kFailed };

}  // namespace

struct Client::Impl {
    Impl(Origin origin, ClientOptions options)
        : origin_(std::move(origin)), options_(options), name_("http://" + origin_.authority) {}

    std::unique_ptr<Connection> TakeIdle();
    void GiveBack(std::unique_ptr<Connection> connection);
    std::unique_ptr<Connection> Connect(Error& error) const;
    Outcome Exchange(
        Connection& connection,
        const bhttp::request<bhttp::string_body>& request,
        bhttp::response_parser<bhttp::string_body>& parser,
        std::string& failure
    ) const;

    const Origin origin_;
    const ClientOptions options_;
    const std::string name_;
    std::mutex mutex_;
    std::vector<std::unique_ptr<Connection>> idle_;  // A stack: the warmest on top.
};

std::unique_ptr<Connection> Client::Impl::TakeIdle() {
    while (true) {
        std::unique_ptr<Connection> connection;
        {
            const std::lock_guard lock(mutex_);
            if (idle_.empty()) {
                return nullptr;
            }
            connection = std::move(idle_.back());
            idle_.pop_back();
        }
        if (!LooksClosed(*connection)) {
            return connection;
        }
        // Closed by the server while idle: drop it (outside the lock) and try the next one.
    }
}

void Client::Impl::GiveBack(std::unique_ptr<Connection> connection) {
    {
        const std::lock_guard lock(mutex_);
        if (idle_.size() < options_.max_connections) {
            idle_.push_back(std::move(connection));
            return;
        }
    }
    // The pool is full: `connection` closes here, outside the lock.
}

std::unique_ptr<Connection> Client::Impl::Connect(Error& error) const {
    auto connection = std::make_unique<Connection>();
    const Clock::time_point deadline = Clock::now() + options_.connect_timeout;

    std::vector<tcp::endpoint> endpoints;
    beast::error_code ec;
    const auto address = asio::ip::make_address(origin_.host, ec);
    const auto port = static_cast<std::uint16_t>(std::stoi(origin_.port));
    if (!ec) {
        endpoints.emplace_back(address, port);
    } else {
        // Name lookup (getaddrinfo) is bounded by the resolver's own timeouts, not ours.
        tcp::resolver resolver(connection->ioc);
        const auto results = resolver.resolve(origin_.host, origin_.port, ec);
        if (ec) {
            error = Error(ErrorCode::kUnavailable, "resolve " + name_ + ": " + ec.message());
            return nullptr;
        }
        for (const auto& entry : results) {
            endpoints.push_back(entry.endpoint());
        }
    }

    beast::error_code connect_ec = asio::error::would_block;
    connection->stream.async_connect(
        endpoints,
        [&connect_ec](beast::error_code result, const tcp::endpoint& /*endpoint*/) {
            connect_ec = result;
        }
    );
    if (!RunUntil(*connection, deadline)) {
        error = Error(
            ErrorCode::kUnavailable,
            "connect to " + name_ + ": timed out after " +
                std::to_string(options_.connect_timeout.count()) + " ms"
        );
        return nullptr;
    }
    if (connect_ec) {
        error = Error(ErrorCode::kUnavailable, "connect to " + name_ + ": " + connect_ec.message());
        return nullptr;
    }
    beast::error_code ignored;
    connection->stream.socket().set_option(tcp::no_delay(true), ignored);
    return connection;
}

Outcome Client::Impl::Exchange(
    Connection& connection,
    const bhttp::request<bhttp::string_body>& request,
    bhttp::response_parser<bhttp::string_body>& parser,
    std::string& failure
) const {
    const Clock::time_point deadline = Clock::now() + options_.request_timeout;
    beast::error_code write_ec = asio::error::would_block;
    beast::error_code read_ec = asio::error::would_block;
    bhttp::async_write(
        connection.stream,
        request,
        [&](beast::error_code ec, std::size_t /*bytes*/) {
            write_ec = ec;
            if (ec) {
                return;
            }
            bhttp::async_read(
                connection.stream,
                connection.buffer,
                parser,
                [&read_ec](beast::error_code read_result, std::size_t /*bytes*/) {
                    read_ec = read_result;
                }
            );
        }
    );
    if (!RunUntil(connection, deadline)) {
        failure = "no response from " + name_ + " within " +
                  std::to_string(options_.request_timeout.count()) + " ms";
        return Outcome::kTimeout;
    }
    if (write_ec) {
        failure = "send to " + name_ + ": " + write_ec.message();
        return Outcome::kFailedBeforeAnswer;
    }
    if (read_ec) {
        failure = "read from " + name_ + ": " + read_ec.message();
        const bool nothing_read = !parser.got_some() && connection.buffer.size() == 0;
        return nothing_read ? Outcome::kFailedBeforeAnswer : Outcome::kFailed;
    }
    return Outcome::kOk;
}

Client::Client(const std::string& base_url, ClientOptions options)
    : impl_(std::make_unique<Impl>(ParseOrigin(base_url), options)) {}

Client::~Client() = default;

ClientResult Client::Send(
    std::string_view method,
    std::string_view target,
    std::string_view body,
    const std::vector<std::pair<std::string, std::string>>& headers
) {
    Impl& impl = *impl_;
    bhttp::request<bhttp::string_body> request;
    request.version(11);
    request.method_string(method);
    request.target(target.empty() ? std::string_view("/") : target);
    request.set(bhttp::field::host, impl.origin_.authority);
    request.set(bhttp::field::user_agent, "sagapay");
    bool retry_safe = method == "GET";
    for (const auto& [name, value] : headers) {
        const std::string lower = ToLower(name);
        retry_safe = retry_safe || lower == "idempotency-key";
        if (lower == "host" || lower == "user-agent") {
            request.set(name, value);
        } else {
            request.insert(name, value);
        }
    }
    request.body() = std::string(body);
    request.prepare_payload();

    bool fresh_only = false;
    for (int attempt = 0;; ++attempt) {
        std::unique_ptr<Connection> connection = fresh_only ? nullptr : impl.TakeIdle();
        const bool reused = connection != nullptr;
        if (!connection) {
            Error error;
            connection = impl.Connect(error);
            if (!connection) {
                return tl::unexpected(std::move(error));
            }
        }

        bhttp::response_parser<bhttp::string_body> parser;
        std::string failure;
        switch (impl.Exchange(*connection, request, parser, failure)) {
            case Outcome::kOk: {
                const bool keep = parser.keep_alive() && connection->buffer.size() == 0;
                auto& message = parser.get();
                Response response;
                response.status = static_cast<int>(message.result_int());
                response.content_type = std::string(message[bhttp::field::content_type]);
                response.headers.reserve(16);
                for (const auto& field : message) {
                    response.headers.emplace_back(
                        ToLower(field.name_string()), std::string(field.value())
                    );
                }
                response.body = std::move(message.body());
                if (keep) {
                    impl.GiveBack(std::move(connection));
                }
                return response;
            }
            case Outcome::kTimeout:
                return Fail(ErrorCode::kDeadlineExceeded, std::move(failure));
            case Outcome::kFailedBeforeAnswer:
                // Most likely a pooled connection the server closed as we sent on it. The server
                // probably never read the request, but only a GET or a keyed request is safe to
                // send again.
                if (reused && retry_safe && attempt == 0) {
                    fresh_only = true;
                    continue;
                }
                return Fail(ErrorCode::kInternal, std::move(failure));
            case Outcome::kFailed:
                return Fail(ErrorCode::kInternal, std::move(failure));
        }
    }
}

}  // namespace sagapay::http
