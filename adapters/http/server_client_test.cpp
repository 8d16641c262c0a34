#include <atomic>
#include <cctype>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <nlohmann/json.hpp>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "adapters/http/http.hpp"

namespace sagapay::http {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

/// Lets a test hold a handler until it has checked something. Waits are bounded so a failing
/// test cannot hang the server's Stop().
class Gate {
public:
    void Open() {
        {
            const std::lock_guard lock(mutex_);
            open_ = true;
        }
        cv_.notify_all();
    }
    bool Wait(std::chrono::milliseconds limit = 10s) {
        std::unique_lock lock(mutex_);
        return cv_.wait_for(lock, limit, [this] { return open_; });
    }

private:
    std::mutex mutex_;
    std::condition_variable cv_;
    bool open_ = false;
};

std::string BaseUrl(const Server& server) {
    return "http://127.0.0.1:" + std::to_string(server.Port());
}

ServerOptions LocalOptions() {
    ServerOptions options;
    options.host = "127.0.0.1";
    options.port = 0;
    return options;
}

/// Echoes method, path params, query `q`, header `x-trace` and the body as JSON.
Router EchoRouter() {
    Router router;
    const auto echo = [](Request& request) {
        nlohmann::json body = {
            {"method", request.method},
            {"params", request.path_params},
            {"q", request.QueryParam("q").value_or("")},
            {"trace", std::string(request.Header("x-trace"))},
            {"body", request.body},
        };
        Response response = JsonResponse(200, body.dump());
        response.headers.emplace_back("X-Request-Method", request.method);
        return response;
    };
    router.Add("GET", "/echo", echo);
    router.Add("POST", "/echo", echo);
    router.Add("POST", "/payments/{id}/capture", [](Request& request) {
        Response response =
            JsonResponse(201, R"({"captured":")" + request.path_params.at(0) + "\"}");
        response.headers.emplace_back("Location", "/payments/" + request.path_params.at(0));
        return response;
    });
    router.Add("GET", "/boom", [](Request&) -> Response { throw std::runtime_error("secret"); });
    return router;
}

// ---- Raw sockets: to see the wire without our client in between. ----

class RawSocket {
public:
    explicit RawSocket(std::uint16_t port) : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
        if (fd_ < 0) {
            throw std::runtime_error("socket failed");
        }
        timeval timeout{};
        timeout.tv_sec = 5;
        ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_port = htons(port);
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
            throw std::runtime_error("connect failed");
        }
    }
    RawSocket(const RawSocket&) = delete;
    RawSocket& operator=(const RawSocket&) = delete;
    ~RawSocket() { ::close(fd_); }

    void Send(std::string_view data) const {
        while (!data.empty()) {
            const ssize_t sent = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
            if (sent <= 0) {
                throw std::runtime_error("send failed");
            }
            data.remove_prefix(static_cast<std::size_t>(sent));
        }
    }

    /// Reads one response with a Content-Length body; empty when the peer closed first.
    std::string ReadResponse() {
        while (true) {
            const std::size_t header_end = pending_.find("\r\n\r\n");
            if (header_end != std::string::npos) {
                const std::size_t length = ContentLength(pending_.substr(0, header_end));
                const std::size_t total = header_end + 4 + length;
                if (pending_.size() >= total) {
                    std::string response = pending_.substr(0, total);
                    pending_.erase(0, total);
                    return response;
                }
            }
            if (!ReadMore()) {
                return {};
            }
        }
    }

    /// True when the peer closes the connection (recv returns 0) within the receive timeout.
    bool ClosedByPeer() {
        char byte = 0;
        return ::recv(fd_, &byte, 1, 0) == 0;
    }

private:
    static std::size_t ContentLength(const std::string& head) {
        std::string lower = head;
        for (char& c : lower) {
            c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        }
        const std::size_t at = lower.find("content-length:");
        return at == std::string::npos ? 0 : std::stoul(lower.substr(at + 15));
    }

    bool ReadMore() {
        char chunk[4096];
        const ssize_t got = ::recv(fd_, chunk, sizeof(chunk), 0);
        if (got <= 0) {
            return false;
        }
        pending_.append(chunk, static_cast<std::size_t>(got));
        return true;
    }

    int fd_;
    std::string pending_;
};

/// A scripted HTTP/1.1 origin for client tests, serving one connection at a time. Connection i
/// answers `answers[i]` requests, then reads one more and closes without answering (a server
/// closing a keep-alive connection just as the client reuses it). Later connections answer all.
class ScriptedOrigin {
public:
    explicit ScriptedOrigin(std::vector<int> answers)
        : answers_(std::move(answers)), listener_(::socket(AF_INET, SOCK_STREAM, 0)) {
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_port = 0;
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t size = sizeof(address);
        if (listener_ < 0 ||
            ::bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
            ::listen(listener_, 16) != 0 ||
            ::getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &size) != 0) {
            throw std::runtime_error("scripted origin cannot listen");
        }
        port_ = ntohs(address.sin_port);
        thread_ = std::thread([this] { Loop(); });
    }
    ScriptedOrigin(const ScriptedOrigin&) = delete;
    ScriptedOrigin& operator=(const ScriptedOrigin&) = delete;
    ~ScriptedOrigin() {
        stop_ = true;
        thread_.join();
        ::close(listener_);
    }

    [[nodiscard]] std::string BaseUrl() const {
        return "http://127.0.0.1:" + std::to_string(port_);
    }
    [[nodiscard]] int Accepted() const { return accepted_.load(); }
    [[nodiscard]] int Requests() const { return requests_.load(); }

private:
    /// Waits up to 100 ms for `fd` to be readable.
    static bool Readable(int fd) {
        pollfd descriptor{};
        descriptor.fd = fd;
        descriptor.events = POLLIN;
        return ::poll(&descriptor, 1, 100) > 0;
    }

    void Loop() {
        while (!stop_) {
            if (!Readable(listener_)) {
                continue;
            }
            const int fd = ::accept(listener_, nullptr, nullptr);
            if (fd < 0) {
                continue;
            }
            const int index = accepted_++;
            const int answers = index < static_cast<int>(answers_.size())
                                    ? answers_[static_cast<std::size_t>(index)]
                                    : -1;
            Serve(fd, answers);
            ::close(fd);
        }
    }

    void Serve(int fd, int answers) {
        std::string pending;
        for (int answered = 0; !stop_; ++answered) {
            if (!ReadRequest(fd, pending)) {
                return;
            }
            ++requests_;
            if (answers >= 0 && answered >= answers) {
                return;  // Drop the request unanswered.
            }
            const std::string body = "request " + std::to_string(requests_.load());
            const std::string response =
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                "Content-Length: " +
                std::to_string(body.size()) + "\r\n\r\n" + body;
            if (::send(fd, response.data(), response.size(), MSG_NOSIGNAL) < 0) {
                return;
            }
        }
    }

    /// Reads one request (headers and Content-Length body) into nothing; false on close/stop.
    bool ReadRequest(int fd, std::string& pending) {
        while (!stop_) {
            const std::size_t header_end = pending.find("\r\n\r\n");
            if (header_end != std::string::npos) {
                std::string head = pending.substr(0, header_end);
                for (char& c : head) {
                    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
                }
                const std::size_t at = head.find("content-length:");
                const std::size_t length =
                    at == std::string::npos ? 0 : std::stoul(head.substr(at + 15));
                if (pending.size() >= header_end + 4 + length) {
                    pending.erase(0, header_end + 4 + length);
                    return true;
                }
            }
            if (!Readable(fd)) {
                continue;
            }
            char chunk[4096];
            const ssize_t got = ::recv(fd, chunk, sizeof(chunk), 0);
            if (got <= 0) {
                return false;
            }
            pending.append(chunk, static_cast<std::size_t>(got));
        }
        return false;
    }

    std::vector<int> answers_;
    int listener_ = -1;
    std::uint16_t port_ = 0;
    std::atomic<bool> stop_{false};
    std::atomic<int> accepted_{0};
    std::atomic<int> requests_{0};
    std::thread thread_;
};

// ---- Server and Client together. ----

TEST(ServerClient, RoundTripsAPostWithBodyAndHeaders) {
    Server server(LocalOptions(), EchoRouter());
    server.Start();
    Client client(BaseUrl(server));

    const ClientResult result =
        client.Send("POST", "/echo?q=a%20b+c", R"({"amount":100})", {{"X-Trace", "t-1"}});

    ASSERT_TRUE(result.has_value()) << result.error().message;
    const Response& response = *result;
    EXPECT_EQ(response.status, 200);
    EXPECT_EQ(response.content_type, "application/json");
    EXPECT_EQ(response.Header("server"), "sagapay");
    EXPECT_EQ(response.Header("x-request-method"), "POST");
    EXPECT_EQ(response.Header("content-length"), std::to_string(response.body.size()));
    const auto body = nlohmann::json::parse(response.body);
    EXPECT_EQ(body.at("method"), "POST");
    EXPECT_EQ(body.at("q"), "a b c");
    EXPECT_EQ(body.at("trace"), "t-1");
    EXPECT_EQ(body.at("body"), R"({"amount":100})");
}

TEST(ServerClient, PassesPathParamsAndHandlerStatusAndHeaders) {
    Server server(LocalOptions(), EchoRouter());
    server.Start();
    Client client(BaseUrl(server));

    const ClientResult result = client.Send("POST", "/payments/pay_7/capture");

    ASSERT_TRUE(result.has_value()) << result.error().message;
    EXPECT_EQ(result->status, 201);
    EXPECT_EQ(result->body, R"({"captured":"pay_7"})");
    EXPECT_EQ(result->Header("location"), "/payments/pay_7");
}

TEST(ServerClient, AnswersUnknownPathsAndWrongMethodsWithJsonErrors) {
    Server server(LocalOptions(), EchoRouter());
    server.Start();
    Client client(BaseUrl(server));

    const ClientResult missing = client.Get("/nowhere");
    const ClientResult wrong_method = client.Send("DELETE", "/echo");

    ASSERT_TRUE(missing.has_value()) << missing.error().message;
    EXPECT_EQ(missing->status, 404);
    EXPECT_EQ(nlohmann::json::parse(missing->body)["error"]["code"], "not_found");
    ASSERT_TRUE(wrong_method.has_value()) << wrong_method.error().message;
    EXPECT_EQ(wrong_method->status, 405);
    EXPECT_EQ(wrong_method->Header("allow"), "GET, POST");
}

TEST(ServerClient, AnswersAThrowingHandlerWith500AndKeepsServing) {
    Server server(LocalOptions(), EchoRouter());
    server.Start();
    Client client(BaseUrl(server));

    const ClientResult boom = client.Get("/boom");
    const ClientResult after = client.Get("/echo");

    ASSERT_TRUE(boom.has_value()) << boom.error().message;
    EXPECT_EQ(boom->status, 500);
    EXPECT_EQ(boom->body.find("secret"), std::string::npos);
    ASSERT_TRUE(after.has_value()) << after.error().message;
    EXPECT_EQ(after->status, 200);
}

TEST(ServerClient, CallsTheObserverWithTheRoutePatternStatusAndDuration) {
    std::mutex mutex;
    std::vector<std::string> seen;
    ServerOptions options = LocalOptions();
    options.observer = [&](const Request& request, const Response& response, double seconds) {
        const std::lock_guard lock(mutex);
        seen.push_back(
            request.method + " " +
            (request.route.empty() ? "(no route) " + request.path : request.route) + " " +
            std::to_string(response.status) + (seconds >= 0.0 ? "" : " negative")
        );
    };
    Server server(options, EchoRouter());
    server.Start();
    Client client(BaseUrl(server));

    ASSERT_TRUE(client.Send("POST", "/payments/pay_1/capture").has_value());
    ASSERT_TRUE(client.Get("/nowhere").has_value());

    const std::lock_guard lock(mutex);
    EXPECT_EQ(
        seen,
        (std::vector<std::string>{"POST /payments/{id}/capture 201", "GET (no route) /nowhere 404"})
    );
}

TEST(ServerClient, ServesOneHundredSequentialRequestsQuickly) {
    Server server(LocalOptions(), EchoRouter());
    server.Start();
    Client client(BaseUrl(server));

    const auto start = Clock::now();
    for (int i = 0; i < 100; ++i) {
        const ClientResult result = client.Send("POST", "/echo", std::to_string(i));
        ASSERT_TRUE(result.has_value()) << "request " << i << ": " << result.error().message;
        ASSERT_EQ(nlohmann::json::parse(result->body).at("body"), std::to_string(i));
    }
    EXPECT_LT(Clock::now() - start, 10s);  // Generous for sanitizers; ~50 ms warm.
}

TEST(Server, KeepsTheConnectionOpenBetweenRequests) {
    Server server(LocalOptions(), EchoRouter());
    server.Start();
    RawSocket socket(server.Port());

    for (int i = 0; i < 3; ++i) {
        socket.Send("GET /echo?q=" + std::to_string(i) + " HTTP/1.1\r\nHost: x\r\n\r\n");
        const std::string response = socket.ReadResponse();
        ASSERT_EQ(response.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << response;
        EXPECT_NE(response.find("\"q\":\"" + std::to_string(i) + "\""), std::string::npos);
    }
}

TEST(Server, ClosesAfterAnsweringARequestThatAsksForIt) {
    Server server(LocalOptions(), EchoRouter());
    server.Start();
    RawSocket socket(server.Port());

    socket.Send("GET /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");

    EXPECT_EQ(socket.ReadResponse().rfind("HTTP/1.1 200 OK\r\n", 0), 0u);
    EXPECT_TRUE(socket.ClosedByPeer());
}

TEST(Server, AnswersMalformedHttpWith400AndCloses) {
    Server server(LocalOptions(), EchoRouter());
    server.Start();
    RawSocket socket(server.Port());

    socket.Send("THIS IS NOT HTTP\r\n\r\n");
    const std::string response = socket.ReadResponse();

    EXPECT_EQ(response.rfind("HTTP/1.1 400 Bad Request\r\n", 0), 0u) << response;
    EXPECT_NE(response.find(R"("code":"bad_request")"), std::string::npos);
    EXPECT_TRUE(socket.ClosedByPeer());
}

TEST(Server, RejectsABodyOverTheLimitWith413) {
    ServerOptions options = LocalOptions();
    options.body_limit = 1024;
    Server server(options, EchoRouter());
    server.Start();
    Client client(BaseUrl(server));

    const ClientResult at_limit = client.Send("POST", "/echo", std::string(1024, 'a'));
    const ClientResult over =
        client.Send("POST", "/echo", std::string(std::size_t{256} * 1024, 'b'));
    const ClientResult after = client.Get("/echo");

    ASSERT_TRUE(at_limit.has_value()) << at_limit.error().message;
    EXPECT_EQ(at_limit->status, 200);
    ASSERT_TRUE(over.has_value()) << over.error().message;
    EXPECT_EQ(over->status, 413);
    EXPECT_EQ(nlohmann::json::parse(over->body)["error"]["code"], "payload_too_large");
    EXPECT_EQ(over->Header("connection"), "close");
    ASSERT_TRUE(after.has_value()) << after.error().message;
    EXPECT_EQ(after->status, 200);
}

TEST(ServerClient, HandlesConcurrentRequestsFromEightThreads) {
    ServerOptions options = LocalOptions();
    options.threads = 4;
    Server server(options, EchoRouter());
    server.Start();
    Client client(BaseUrl(server));

    std::atomic<int> ok{0};
    std::vector<std::string> failures(8);
    std::vector<std::thread> threads;
    threads.reserve(8);
    for (int t = 0; t < 8; ++t) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < 25; ++i) {
                const std::string body = std::to_string(t) + "-" + std::to_string(i);
                const ClientResult result = client.Send("POST", "/echo", body);
                if (!result.has_value()) {
                    failures[static_cast<std::size_t>(t)] = result.error().message;
                    return;
                }
                if (nlohmann::json::parse(result->body).at("body") != body) {
                    failures[static_cast<std::size_t>(t)] = "wrong body for " + body;
                    return;
                }
                ++ok;
            }
        });
    }
    for (auto& thread : threads) {
        thread.join();
    }

    EXPECT_EQ(ok.load(), 8 * 25);
    EXPECT_EQ(failures, std::vector<std::string>(8));
}

TEST(ServerClient, ReportsTimeoutWhenTheHandlerIsSlowerThanTheClient) {
    Gate release;
    Router router = EchoRouter();
    router.Add("GET", "/slow", [&release](Request&) {
        release.Wait();
        return JsonResponse(200, "{}");
    });
    Server server(LocalOptions(), std::move(router));
    server.Start();
    ClientOptions client_options;
    client_options.request_timeout = 200ms;
    Client client(BaseUrl(server), client_options);

    const auto start = Clock::now();
    const ClientResult result = client.Get("/slow");
    const auto elapsed = Clock::now() - start;
    release.Open();

    ASSERT_FALSE(result.has_value());
    EXPECT_EQ(result.error().code, ErrorCode::kDeadlineExceeded);
    EXPECT_GE(elapsed, 200ms);
    EXPECT_LT(elapsed, 5s);
    const ClientResult after = client.Get("/echo");
    ASSERT_TRUE(after.has_value()) << after.error().message;
    EXPECT_EQ(after->status, 200);
}

TEST(Client, ReportsConnectErrorForAClosedPort) {
    std::uint16_t closed_port = 0;
    {
        Server probe(LocalOptions(), Router{});
        probe.Start();
        closed_port = probe.Port();
    }
    Client client("http://127.0.0.1:" + std::to_string(closed_port));

    const ClientResult result = client.Get("/");

    ASSERT_FALSE(result.has_value());
    EXPECT_EQ(result.error().code, ErrorCode::kUnavailable);
    EXPECT_FALSE(result.error().message.empty());
}

TEST(Client, RejectsOriginsItCannotServe) {
    EXPECT_THROW(Client("https://127.0.0.1:8443"), std::invalid_argument);
    EXPECT_THROW(Client("ftp://127.0.0.1:21"), std::invalid_argument);
    EXPECT_THROW(Client("http://127.0.0.1:8001/api"), std::invalid_argument);
    EXPECT_THROW(Client("http://127.0.0.1:99999"), std::invalid_argument);
    EXPECT_THROW(Client("http://:80"), std::invalid_argument);
    EXPECT_NO_THROW(Client("http://127.0.0.1:8001/"));
    EXPECT_NO_THROW(Client("HTTP://localhost"));
    EXPECT_NO_THROW(Client("http://[::1]:8001"));
}

TEST(Client, ReusesOneConnectionForSequentialRequests) {
    ScriptedOrigin origin(std::vector<int>{});
    Client client(origin.BaseUrl());

    for (int i = 0; i < 100; ++i) {
        const ClientResult result = client.Get("/x");
        ASSERT_TRUE(result.has_value()) << "request " << i << ": " << result.error().message;
        ASSERT_EQ(result->body, "request " + std::to_string(i + 1));
        EXPECT_EQ(result->content_type, "text/plain");
    }

    EXPECT_EQ(origin.Accepted(), 1);
    EXPECT_EQ(origin.Requests(), 100);
}

TEST(Client, RetriesAGetOnAFreshConnectionWhenAReusedOneDropsIt) {
    ScriptedOrigin origin({1});
    Client client(origin.BaseUrl());
    ASSERT_TRUE(client.Get("/warm").has_value());

    const ClientResult result = client.Get("/again");

    ASSERT_TRUE(result.has_value()) << result.error().message;
    EXPECT_EQ(result->body, "request 3");
    EXPECT_EQ(origin.Accepted(), 2);
}

TEST(Client, RetriesAPostWithIdempotencyKeyWhenAReusedConnectionDropsIt) {
    ScriptedOrigin origin({1});
    Client client(origin.BaseUrl());
    ASSERT_TRUE(client.Get("/warm").has_value());

    const ClientResult result =
        client.Send("POST", "/payments", "{}", {{"Idempotency-Key", "key-1"}});

    ASSERT_TRUE(result.has_value()) << result.error().message;
    EXPECT_EQ(origin.Accepted(), 2);
    EXPECT_EQ(origin.Requests(), 3);
}

TEST(Client, DoesNotRetryAPostWithoutIdempotencyKey) {
    ScriptedOrigin origin({1});
    Client client(origin.BaseUrl());
    ASSERT_TRUE(client.Get("/warm").has_value());

    const ClientResult result = client.Send("POST", "/payments", "{}");

    ASSERT_FALSE(result.has_value());
    EXPECT_EQ(result.error().code, ErrorCode::kInternal);
    EXPECT_EQ(origin.Accepted(), 1);
    EXPECT_EQ(origin.Requests(), 2);
}

TEST(Client, DoesNotRetryWhenAFreshConnectionDropsTheRequest) {
    ScriptedOrigin origin({0, 0});
    Client client(origin.BaseUrl());

    const ClientResult result = client.Get("/x");

    ASSERT_FALSE(result.has_value());
    EXPECT_EQ(result.error().code, ErrorCode::kInternal);
    EXPECT_EQ(origin.Requests(), 1);
}

TEST(Server, ThrowsNamingTheAddressWhenThePortIsTaken) {
    Server first(LocalOptions(), Router{});
    first.Start();
    ServerOptions options = LocalOptions();
    options.port = first.Port();
    Server second(options, Router{});

    try {
        second.Start();
        FAIL() << "Start() on a taken port did not throw";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(
            std::string(e.what()).find(
                "cannot listen on 127.0.0.1:" + std::to_string(first.Port())
            ),
            std::string::npos
        ) << e.what();
    }
}

TEST(Server, StopClosesIdleConnectionsAndIsIdempotent) {
    Server server(LocalOptions(), EchoRouter());
    server.Start();
    RawSocket socket(server.Port());
    socket.Send("GET /echo HTTP/1.1\r\nHost: x\r\n\r\n");
    ASSERT_EQ(socket.ReadResponse().rfind("HTTP/1.1 200 OK\r\n", 0), 0u);

    server.Stop();
    server.Stop();

    EXPECT_TRUE(socket.ClosedByPeer());
    EXPECT_THROW(RawSocket{server.Port()}, std::runtime_error);
}

}  // namespace
}  // namespace sagapay::http
