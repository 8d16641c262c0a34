#include "adapters/postgres/sql_error.hpp"

namespace sagapay::postgres {

ErrorCode ErrorCodeFromSqlState(std::string_view sql_state) noexcept {
    // Serialization failure, deadlock, lock_not_available (lock_timeout): the transaction was
    // rolled back because of another one; running it again may succeed.
    if (sql_state == "40001" || sql_state == "40P01" || sql_state == "55P03") {
        return ErrorCode::kAborted;
    }
    if (sql_state == "23505") {
        return ErrorCode::kAlreadyExists;
    }
    if (sql_state == "57014") {
        return ErrorCode::kDeadlineExceeded;
    }
    if (sql_state.size() == 5) {
        const std::string_view sql_class = sql_state.substr(0, 2);
        if (sql_class == "08") {
            return ErrorCode::kUnavailable;
        }
        if (sql_class == "22" || sql_class == "23") {
            return ErrorCode::kInvalidArgument;
        }
    }
    return ErrorCode::kInternal;
}

}  // namespace sagapay::postgres
