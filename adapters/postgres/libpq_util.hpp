#pragma once

#include <string>
#include <string_view>

#include <libpq-fe.h>

namespace sagapay::postgres::detail {

/// libpq plumbing shared by the .cpp files of adapters/postgres (not for use outside it).

/// `text` without leading and trailing whitespace (libpq messages end with a newline).
[[nodiscard]] std::string Trim(std::string_view text);

/// The start of a statement on one line (runs of whitespace become one space), at most 80 bytes
/// and never a cut UTF-8 sequence: for error messages.
[[nodiscard]] std::string SqlPreview(std::string_view sql);

/// Returns when `result` is a success (command, rows or empty query); otherwise throws SqlError
/// with the SQLSTATE, the server's primary message and SqlPreview(sql). A missing result or a
/// lost connection is kUnavailable.
void CheckResult(PGconn* conn, const PGresult* result, std::string_view sql);

/// `name` as a quoted SQL identifier (LISTEN, SAVEPOINT); throws SqlError(kInvalidArgument).
[[nodiscard]] std::string QuoteIdentifier(PGconn* conn, std::string_view name);

}  // namespace sagapay::postgres::detail
