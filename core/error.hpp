#pragma once

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
    ErrorCode code = ErrorCode::kInternal;
    std::string message;  ///< For operators: what failed and, if known, how to fix it.
};

/// True when repeating the same call may succeed.
[[nodiscard]] constexpr bool IsRetryable(ErrorCode code) noexcept {
    return code == ErrorCode::kUnavailable || code == ErrorCode::kAborted;
}

[[nodiscard]] const char* ToString(ErrorCode code) noexcept;

}  // namespace sagapay
