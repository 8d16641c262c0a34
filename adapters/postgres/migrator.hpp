#pragma once

#include <span>
#include <string>
#include <string_view>

#include "adapters/postgres/connection.hpp"

namespace sagapay::postgres {

/// One versioned schema change, embedded in the binary (cmake/EmbedMigrations.cmake).
struct Migration {
    const char* version;  ///< "0001"; applied in the order given.
    const char* name;     ///< "create_payments"
    const char* sql;
};

struct MigrationReport {
    int applied = 0;
    int already_applied = 0;
};

/// Applies what is missing, each migration in its own transaction, under a session advisory lock
/// (several processes may start at once), and records version, name and checksum in
/// `schema_migrations`. An applied migration whose text changed since is refused with
/// SqlError(kFailedPrecondition) naming it: write a new migration instead of editing an old one.
MigrationReport Migrate(
    Connection& conn, std::string_view scope, std::span<const Migration> migrations
);

/// Creates `database` on the server of `dsn` when it is missing (connects to `postgres`).
void EnsureDatabase(const std::string& dsn);

}  // namespace sagapay::postgres
