#pragma once

#include <stdexcept>
#include <string>

namespace sagapay {

/// What went wrong, phrased as what the caller may do next. A subset of absl::StatusCode.
enum class ErrorCode {
    kInvalidArgument,     ///< Malformed request. Never retry.
    kNotFound,            ///< The entity does not exist.
    kAlreadyExists,       ///< Duplicate, e.g. an idempotency key seen before.
    kFailedPrecondition,  ///< State forbids it. Retry only after the state changes.
    kAborted,             ///< Concurrency conflict. Retry the whole transaction.
    kUnavailable,         ///< Transient. Retry the same call with backoff.
    kDeadlineExceeded,    ///< Outcome unknown. Reconcile before any retry.
    kInternal,            ///< A bug or a broken invariant.
};

struct Error {
    Error() = default;
    Error(ErrorCode c, std::string m, std::string f = {}, std::string r = {})
        : code(c), message(std::move(m)), field(std::move(f)), reason(std::move(r)) {}

    ErrorCode code = ErrorCode::kInternal;
    std::string message;  ///< For operators: what failed and, if known, how to fix it.
    std::string field;    ///< For a client: the request field at fault, if one is.
    std::string reason;   ///< For a client: a stable word for the error body, e.g. malformed_json.
};

/// True when repeating the same call may succeed.
[[nodiscard]] constexpr bool IsRetryable(ErrorCode code) noexcept {
    return code == ErrorCode::kUnavailable || code == ErrorCode::kAborted;
}

[[nodiscard]] const char* ToString(ErrorCode code) noexcept;

/// An Error thrown inside a database unit of work (the one error rule, docs/architecture.md):
/// handlers and stores throw it (or a subclass such as postgres::SqlError) and whoever owns the
/// unit of work — the event consumer, an HTTP route — decides from Code() what follows. Ports
/// across a process boundary return Result instead.
class Exception : public std::runtime_error {
public:
    Exception(ErrorCode code, const std::string& message)
        : std::runtime_error(message), code_(code) {}
    explicit Exception(const Error& error) : Exception(error.code, error.message) {}
    [[nodiscard]] ErrorCode Code() const noexcept { return code_; }

private:
    ErrorCode code_;
};

}  // namespace sagapay
