#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "adapters/http/response.hpp"
#include "core/result.hpp"

namespace sagapay::http {

struct ClientOptions {
    std::size_t max_connections = 64;  ///< Idle keep-alive connections kept for reuse.
    std::chrono::milliseconds connect_timeout{1000};
    std::chrono::milliseconds request_timeout{5000};
};

/// The outcome of one call: the response (any status), or why there is none:
///  - kUnavailable: nothing was sent (resolve or connect failed): safe to retry;
///  - kDeadlineExceeded: sent, no answer in time: the outcome is unknown;
///  - kInternal: the connection broke or the answer was not HTTP: the outcome is unknown.
using ClientResult = Result<Response>;

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
    std::unique_ptr<Impl> impl_;
};

}  // namespace sagapay::http
