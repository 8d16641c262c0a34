#include "adapters/redis/client.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstddef>
#include <optional>
#include <stdexcept>
#include <string_view>
#include <system_error>
#include <utility>

#include <sys/time.h>

#include "core/percent_decode.hpp"
#include "core/redact.hpp"

namespace sagapay::redis {
namespace {

/// A socket timeout for hiredis. Zero would mean "wait forever", so it is at least 1 ms.
timeval ToTimeval(std::chrono::milliseconds timeout) {
    const std::chrono::milliseconds::rep ms =
        std::max<std::chrono::milliseconds::rep>(timeout.count(), 1);
    timeval tv{};
    tv.tv_sec = static_cast<time_t>(ms / 1000);
    tv.tv_usec = static_cast<suseconds_t>((ms % 1000) * 1000);
    return tv;
}

std::string Describe(const Endpoint& endpoint) {
    return endpoint.host + ":" + std::to_string(endpoint.port);
}

/// The command's name for messages, upper-cased: "XREADGROUP".
std::string CommandName(const std::vector<std::string>& args) {
    std::string name = args.empty() ? std::string("(empty)") : args.front();
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) {
        return static_cast<char>(std::toupper(c));
    });
    return name;
}

/// hiredis' binary-safe argument vectors, pointing into `args`.
class Argv {
public:
    explicit Argv(const std::vector<std::string>& args) {
        if (args.empty()) {
            throw RedisError(ErrorCode::kInvalidArgument, "redis: empty command");
        }
        pointers_.reserve(args.size());
        lengths_.reserve(args.size());
        for (const std::string& arg : args) {
            pointers_.push_back(arg.data());
            lengths_.push_back(arg.size());
        }
    }
    [[nodiscard]] int Count() const { return static_cast<int>(pointers_.size()); }
    [[nodiscard]] const char** Pointers() { return pointers_.data(); }
    [[nodiscard]] const std::size_t* Lengths() const { return lengths_.data(); }

private:
    std::vector<const char*> pointers_;
    std::vector<std::size_t> lengths_;
};

/// Drops the broken context (the next command reconnects) and throws kUnavailable.
[[noreturn]] void FailIo(ContextHandle& ctx, const Endpoint& endpoint, const std::string& what) {
    std::string message = "redis " + what + " (" + Describe(endpoint) + "): ";
    if (ctx && ctx->err != 0) {
        message += ctx->errstr;
        if (ctx->err == REDIS_ERR_IO &&
            std::string_view(ctx->errstr).find("temporarily") != std::string_view::npos) {
            message += " (timed out)";
        }
    } else {
        message += "no reply";
    }
    ctx.reset();
    throw RedisError(ErrorCode::kUnavailable, message);
}

/// The code of an error reply, from its prefix. Replies that clear by themselves are retryable:
/// OOM (`maxmemory` reached with `noeviction`: Redis refuses the write rather than evict data,
/// and the caller keeps the data and retries), LOADING (restart), BUSY (a script), TRYAGAIN,
/// MASTERDOWN, READONLY (a failover).
ErrorCode ErrorCodeOfReply(std::string_view text) {
    constexpr std::string_view kTransient[] = {
        "OOM ", "LOADING ", "BUSY ", "TRYAGAIN ", "MASTERDOWN ", "READONLY "};
    constexpr std::string_view kAccess[] = {"NOAUTH ", "WRONGPASS ", "NOPERM "};
    for (const std::string_view prefix : kTransient) {
        if (text.starts_with(prefix)) {
            return ErrorCode::kUnavailable;
        }
    }
    for (const std::string_view prefix : kAccess) {
        if (text.starts_with(prefix)) {
            return ErrorCode::kFailedPrecondition;
        }
    }
    return ErrorCode::kInternal;
}

/// Reply conversion, throwing RedisError(kInternal, <Redis's text>) for an error reply at any
/// depth (EXEC returns the errors of its commands inside its array).
Reply ConvertReply(const redisReply* reply) {
    Reply out;
    switch (reply->type) {
        case REDIS_REPLY_STRING:
            out.type = Reply::Type::kString;
            out.str.assign(reply->str, reply->len);
            break;
        case REDIS_REPLY_STATUS:
            out.type = Reply::Type::kStatus;
            out.str.assign(reply->str, reply->len);
            break;
        case REDIS_REPLY_INTEGER:
            out.type = Reply::Type::kInteger;
            out.integer = reply->integer;
            break;
        case REDIS_REPLY_NIL:
            out.type = Reply::Type::kNil;
            break;
        case REDIS_REPLY_ARRAY:
            out.type = Reply::Type::kArray;
            out.elements.reserve(reply->elements);
            for (std::size_t i = 0; i < reply->elements; ++i) {
                out.elements.push_back(ConvertReply(reply->element[i]));
            }
            break;
        case REDIS_REPLY_ERROR:
            throw RedisError(
                ErrorCodeOfReply(std::string_view(reply->str, reply->len)),
                std::string(reply->str, reply->len)
            );
        default:
            throw RedisError(
                ErrorCode::kInternal, "unexpected reply type " + std::to_string(reply->type)
            );
    }
    return out;
}

/// What an operator should do about an error reply, or "".
std::string Hint(const RedisError& e) {
    const std::string_view text(e.what());
    if (text.starts_with("NOAUTH")) {
        return " (Hint: the server requires a password: put it in REDIS_URL, "
               "redis://[user]:password@host:port/db)";
    }
    if (text.starts_with("OOM")) {
        return " (Hint: Redis reached maxmemory; nothing was written and the caller retries. "
               "Check that streams are trimmed and consumers keep up, or raise maxmemory)";
    }
    return {};
}

/// Query passwords are masked first: RedactRedisUrl's mask can swallow the '?' that shows them.
[[noreturn]] void FailUrl(const std::string& url, const std::string& why) {
    throw std::invalid_argument(
        "invalid Redis URL '" + RedactRedisUrl(RedactUrlPassword(url)) + "': " + why
    );
}

/// Parses a whole decimal string into `value`; false when it is not one.
bool ParseInt(std::string_view text, int& value) {
    if (text.empty()) {
        return false;
    }
    const char* end = text.data() + text.size();
    const auto [ptr, ec] = std::from_chars(text.data(), end, value);
    return ec == std::errc() && ptr == end;
}

}  // namespace

Endpoint ParseRedisUrl(const std::string& url) {
    constexpr std::string_view kScheme = "redis://";
    const std::string_view text(url);
    if (!text.starts_with(kScheme)) {
        if (text.starts_with("rediss://")) {
            FailUrl(url, "TLS (rediss://) is not supported");
        }
        FailUrl(url, "expected redis://host:port[/db]");
    }
    std::string_view rest = text.substr(kScheme.size());
    if (rest.find_first_of("?#") != std::string_view::npos) {
        FailUrl(url, "query parameters and fragments are not supported");
    }
    std::string_view userinfo;
    bool has_userinfo = false;
    const std::size_t first_slash = rest.find('/');
    if (const std::size_t last_at = rest.rfind('@'); last_at != std::string_view::npos &&
                                                     first_slash != std::string_view::npos &&
                                                     last_at > first_slash) {
        // The database can have no '@': this is a password with a raw '/', which must not be
        // read as a port or database and quoted in the message (the redactors mask it whole).
        FailUrl(url, "a '/' in the credentials must be percent-encoded as %2F");
    }
    if (const std::size_t at = rest.substr(0, first_slash).rfind('@');
        at != std::string_view::npos) {
        userinfo = rest.substr(0, at);
        rest = rest.substr(at + 1);
        has_userinfo = true;
    }

    std::string_view authority = rest;
    std::string_view path;
    bool has_path = false;
    if (const std::size_t slash = rest.find('/'); slash != std::string_view::npos) {
        authority = rest.substr(0, slash);
        path = rest.substr(slash + 1);
        has_path = true;
    }

    std::string_view host;
    std::string_view port;
    bool has_port = false;
    if (authority.starts_with('[')) {  // [::1]:6379
        const std::size_t close = authority.find(']');
        if (close == std::string_view::npos) {
            FailUrl(url, "missing ']' after the IPv6 address");
        }
        host = authority.substr(1, close - 1);
        const std::string_view after = authority.substr(close + 1);
        if (!after.empty()) {
            if (after.front() != ':') {
                FailUrl(url, "expected ':' after ']'");
            }
            port = after.substr(1);
            has_port = true;
        }
    } else {
        const std::size_t colon = authority.find(':');
        if (colon != std::string_view::npos &&
            authority.find(':', colon + 1) != std::string_view::npos) {
            FailUrl(url, "an IPv6 address must be in brackets: redis://[::1]:6379");
        }
        host = authority.substr(0, colon);
        if (colon != std::string_view::npos) {
            port = authority.substr(colon + 1);
            has_port = true;
        }
    }
    if (host.empty()) {
        FailUrl(url, "missing host");
    }

    Endpoint endpoint;
    if (has_userinfo) {
        const std::size_t colon = userinfo.find(':');
        if (colon == std::string_view::npos) {
            FailUrl(url, "credentials need a password: redis://[user]:password@host");
        }
        auto user = PercentDecode(userinfo.substr(0, colon));
        auto password = PercentDecode(userinfo.substr(colon + 1));
        if (!user || !password) {
            FailUrl(url, "broken %-escape in the credentials");
        }
        if (password->empty()) {
            FailUrl(url, "empty password: leave out 'user:@' or give the password");
        }
        endpoint.user = std::move(*user);
        endpoint.password = std::move(*password);
    }
    endpoint.host = std::string(host);
    if (has_port) {
        int number = 0;
        if (!ParseInt(port, number) || number < 1 || number > 65535) {
            FailUrl(url, "port must be a number from 1 to 65535, got '" + std::string(port) + "'");
        }
        endpoint.port = number;
    }
    if (has_path && !path.empty()) {
        int db = 0;
        if (!ParseInt(path, db) || db < 0) {
            FailUrl(url, "database must be a non-negative number, got '" + std::string(path) + "'");
        }
        endpoint.database = db;
    }
    return endpoint;
}

std::string RedactRedisUrl(const std::string& url) {
    const std::size_t scheme = url.find("://");
    if (scheme == std::string::npos) {
        return url;
    }
    const std::size_t start = scheme + 3;
    const std::size_t slash = url.find('/', start);
    const std::size_t at = url.rfind('@', slash == std::string::npos ? std::string::npos : slash);
    if (at == std::string::npos || at < start) {
        return url;
    }
    const std::size_t colon = url.find(':', start);
    if (colon == std::string::npos || colon > at) {
        return url.substr(0, start) + "***" + url.substr(at);  // no colon: all of it may be secret
    }
    return url.substr(0, colon + 1) + "***" + url.substr(at);
}

Connection::Connection(Endpoint endpoint) : endpoint_(std::move(endpoint)) {}

void Connection::EnsureConnected() {
    if (ctx_) {
        return;
    }
    const timeval tv = ToTimeval(endpoint_.timeout);
    ContextHandle ctx(redisConnectWithTimeout(endpoint_.host.c_str(), endpoint_.port, tv));
    if (!ctx) {
        throw RedisError(
            ErrorCode::kUnavailable,
            "redis connect (" + Describe(endpoint_) + "): cannot allocate a context"
        );
    }
    if (ctx->err != 0) {
        throw RedisError(
            ErrorCode::kUnavailable,
            "redis connect (" + Describe(endpoint_) + "): " + std::string(ctx->errstr)
        );
    }
    if (redisSetTimeout(ctx.get(), tv) != REDIS_OK) {
        FailIo(ctx, endpoint_, "connect");
    }
    Handshake(ctx);
    ctx_ = std::move(ctx);
}

void Connection::Handshake(ContextHandle& ctx) {
    /// Runs one handshake command; `what` names it in messages (never with the password).
    auto run = [&](const std::vector<std::string>& args, const std::string& what) {
        Argv argv(args);
        ReplyHandle reply(static_cast<redisReply*>(
            redisCommandArgv(ctx.get(), argv.Count(), argv.Pointers(), argv.Lengths())
        ));
        if (!reply) {
            FailIo(ctx, endpoint_, what);
        }
        try {
            (void)ConvertReply(reply.get());
        } catch (const RedisError& e) {
            ctx.reset();
            throw RedisError(
                e.Code() == ErrorCode::kInternal ? ErrorCode::kFailedPrecondition : e.Code(),
                "redis " + what + " (" + Describe(endpoint_) + "): " + e.what()
            );
        }
    };
    if (!endpoint_.password.empty()) {
        if (endpoint_.user.empty()) {
            run({"AUTH", endpoint_.password}, "AUTH");
        } else {
            run({"AUTH", endpoint_.user, endpoint_.password},
                "AUTH as user '" + endpoint_.user + "'");
        }
    }
    if (endpoint_.database != 0) {
        run({"SELECT", std::to_string(endpoint_.database)},
            "SELECT " + std::to_string(endpoint_.database));
    }
}

Reply Connection::Convert(redisReply* reply) {
    return ConvertReply(reply);
}

Reply Connection::Command(const std::vector<std::string>& args) {
    const std::string name = CommandName(args);
    Argv argv(args);
    EnsureConnected();
    ReplyHandle reply(static_cast<redisReply*>(
        redisCommandArgv(ctx_.get(), argv.Count(), argv.Pointers(), argv.Lengths())
    ));
    if (!reply) {
        FailIo(ctx_, endpoint_, name);
    }
    try {
        return Convert(reply.get());
    } catch (const RedisError& e) {
        throw RedisError(e.Code(), "redis " + name + ": " + e.what() + Hint(e));
    }
}

Reply Connection::CommandWithTimeout(
    const std::vector<std::string>& args, std::chrono::milliseconds timeout
) {
    EnsureConnected();
    if (redisSetTimeout(ctx_.get(), ToTimeval(timeout)) != REDIS_OK) {
        FailIo(ctx_, endpoint_, CommandName(args));
    }
    auto restore = [this] {
        // After an I/O error the context is already gone; a failure here drops it too, so the
        // next command reconnects with the normal timeout.
        if (ctx_ && redisSetTimeout(ctx_.get(), ToTimeval(endpoint_.timeout)) != REDIS_OK) {
            ctx_.reset();
        }
    };
    try {
        Reply reply = Command(args);
        restore();
        return reply;
    } catch (...) {
        restore();
        throw;
    }
}

std::vector<Reply> Connection::Pipeline(const std::vector<std::vector<std::string>>& commands) {
    if (commands.empty()) {
        return {};
    }
    std::vector<Argv> argvs;
    argvs.reserve(commands.size());
    for (const auto& command : commands) {
        argvs.emplace_back(command);
    }
    EnsureConnected();
    for (std::size_t i = 0; i < commands.size(); ++i) {
        if (redisAppendCommandArgv(
                ctx_.get(), argvs[i].Count(), argvs[i].Pointers(), argvs[i].Lengths()
            ) != REDIS_OK) {
            // Part of the pipeline may sit in the output buffer: the context must go.
            FailIo(ctx_, endpoint_, CommandName(commands[i]));
        }
    }
    std::vector<ReplyHandle> raw;
    raw.reserve(commands.size());
    for (const auto& command : commands) {
        void* out = nullptr;
        if (redisGetReply(ctx_.get(), &out) != REDIS_OK || out == nullptr) {
            FailIo(ctx_, endpoint_, CommandName(command));
        }
        raw.emplace_back(static_cast<redisReply*>(out));
    }
    std::vector<Reply> replies;
    replies.reserve(raw.size());
    for (std::size_t i = 0; i < raw.size(); ++i) {
        try {
            replies.push_back(Convert(raw[i].get()));
        } catch (const RedisError& e) {
            throw RedisError(
                e.Code(), "redis " + CommandName(commands[i]) + ": " + e.what() + Hint(e)
            );
        }
    }
    return replies;
}

}  // namespace sagapay::redis
