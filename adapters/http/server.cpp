// The HTTP server: Boost.Beast stays in this file (and client.cpp) because it compiles slowly.
#include "adapters/http/server.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <exception>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <sys/resource.h>

#include "adapters/http/ascii.hpp"
#include "adapters/http/beast_request.hpp"
#include "adapters/http/request.hpp"
#include "adapters/http/response.hpp"
#include "adapters/http/router.hpp"

namespace sagapay::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

/// After an error response the server reads (and discards) what the client still sends, so the
/// client can finish writing and read the answer instead of getting a reset.
constexpr std::size_t kMaxDrainBytes = std::size_t{4} * 1024 * 1024;
constexpr std::chrono::seconds kMaxDrainTime{2};

void LogLine(std::string line) {
    for (char& c : line) {
        c = (c == '\n' || c == '\r') ? ' ' : c;
    }
    line.push_back('\n');
    std::fwrite(line.data(), 1, line.size(), stderr);
    std::fflush(stderr);
}

/// A request the parser rejected (not a connection that ended early): worth a 400.
bool IsMalformedRequest(const beast::error_code& ec) {
    const bool parser_error =
        ec.category() == bhttp::make_error_code(bhttp::error::bad_method).category();
    return parser_error && ec != bhttp::error::end_of_stream && ec != bhttp::error::partial_message;
}

/// Headers the server manages itself: a handler must not break the framing.
bool IsReservedHeader(std::string_view name) {
    const std::string lower = detail::ToLower(name);
    return lower == "content-length" || lower == "transfer-encoding" || lower == "connection";
}

/// Past the cap with every connection busy, new connections are closed; say so at most this often.
constexpr std::chrono::seconds kRefusalLogInterval{10};

}  // namespace

std::size_t MaxConnectionsFor(const ServerOptions& options) noexcept {
    if (options.max_connections > 0) {
        return options.max_connections;
    }
    rlimit limit{};
    if (getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) {
        return std::size_t{1} << 16;
    }
    const auto files = static_cast<std::size_t>(limit.rlim_cur);
    if (files > options.fd_headroom + 16) {
        return files - options.fd_headroom;
    }
    return std::max<std::size_t>(files / 2, 1);  // a tiny limit: keep half for the rest
}

struct Server::Impl {
    class Session;

    Impl(ServerOptions options, Router router)
        : options_(std::move(options)),
          router_(std::move(router)),
          port_(options_.port),
          acceptor_(asio::make_strand(ioc_)),
          retry_timer_(acceptor_.get_executor()) {}

    void Accept();
    void OnAccept(beast::error_code ec, tcp::socket socket);
    void Run();
    void Unregister(Session* session);
    /// A session waiting for a request (idle) may be shed when the server is at its cap; the
    /// longest idle goes first.
    void MarkIdle(Session* session);
    void MarkBusy(Session* session);
    /// Under mutex_: the longest idle session, taken off the idle list, or null.
    std::shared_ptr<Session> TakeLongestIdleLocked();
    [[nodiscard]] bool Stopping() const noexcept { return stopping_.load(); }

    ServerOptions options_;
    Router router_;
    std::size_t max_connections_ = 0;  // Set by Start().
    // Guards started_, sessions_, idle_, the sessions' idle positions, last_refusal_log_ and
    // the transition of stopping_.
    std::mutex mutex_;
    bool started_ = false;
    std::atomic<bool> stopping_{false};
    std::unordered_map<Session*, std::weak_ptr<Session>> sessions_;
    std::list<Session*> idle_;  // Oldest first.
    std::chrono::steady_clock::time_point last_refusal_log_{};
    std::atomic<std::uint16_t> port_;
    // Declared after the members above: destroying the io_context destroys pending sessions,
    // which unregister themselves.
    asio::io_context ioc_;
    tcp::acceptor acceptor_;
    asio::steady_timer retry_timer_;
    std::vector<std::thread> threads_;
};

/// One connection: read a request, run the handler, write the answer, repeat while keep-alive.
/// All of it runs on the session's strand.
class Server::Impl::Session : public std::enable_shared_from_this<Session> {
public:
    Session(Impl& server, tcp::socket socket) : server_(server), stream_(std::move(socket)) {}
    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;
    ~Session() { server_.Unregister(this); }

    // Guarded by the server's mutex_: where this session is in the server's idle list.
    std::list<Session*>::iterator idle_position_;
    bool in_idle_list_ = false;

    void Start() {
        asio::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->Read(); });
    }

    /// Closes the connection from any thread: pending operations finish with an error.
    void CloseSoon() {
        asio::post(stream_.get_executor(), [self = shared_from_this()] { self->Close(); });
    }

private:
    void Read() {
        if (server_.Stopping()) {
            Close();
            return;
        }
        parser_.emplace();
        parser_->body_limit(server_.options_.body_limit);
        // A new connection has a short deadline for its first request; a kept-alive one may wait
        // longer between requests. Either way it is idle, and sheddable, until a request is read.
        stream_.expires_after(
            first_request_ ? server_.options_.first_request_timeout : server_.options_.idle_timeout
        );
        server_.MarkIdle(this);
        bhttp::async_read(
            stream_,
            buffer_,
            *parser_,
            beast::bind_front_handler(&Session::OnRead, shared_from_this())
        );
    }

    void OnRead(beast::error_code ec, std::size_t /*bytes*/) {
        server_.MarkBusy(this);
        if (!ec) {
            first_request_ = false;
            Handle();
            return;
        }
        if (ec == bhttp::error::body_limit) {
            Observe413();
            WriteErrorAndClose(413, "payload_too_large", "the request body is too large");
        } else if (ec == bhttp::error::header_limit) {
            WriteErrorAndClose(431, "headers_too_large", "the request headers are too large");
        } else if (IsMalformedRequest(ec)) {
            WriteErrorAndClose(400, "bad_request", "malformed HTTP request");
        } else {
            // End of stream, idle timeout, reset, or Stop(): nothing to answer.
            Close();
        }
    }

    void Handle() {
        auto& message = parser_->get();
        const bool keep_alive = message.keep_alive();
        const unsigned version = message.version();
        Request request = detail::ToRequest(message);

        const auto start = std::chrono::steady_clock::now();
        std::string route;
        Response response;
        try {
            response = server_.router_.DispatchRoute(request, route);
        } catch (const std::exception& e) {
            LogLine(
                "http: dispatch of " + request.method + " " + request.path + " threw: " + e.what()
            );
            response = ErrorResponse(500, "internal", "internal server error");
        }
        const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
        request.route = std::move(route);  // The observer labels by pattern, never by raw path.
        Observe(request, response, elapsed.count());
        Write(response, version, keep_alive && !server_.Stopping());
    }

    void Observe(const Request& request, const Response& response, double seconds) const {
        if (!server_.options_.observer) {
            return;
        }
        try {
            server_.options_.observer(request, response, seconds);
        } catch (const std::exception& e) {
            LogLine(std::string("http: observer threw: ") + e.what());
        } catch (...) {
            LogLine("http: observer threw");
        }
    }

    void Observe413() const {
        if (!server_.options_.observer || !parser_->is_header_done()) {
            return;
        }
        const auto& message = parser_->get();
        Request request;
        request.method = std::string(message.method_string());
        const std::string_view target = message.target();
        request.path = std::string(target.substr(0, target.find('?')));
        Observe(request, ErrorResponse(413, "payload_too_large", ""), 0.0);
    }

    void Prepare(const Response& response, unsigned version, bool keep_alive) {
        response_ = {};
        int status = response.status;
        if (status < 100 || status > 999) {
            LogLine("http: handler returned invalid status " + std::to_string(status));
            status = 500;
        }
        response_.version(version);
        response_.result(static_cast<unsigned>(status));
        for (const auto& [name, value] : response.headers) {
            if (!IsReservedHeader(name)) {
                response_.insert(name, value);
            }
        }
        response_.set(bhttp::field::server, "sagapay");
        const bool no_body = status < 200 || status == 204 || status == 304;
        if (!no_body) {
            if (!response.content_type.empty()) {
                response_.set(bhttp::field::content_type, response.content_type);
            }
            response_.body() = response.body;
        }
        response_.keep_alive(keep_alive);
        response_.prepare_payload();
    }

    void Write(const Response& response, unsigned version, bool keep_alive) {
        Prepare(response, version, keep_alive);
        stream_.expires_after(server_.options_.idle_timeout);
        bhttp::async_write(
            stream_, response_, beast::bind_front_handler(&Session::OnWrite, shared_from_this())
        );
    }

    void OnWrite(beast::error_code ec, std::size_t /*bytes*/) {
        if (ec) {
            Close();
            return;
        }
        if (!response_.keep_alive()) {
            beast::error_code ignored;
            stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
            Close();
            return;
        }
        Read();
    }

    void WriteErrorAndClose(int status, std::string_view code, std::string_view message) {
        Prepare(ErrorResponse(status, code, message), 11, false);
        stream_.expires_after(server_.options_.idle_timeout);
        bhttp::async_write(
            stream_,
            response_,
            [self = shared_from_this()](beast::error_code ec, std::size_t /*bytes*/) {
                if (ec) {
                    self->Close();
                    return;
                }
                beast::error_code ignored;
                self->stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
                self->buffer_.consume(self->buffer_.size());
                self->Drain();
            }
        );
    }

    void Drain() {
        stream_.expires_after(std::min<std::chrono::steady_clock::duration>(
            server_.options_.idle_timeout, kMaxDrainTime
        ));
        stream_.async_read_some(
            buffer_.prepare(std::size_t{16} * 1024),
            [self = shared_from_this()](beast::error_code ec, std::size_t bytes) {
                self->drained_ += bytes;
                if (ec || self->drained_ > kMaxDrainBytes || self->server_.Stopping()) {
                    self->Close();
                    return;
                }
                self->Drain();
            }
        );
    }

    void Close() {
        beast::error_code ignored;
        stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
        stream_.close();
    }

    Impl& server_;
    beast::tcp_stream stream_;
    beast::flat_buffer buffer_;
    std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
    bhttp::response<bhttp::string_body> response_;
    std::size_t drained_ = 0;
    bool first_request_ = true;
};

void Server::Impl::Accept() {
    acceptor_.async_accept(
        asio::make_strand(ioc_), beast::bind_front_handler(&Impl::OnAccept, this)
    );
}

void Server::Impl::OnAccept(beast::error_code ec, tcp::socket socket) {
    if (Stopping() || !acceptor_.is_open()) {
        return;
    }
    if (ec) {
        // E.g. out of file descriptors: wait a little instead of spinning.
        LogLine("http: accept failed: " + ec.message());
        retry_timer_.expires_after(std::chrono::milliseconds(50));
        retry_timer_.async_wait([this](beast::error_code wait_ec) {
            if (!wait_ec && !Stopping()) {
                Accept();
            }
        });
        return;
    }
    beast::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    auto session = std::make_shared<Session>(*this, std::move(socket));
    std::shared_ptr<Session> shed;
    bool refused = false;
    bool log_refusal = false;
    {
        const std::lock_guard lock(mutex_);
        if (Stopping()) {
            return;  // Stop() has already closed the others: drop this one too.
        }
        if (sessions_.size() >= max_connections_) {
            // At the cap (kept below the file limit, so accept itself never starts failing):
            // a client that is not using its connection makes room for one that wants to.
            shed = TakeLongestIdleLocked();
            refused = shed == nullptr;
            const auto now = std::chrono::steady_clock::now();
            if (refused && now - last_refusal_log_ >= kRefusalLogInterval) {
                last_refusal_log_ = now;
                log_refusal = true;
            }
        }
        if (!refused) {
            sessions_.emplace(session.get(), session);
            // Idle from the start, in accept order: a connection that never sends is the first
            // to go.
            session->idle_position_ = idle_.insert(idle_.end(), session.get());
            session->in_idle_list_ = true;
        }
    }
    if (shed) {
        shed->CloseSoon();
    }
    if (refused) {
        if (log_refusal) {
            LogLine(
                "http: at the connection cap (" + std::to_string(max_connections_) +
                ") with every connection busy: closing new connections"
            );
        }
        session->CloseSoon();  // never started: closing it ends it
    } else {
        session->Start();
    }
    Accept();
}

void Server::Impl::Unregister(Session* session) {
    const std::lock_guard lock(mutex_);
    sessions_.erase(session);
    if (session->in_idle_list_) {
        idle_.erase(session->idle_position_);
        session->in_idle_list_ = false;
    }
}

void Server::Impl::MarkIdle(Session* session) {
    const std::lock_guard lock(mutex_);
    if (!session->in_idle_list_) {
        session->idle_position_ = idle_.insert(idle_.end(), session);
        session->in_idle_list_ = true;
    }
}

void Server::Impl::MarkBusy(Session* session) {
    const std::lock_guard lock(mutex_);
    if (session->in_idle_list_) {
        idle_.erase(session->idle_position_);
        session->in_idle_list_ = false;
    }
}

std::shared_ptr<Server::Impl::Session> Server::Impl::TakeLongestIdleLocked() {
    while (!idle_.empty()) {
        Session* candidate = idle_.front();
        idle_.pop_front();
        candidate->in_idle_list_ = false;
        const auto found = sessions_.find(candidate);
        if (found == sessions_.end()) {
            continue;
        }
        if (auto session = found->second.lock()) {
            return session;  // else it is being destroyed: it frees its slot by itself
        }
    }
    return nullptr;
}

void Server::Impl::Run() {
    while (true) {
        try {
            ioc_.run();
            return;
        } catch (const std::exception& e) {
            LogLine(std::string("http: server thread caught: ") + e.what());
        } catch (...) {
            LogLine("http: server thread caught an unknown exception");
        }
    }
}

Server::Server(ServerOptions options, Router router)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(router))) {}

Server::~Server() {
    try {
        Stop();
    } catch (...) {
        // A destructor must not throw; a server that fails to stop has nothing left to release.
    }
}

void Server::Start() {
    Impl& impl = *impl_;
    const std::lock_guard lock(impl.mutex_);
    if (impl.Stopping()) {
        throw std::logic_error("Server::Start after Stop");
    }
    if (impl.started_) {
        return;
    }
    const std::string address_text = impl.options_.host + ":" + std::to_string(impl.options_.port);
    const auto fail = [&](const beast::error_code& ec) {
        beast::error_code ignored;
        impl.acceptor_.close(ignored);
        throw std::runtime_error("cannot listen on " + address_text + ": " + ec.message());
    };

    beast::error_code ec;
    tcp::endpoint endpoint;
    const auto address = asio::ip::make_address(impl.options_.host, ec);
    if (!ec) {
        endpoint = tcp::endpoint(address, impl.options_.port);
    } else {
        tcp::resolver resolver(impl.ioc_);
        const auto results = resolver.resolve(
            impl.options_.host,
            std::to_string(impl.options_.port),
            tcp::resolver::passive | tcp::resolver::address_configured,
            ec
        );
        if (ec) {
            fail(ec);
        }
        if (results.empty()) {
            fail(asio::error::host_not_found);
        }
        endpoint = results.begin()->endpoint();
    }

    if (impl.acceptor_.open(endpoint.protocol(), ec); ec) {
        fail(ec);
    }
    if (impl.acceptor_.set_option(tcp::acceptor::reuse_address(true), ec); ec) {
        fail(ec);
    }
    if (impl.acceptor_.bind(endpoint, ec); ec) {
        fail(ec);
    }
    if (impl.acceptor_.listen(asio::socket_base::max_listen_connections, ec); ec) {
        fail(ec);
    }
    const tcp::endpoint bound = impl.acceptor_.local_endpoint(ec);
    if (ec) {
        fail(ec);
    }
    impl.port_ = bound.port();
    impl.max_connections_ = MaxConnectionsFor(impl.options_);
    impl.started_ = true;
    impl.Accept();
    const int threads = std::max(1, impl.options_.threads);
    for (int i = 0; i < threads; ++i) {
        impl.threads_.emplace_back([&impl] { impl.Run(); });
    }
}

void Server::Stop() {
    Impl& impl = *impl_;
    std::vector<std::shared_ptr<Impl::Session>> live;
    {
        const std::lock_guard lock(impl.mutex_);
        if (impl.stopping_.exchange(true)) {
            return;
        }
        live.reserve(impl.sessions_.size());
        for (const auto& [key, weak] : impl.sessions_) {
            if (auto session = weak.lock()) {
                live.push_back(std::move(session));
            }
        }
    }
    asio::post(impl.acceptor_.get_executor(), [&impl] {
        beast::error_code ignored;
        impl.acceptor_.close(ignored);
        impl.retry_timer_.cancel();
    });
    for (const auto& session : live) {
        session->CloseSoon();
    }
    live.clear();  // Outside the lock: the last owner's destructor unregisters.
    // With the listener and every connection closed the threads run out of work and return;
    // a handler still running is waited for.
    for (auto& thread : impl.threads_) {
        if (thread.get_id() == std::this_thread::get_id()) {
            thread.detach();  // Stop() from a handler: cannot join ourselves.
        } else if (thread.joinable()) {
            thread.join();
        }
    }
    impl.threads_.clear();
}

std::uint16_t Server::Port() const noexcept {
    return impl_->port_.load();
}

std::size_t Server::MaxConnections() const noexcept {
    const std::lock_guard lock(impl_->mutex_);
    return impl_->max_connections_;
}

}  // namespace sagapay::http
