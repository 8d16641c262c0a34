// The server under connection floods: a cap below the file limit, idle connections shed first.
#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "adapters/http/http.hpp"

namespace sagapay::http {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

Router PaymentsRouter() {
    Router router;
    router.Add("POST", "/payments", [](Request& request) {
        return JsonResponse(201, R"({"echo":)" + std::to_string(request.body.size()) + "}");
    });
    return router;
}

/// A client socket that connects and sends nothing (an idle or slow client).
int ConnectIdle(std::uint16_t port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) {
        throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
    }
    timeval timeout{};
    timeout.tv_sec = 3;
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
        ::close(fd);
        throw std::runtime_error(std::string("connect: ") + std::strerror(errno));
    }
    return fd;
}

/// True when the server closed `fd` (recv returns 0 or a reset) within its receive timeout.
bool ClosedByServer(int fd) {
    char byte = 0;
    const ssize_t got = ::recv(fd, &byte, 1, 0);
    return got == 0 || (got < 0 && errno == ECONNRESET);
}

/// A POST on a new connection: the status, or 0 when there was no answer.
int PostOnce(std::uint16_t port, std::chrono::milliseconds timeout) {
    Client client("http://127.0.0.1:" + std::to_string(port), ClientOptions{1, timeout, timeout});
    const auto answer =
        client.Send("POST", "/payments", R"({"a":1})", {{"content-type", "application/json"}});
    return answer ? answer->status : 0;
}

class Gate {
public:
    void Open() {
        {
            const std::lock_guard lock(mutex_);
            open_ = true;
        }
        cv_.notify_all();
    }
    void Wait() {
        std::unique_lock lock(mutex_);
        cv_.wait_for(lock, 10s, [this] { return open_; });
    }

private:
    std::mutex mutex_;
    std::condition_variable cv_;
    bool open_ = false;
};

TEST(ServerLimits, ConnectionWithoutARequestIsClosedAfterTheFirstRequestDeadline) {
    ServerOptions options;
    options.first_request_timeout = 200ms;
    options.idle_timeout = 30s;
    Server server(options, PaymentsRouter());
    server.Start();

    const int fd = ConnectIdle(server.Port());
    const auto started = Clock::now();
    EXPECT_TRUE(ClosedByServer(fd));
    EXPECT_LT(Clock::now() - started, 2s);
    ::close(fd);
}

TEST(ServerLimits, AtTheCapTheLongestIdleConnectionMakesRoomForANewClient) {
    ServerOptions options;
    options.max_connections = 4;
    options.first_request_timeout = 30s;
    Server server(options, PaymentsRouter());
    server.Start();

    std::vector<int> idle;
    idle.reserve(4);
    for (int i = 0; i < 4; ++i) {
        idle.push_back(ConnectIdle(server.Port()));  // accepted in this order
    }
    EXPECT_EQ(PostOnce(server.Port(), 1000ms), 201);
    EXPECT_TRUE(ClosedByServer(idle.front())) << "the oldest idle connection is shed";
    for (const int fd : idle) {
        ::close(fd);
    }
}

TEST(ServerLimits, AtTheCapWithEveryConnectionBusyANewConnectionIsRefused) {
    Gate gate;
    std::atomic<int> running{0};
    Router router;
    router.Add("POST", "/slow", [&gate, &running](Request&) {
        running.fetch_add(1);
        gate.Wait();
        return JsonResponse(200, "{}");
    });
    router.Add("POST", "/payments", [](Request&) { return JsonResponse(201, "{}"); });
    ServerOptions options;
    options.max_connections = 2;
    options.threads = 3;
    Server server(options, std::move(router));
    server.Start();

    std::vector<int> busy;
    for (int i = 0; i < 2; ++i) {
        busy.push_back(ConnectIdle(server.Port()));
        const std::string request = "POST /slow HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n";
        ASSERT_EQ(
            ::send(busy.back(), request.data(), request.size(), MSG_NOSIGNAL),
            static_cast<ssize_t>(request.size())
        );
    }
    const auto deadline = Clock::now() + 5s;
    while (running.load() < 2 && Clock::now() < deadline) {
        std::this_thread::yield();
    }
    ASSERT_EQ(running.load(), 2) << "both handlers run: every connection is busy";
    const int refused = ConnectIdle(server.Port());
    EXPECT_TRUE(ClosedByServer(refused));
    ::close(refused);
    gate.Open();
    for (const int fd : busy) {
        char answer[512];
        EXPECT_GT(::recv(fd, answer, sizeof(answer), 0), 0);  // answered, kept alive: idle now
    }
    // An idle connection makes room: a fresh client is served. The server counts a connection
    // idle once it reads again, a moment after the client has its answer; until then a new
    // connection is still refused, so the client retries as a real one would.
    int status = 0;
    const auto served_by = Clock::now() + 5s;
    while (status != 201 && Clock::now() < served_by) {
        status = PostOnce(server.Port(), 2000ms);
    }
    EXPECT_EQ(status, 201);
    for (const int fd : busy) {
        ::close(fd);
    }
}

// --- 25,000 idle sockets against a server with the gateway's file limit (20,000). ---

/// Sets the soft file limit for the test and restores it after.
class SoftFileLimit {
public:
    explicit SoftFileLimit(rlim_t soft) {
        ::getrlimit(RLIMIT_NOFILE, &saved_);
        rlimit wanted = saved_;
        wanted.rlim_cur = std::min(soft, saved_.rlim_max);
        ::setrlimit(RLIMIT_NOFILE, &wanted);
    }
    SoftFileLimit(const SoftFileLimit&) = delete;
    SoftFileLimit& operator=(const SoftFileLimit&) = delete;
    ~SoftFileLimit() { ::setrlimit(RLIMIT_NOFILE, &saved_); }

private:
    rlimit saved_{};
};

/// In a child process: opens `count` connections to 127.0.0.1:port from several source
/// addresses (so ephemeral ports do not run out), in batches that wait for their handshakes
/// (a flood faster than the accept queue only measures SYN retransmits), writes how many
/// completed to `report`, then holds them until `hold` closes. Never returns.
[[noreturn]] void HoldIdleSockets(std::uint16_t port, int count, int first, int report, int hold) {
    constexpr int kBatch = 256;
    std::vector<int> held;
    held.reserve(static_cast<std::size_t>(count));
    int connected = 0;
    const auto deadline = Clock::now() + 20s;
    for (int begin = 0; begin < count && Clock::now() < deadline; begin += kBatch) {
        std::vector<pollfd> batch;
        for (int i = begin; i < std::min(count, begin + kBatch); ++i) {
            const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
            if (fd < 0) {
                break;
            }
            const int one = 1;
            ::setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
            sockaddr_in source{};
            source.sin_family = AF_INET;
            source.sin_addr.s_addr =
                htonl(INADDR_LOOPBACK + 1 + static_cast<unsigned>((first + i) % 8));
            sockaddr_in address{};
            address.sin_family = AF_INET;
            address.sin_port = htons(port);
            address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
            if (::bind(fd, reinterpret_cast<sockaddr*>(&source), sizeof(source)) != 0 ||
                (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 &&
                 errno != EINPROGRESS)) {
                ::close(fd);
                continue;
            }
            batch.push_back(pollfd{fd, POLLOUT, 0});
            held.push_back(fd);
        }
        std::size_t pending = batch.size();
        while (pending > 0 && Clock::now() < deadline) {
            ::poll(batch.data(), batch.size(), 100);
            for (pollfd& entry : batch) {
                if (entry.fd >= 0 && entry.revents != 0) {
                    entry.fd = -1;  // poll skips it from now on
                    --pending;
                    ++connected;
                }
            }
        }
    }
    (void)!::write(report, &connected, sizeof(connected));
    char byte = 0;
    (void)!::read(hold, &byte, 1);  // returns when the parent closes its end
    _exit(0);
}

/// Reads all of `size` bytes from `fd` within `timeout`; false on timeout, error or EOF.
bool ReadWithin(int fd, void* data, std::size_t size, std::chrono::milliseconds timeout) {
    auto* out = static_cast<char*>(data);
    const auto deadline = Clock::now() + timeout;
    std::size_t got = 0;
    while (got < size) {
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        pollfd entry{fd, POLLIN, 0};
        if (left.count() <= 0 || ::poll(&entry, 1, static_cast<int>(left.count())) <= 0) {
            return false;
        }
        const ssize_t n = ::read(fd, out + got, size - got);
        if (n <= 0) {
            return false;
        }
        got += static_cast<std::size_t>(n);
    }
    return true;
}

TEST(ServerLimits, FreshClientIsServedFastWhile25000IdleSocketsAreOpen) {
    constexpr int kChildren = 3;  // each under the 20,000 file limit
    constexpr int kPerChild = 8'334;
    const SoftFileLimit limit(20'000);  // the gateway's limit in the report

    // The children are forked before the server starts any thread: a child of a threaded
    // process may deadlock on a lock (the allocator's) that another thread held at fork. Each
    // waits for the port on its own pipe.
    std::array<int, 2> hold{};
    ASSERT_EQ(::pipe(hold.data()), 0);
    std::vector<int> reports;
    std::vector<int> ports;
    std::vector<pid_t> children;
    for (int c = 0; c < kChildren; ++c) {
        std::array<int, 2> report{};
        std::array<int, 2> port{};
        ASSERT_EQ(::pipe(report.data()), 0);
        ASSERT_EQ(::pipe(port.data()), 0);
        const pid_t child = ::fork();
        ASSERT_GE(child, 0);
        if (child == 0) {
            ::close(report[0]);
            ::close(port[1]);
            ::close(hold[1]);
            std::uint16_t server_port = 0;
            if (::read(port[0], &server_port, sizeof(server_port)) !=
                static_cast<ssize_t>(sizeof(server_port))) {
                _exit(1);
            }
            HoldIdleSockets(server_port, kPerChild, c * kPerChild, report[1], hold[0]);
        }
        ::close(report[1]);
        ::close(port[0]);
        reports.push_back(report[0]);
        ports.push_back(port[1]);
        children.push_back(child);
    }
    ::close(hold[0]);

    ServerOptions options;  // the gateway's settings: the defaults
    options.threads = 2;
    Server server(options, PaymentsRouter());
    server.Start();
    const std::uint16_t server_port = server.Port();
    for (const int fd : ports) {
        (void)!::write(fd, &server_port, sizeof(server_port));
        ::close(fd);
    }
    int connected = 0;
    for (const int fd : reports) {
        int count = 0;
        if (ReadWithin(fd, &count, sizeof(count), 60s)) {
            connected += count;
        }
        ::close(fd);
    }
    EXPECT_GT(connected, 20'000) << "the children could not open their sockets";

    const auto started = Clock::now();
    const int status = PostOnce(server.Port(), 3000ms);
    const auto took = Clock::now() - started;
    EXPECT_EQ(status, 201);
    EXPECT_LT(took, 1s) << std::chrono::duration<double>(took).count() << " s";
    EXPECT_LT(server.MaxConnections(), std::size_t{20'000});

    ::close(hold[1]);
    for (const pid_t child : children) {
        int child_status = 0;
        ::waitpid(child, &child_status, 0);
    }
}

}  // namespace
}  // namespace sagapay::http
