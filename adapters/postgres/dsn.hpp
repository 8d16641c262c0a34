#pragma once

#include <string>
#include <string_view>

namespace sagapay::postgres::detail {

/// Connection strings: Connection::RedactDsn and Connection::NormalizeDsn (declared in
/// connection.hpp) are defined in dsn.cpp beside this. Internal to adapters/postgres.

/// Removes every spelling of the DSN's password (URI userinfo, `password=` query parameters or
/// keyword/value pairs; raw, quoted, percent-decoded, split at '@') from a libpq message: URI
/// parse errors quote the offending token.
[[nodiscard]] std::string ScrubPassword(std::string message, std::string_view dsn);

}  // namespace sagapay::postgres::detail
