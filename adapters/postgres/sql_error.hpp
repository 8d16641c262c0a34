#pragma once

#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

#include "core/error.hpp"

namespace sagapay::postgres {

/// A failed statement or connection. `sql_state` is the SQLSTATE ("" for connection failures);
/// `code` classifies it (ErrorCodeFromSqlState). Thrown by Connection; callers at the top of a
/// consumer loop or HTTP handler turn it into a retry, a 503 or a dead letter.
class SqlError : public Exception {
public:
    SqlError(ErrorCode code, std::string sql_state, const std::string& message)
        : Exception(code, message), sql_state_(std::move(sql_state)) {}
    [[nodiscard]] const std::string& SqlState() const noexcept { return sql_state_; }

private:
    std::string sql_state_;
};

/// 40001/40P01 → kAborted, 23505 → kAlreadyExists, 57014 → kDeadlineExceeded, 08xxx →
/// kUnavailable, 22xxx/23xxx → kInvalidArgument, else kInternal.
[[nodiscard]] ErrorCode ErrorCodeFromSqlState(std::string_view sql_state) noexcept;

}  // namespace sagapay::postgres
