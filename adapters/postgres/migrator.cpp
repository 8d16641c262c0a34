#include "adapters/postgres/migrator.hpp"

#include <cstdint>
#include <cstdio>
#include <map>
#include <set>
#include <utility>

#include <fmt/format.h>

namespace sagapay::postgres {
namespace {

constexpr std::string_view kCreateTable =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    "version text PRIMARY KEY, "
    "name text NOT NULL, "
    "checksum text NOT NULL, "
    "applied_at timestamptz NOT NULL DEFAULT now())";

/// 64-bit FNV-1a: stable across builds and platforms, unlike std::hash.
std::uint64_t Fnv1a(std::string_view text) {
    std::uint64_t hash = 14695981039346656037ULL;
    for (const char c : text) {
        hash ^= static_cast<unsigned char>(c);
        hash *= 1099511628211ULL;
    }
    return hash;
}

std::string Checksum(std::string_view sql) {
    char buffer[17];
    std::snprintf(buffer, sizeof(buffer), "%016llx", static_cast<unsigned long long>(Fnv1a(sql)));
    return buffer;
}

std::string Label(std::string_view scope, const Migration& migration) {
    return std::string(scope) + "/" + migration.version + "_" + migration.name;
}

/// Holds the session advisory lock; releases it also when a migration throws. Waiting for
/// another process's migrations and running a long one (an index on a big table) are expected:
/// the session's statement and lock timeouts are lifted while the lock is held.
class AdvisoryLock {
public:
    AdvisoryLock(Connection& conn, std::int64_t key) : conn_(conn), key_(key) {
        conn_.ExecScript("SET statement_timeout = 0; SET lock_timeout = 0");
        conn_.Exec("SELECT pg_advisory_lock($1::bigint)", {key_});
    }
    AdvisoryLock(const AdvisoryLock&) = delete;
    AdvisoryLock& operator=(const AdvisoryLock&) = delete;
    ~AdvisoryLock() {
        try {
            if (conn_.IsHealthy()) {
                conn_.Exec("SELECT pg_advisory_unlock($1::bigint)", {key_});
                conn_.ExecScript("RESET statement_timeout; RESET lock_timeout");
            }
        } catch (...) {  // the server drops it with the session
        }
    }

private:
    Connection& conn_;
    std::int64_t key_;
};

std::string DatabaseOf(const PQconninfoOption* options) {
    for (const PQconninfoOption* option = options; option->keyword != nullptr; ++option) {
        if (std::string_view(option->keyword) == "dbname" && option->val != nullptr) {
            return option->val;
        }
    }
    return {};
}

/// A keyword/value connection string with every option of `options` but `dbname`.
std::string ConninfoFor(const PQconninfoOption* options, std::string_view dbname) {
    const auto quote = [](std::string_view value) {
        std::string quoted = "'";
        for (const char c : value) {
            if (c == '\'' || c == '\\') {
                quoted.push_back('\\');
            }
            quoted.push_back(c);
        }
        return quoted + "'";
    };
    std::string conninfo = "dbname=" + quote(dbname);
    for (const PQconninfoOption* option = options; option->keyword != nullptr; ++option) {
        if (option->val != nullptr && std::string_view(option->keyword) != "dbname") {
            conninfo += " " + std::string(option->keyword) + "=" + quote(option->val);
        }
    }
    return conninfo;
}

}  // namespace

MigrationReport Migrate(
    Connection& conn, std::string_view scope, std::span<const Migration> migrations
) {
    if (conn.InTransaction()) {
        throw SqlError(
            ErrorCode::kFailedPrecondition,
            "",
            "migrations of " + std::string(scope) +
                " need a connection outside a transaction: each one runs in its own"
        );
    }
    std::set<std::string_view> versions;
    for (const Migration& migration : migrations) {
        if (!versions.insert(migration.version).second) {
            throw SqlError(
                ErrorCode::kInvalidArgument,
                "",
                "migration version " + std::string(scope) + "/" + migration.version +
                    " is used twice"
            );
        }
    }

    const AdvisoryLock lock(
        conn, static_cast<std::int64_t>(Fnv1a("sagapay_migrations:" + std::string(scope)))
    );
    conn.ExecScript(kCreateTable);

    std::map<std::string, std::pair<std::string, std::string>> applied;  // version -> name, sum
    const Rows rows = conn.Exec("SELECT version, name, checksum FROM schema_migrations");
    for (int row = 0; row < rows.Size(); ++row) {
        applied.emplace(
            rows.GetString(row, 0), std::pair(rows.GetString(row, 1), rows.GetString(row, 2))
        );
    }

    MigrationReport report;
    for (const Migration& migration : migrations) {
        const std::string label = Label(scope, migration);
        const std::string checksum = Checksum(migration.sql);
        if (const auto found = applied.find(migration.version); found != applied.end()) {
            const auto& [name, old_checksum] = found->second;
            if (name != migration.name) {
                throw SqlError(
                    ErrorCode::kFailedPrecondition,
                    "",
                    fmt::format(
                        "migration {} was renamed after it was applied (as {}/{}_{} in the "
                        "database); restore it and add a new migration instead",
                        label,
                        scope,
                        migration.version,
                        name
                    )
                );
            }
            if (old_checksum != checksum) {
                throw SqlError(
                    ErrorCode::kFailedPrecondition,
                    "",
                    fmt::format(
                        "migration {} was edited after it was applied (checksum {} in the "
                        "database, {} in this binary); restore it and add a new migration instead",
                        label,
                        old_checksum,
                        checksum
                    )
                );
            }
            ++report.already_applied;
            continue;
        }
        try {
            Transaction tx(conn);
            conn.ExecScript(migration.sql);
            tx.Exec(
                "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
                {migration.version, migration.name, checksum}
            );
            tx.Commit();
        } catch (const SqlError& error) {
            throw SqlError(
                error.Code(),
                error.SqlState(),
                "migration " + label + " failed and was rolled back: " + error.what()
            );
        }
        ++report.applied;
    }
    return report;
}

void EnsureDatabase(const std::string& dsn) {
    const std::string normalized = Connection::NormalizeDsn(dsn);
    char* parse_error = nullptr;
    using OptionsHandle = UniqueHandle<PQconninfoOption, &PQconninfoFree>;
    const OptionsHandle options(PQconninfoParse(normalized.c_str(), &parse_error));
    if (!options) {
        PQfreemem(parse_error);
        // libpq's parse errors may quote the password: let Open() report it, scrubbed.
        (void)Connection::Open(dsn);
        throw SqlError(
            ErrorCode::kInvalidArgument, "", "invalid DSN " + Connection::RedactDsn(dsn)
        );
    }
    const std::string database = DatabaseOf(options.get());
    if (database.empty()) {
        throw SqlError(
            ErrorCode::kInvalidArgument,
            "",
            "DSN " + Connection::RedactDsn(dsn) + " names no database to create"
        );
    }

    Connection admin = Connection::Open(ConninfoFor(options.get(), "postgres"));
    if (!admin.Exec("SELECT 1 FROM pg_database WHERE datname = $1", {database}).Empty()) {
        return;
    }
    char* quoted = PQescapeIdentifier(admin.Raw(), database.data(), database.size());
    if (quoted == nullptr) {
        throw SqlError(
            ErrorCode::kInvalidArgument,
            "",
            "cannot quote database name " + database + ": " + PQerrorMessage(admin.Raw())
        );
    }
    const std::string statement = std::string("CREATE DATABASE ") + quoted;
    PQfreemem(quoted);
    try {
        admin.ExecScript(statement);
    } catch (const SqlError& error) {
        // A concurrent creator won: duplicate_database, or the catalog's unique index.
        if (error.SqlState() != "42P04" && error.SqlState() != "23505") {
            throw;
        }
    }
}

}  // namespace sagapay::postgres
