#pragma once

#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <hiredis/hiredis.h>

#include "core/error.hpp"
#include "core/unique_handle.hpp"

namespace sagapay::redis {

/// A Redis failure: kUnavailable for I/O (connection lost, timeout) and for error replies that
/// clear on retry (OOM under `maxmemory` with `noeviction`, LOADING, BUSY, TRYAGAIN, MASTERDOWN,
/// READONLY), kFailedPrecondition for a refused AUTH or a missing one (NOAUTH, WRONGPASS,
/// NOPERM), kInternal for any other error reply such as a wrong type. Thrown by Connection.
class RedisError : public std::runtime_error {
public:
    RedisError(ErrorCode code, const std::string& message)
        : std::runtime_error(message), code_(code) {}
    [[nodiscard]] ErrorCode Code() const noexcept { return code_; }

private:
    ErrorCode code_;
};

inline void FreeReply(redisReply* r) noexcept {
    freeReplyObject(r);
}
using ReplyHandle = UniqueHandle<redisReply, &FreeReply>;
using ContextHandle = UniqueHandle<redisContext, &redisFree>;

/// A decoded reply (RESP2), owned. Error replies never get here: they throw RedisError.
class Reply {
public:
    enum class Type { kNil, kString, kInteger, kArray, kStatus };
    Type type = Type::kNil;
    std::string str;              ///< kString and kStatus
    std::int64_t integer = 0;     ///< kInteger
    std::vector<Reply> elements;  ///< kArray

    [[nodiscard]] bool IsNil() const noexcept { return type == Type::kNil; }
};

struct Endpoint {
    std::string host = "127.0.0.1";
    int port = 6379;
    std::chrono::milliseconds timeout{2000};  ///< Connect and per-command socket timeout.
    /// ACL user for AUTH; empty: `AUTH <password>` (the `default` user).
    std::string user = {};
    /// Sent with AUTH on every (re)connect when not empty. Never logged.
    std::string password = {};
    int database = 0;  ///< SELECTed on every (re)connect when not 0.
};

/// Parses `redis://[[user]:password@]host[:port][/db]` (user and password percent-decoded);
/// throws std::invalid_argument saying what is wrong, with the password masked.
[[nodiscard]] Endpoint ParseRedisUrl(const std::string& url);

/// `url` with the password replaced by `***`, for logs and messages.
[[nodiscard]] std::string RedactRedisUrl(const std::string& url);

/// One synchronous hiredis connection. Not thread-safe. After an I/O error the connection is
/// reopened on the next command; every (re)connect sends AUTH (when the endpoint has a password)
/// and SELECT (when its database is not 0) before anything else. A refused AUTH throws
/// RedisError(kFailedPrecondition) naming the user, never the password.
class Connection {
public:
    explicit Connection(Endpoint endpoint);

    /// Runs one command given as separate arguments (binary-safe). Throws RedisError.
    Reply Command(const std::vector<std::string>& args);
    /// Like Command, with a socket timeout of `timeout` for this call (for blocking reads).
    Reply CommandWithTimeout(
        const std::vector<std::string>& args, std::chrono::milliseconds timeout
    );
    /// Sends all commands in one round trip and returns their replies in order. An error reply
    /// for one command throws RedisError after all replies were read.
    std::vector<Reply> Pipeline(const std::vector<std::vector<std::string>>& commands);

    [[nodiscard]] const Endpoint& Where() const noexcept { return endpoint_; }

private:
    void EnsureConnected();
    Reply Convert(redisReply* reply);
    void Handshake(ContextHandle& ctx);

    Endpoint endpoint_;
    ContextHandle ctx_;
};

}  // namespace sagapay::redis
