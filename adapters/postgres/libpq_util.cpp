#include "adapters/postgres/libpq_util.hpp"

#include <cctype>
#include <cstddef>
#include <utility>

#include "adapters/postgres/sql_error.hpp"

namespace sagapay::postgres::detail {
namespace {

constexpr std::size_t kSqlPreviewLength = 80;

[[noreturn]] void ThrowStatementError(PGconn* conn, const PGresult* result, std::string_view sql) {
    std::string sql_state;
    std::string message;
    if (result != nullptr) {
        if (const char* state = PQresultErrorField(result, PG_DIAG_SQLSTATE)) {
            sql_state = state;
        }
        if (const char* primary = PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY)) {
            message = primary;
        } else {
            message = Trim(PQresultErrorMessage(result));
        }
    }
    if (message.empty()) {
        message = Trim(PQerrorMessage(conn));
    }
    if (message.empty()) {
        message = "unknown error";
    }
    ErrorCode code = ErrorCodeFromSqlState(sql_state);
    if (result == nullptr || PQstatus(conn) != CONNECTION_OK) {
        code = ErrorCode::kUnavailable;
    }
    throw SqlError(code, std::move(sql_state), SqlPreview(sql) + ": " + message);
}

}  // namespace

std::string Trim(std::string_view text) {
    const auto is_space = [](char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; };
    while (!text.empty() && is_space(text.front())) {
        text.remove_prefix(1);
    }
    while (!text.empty() && is_space(text.back())) {
        text.remove_suffix(1);
    }
    return std::string(text);
}

std::string SqlPreview(std::string_view sql) {
    std::string preview;
    bool pending_space = false;
    for (const char c : sql) {
        if (std::isspace(static_cast<unsigned char>(c)) != 0) {
            pending_space = !preview.empty();
            continue;
        }
        if (pending_space) {
            preview.push_back(' ');
            pending_space = false;
        }
        preview.push_back(c);
        if (preview.size() >= kSqlPreviewLength) {
            break;
        }
    }
    // Do not cut a UTF-8 sequence in half.
    if (preview.size() >= kSqlPreviewLength) {
        std::size_t end = preview.size();
        while (end > 0 && (static_cast<unsigned char>(preview[end - 1]) & 0xC0U) == 0x80U) {
            --end;
        }
        if (end > 0 && (static_cast<unsigned char>(preview[end - 1]) & 0x80U) != 0) {
            --end;  // a lead byte whose continuation bytes may be missing
        }
        preview.resize(end);
    }
    return preview;
}

void CheckResult(PGconn* conn, const PGresult* result, std::string_view sql) {
    if (result != nullptr) {
        switch (PQresultStatus(result)) {
            case PGRES_COMMAND_OK:
            case PGRES_TUPLES_OK:
            case PGRES_EMPTY_QUERY:
                return;
            default:
                break;
        }
    }
    ThrowStatementError(conn, result, sql);
}

std::string QuoteIdentifier(PGconn* conn, std::string_view name) {
    char* quoted = PQescapeIdentifier(conn, name.data(), name.size());
    if (quoted == nullptr) {
        throw SqlError(
            ErrorCode::kInvalidArgument,
            "",
            "cannot quote identifier: " + Trim(PQerrorMessage(conn))
        );
    }
    std::string result(quoted);
    PQfreemem(quoted);
    return result;
}

}  // namespace sagapay::postgres::detail
