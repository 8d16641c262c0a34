#pragma once

// The PostgreSQL adapter's connection, with the types its callers use alongside it (Param, Rows,
// SqlError, Transaction): including this header is enough to talk to the database.
#include <chrono>
#include <cstddef>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <libpq-fe.h>

#include "adapters/postgres/param.hpp"
#include "adapters/postgres/rows.hpp"
#include "adapters/postgres/sql_error.hpp"
#include "adapters/postgres/transaction.hpp"
#include "core/unique_handle.hpp"

namespace sagapay::postgres {

using ConnHandle = UniqueHandle<PGconn, &PQfinish>;

/// Limits every connection carries, so a stuck lock holder or a silent network drop cannot hang
/// a worker: statement, lock and idle-in-transaction timeouts (sent as startup `options`), and
/// TCP keepalives with a user timeout (libpq parameters). A value the DSN sets itself wins;
/// a zero duration leaves that setting to the server (off by default).
struct SessionSettings {
    std::chrono::milliseconds statement_timeout{30'000};
    std::chrono::milliseconds lock_timeout{5'000};
    std::chrono::milliseconds idle_in_transaction_timeout{60'000};
    std::chrono::seconds keepalives_idle{30};
    std::chrono::seconds keepalives_interval{10};
    int keepalives_count = 3;
    std::chrono::milliseconds tcp_user_timeout{30'000};
};

/// The settings Connection::Open(dsn) uses: set once at process start, from the configuration.
void SetDefaultSessionSettings(const SessionSettings& settings);
[[nodiscard]] SessionSettings DefaultSessionSettings();

/// One libpq connection. Not thread-safe: one thread uses it at a time.
/// Statements with parameters are prepared once per connection and reused (the SQL text is the
/// cache key), so a hot statement costs one round trip and no parse.
class Connection {
public:
    /// Connects or throws SqlError(kUnavailable) with a message that names host and database but
    /// never the password. Accepts libpq URIs and the seed's `postgresql+psycopg2://` form.
    static Connection Open(const std::string& dsn);
    static Connection Open(const std::string& dsn, const SessionSettings& settings);

    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;
    Connection(Connection&&) noexcept = default;
    Connection& operator=(Connection&&) noexcept = default;
    ~Connection() = default;

    /// Runs one statement, prepared and cached. Throws SqlError on failure.
    Rows Exec(std::string_view sql, std::initializer_list<Param> params = {});
    Rows Exec(std::string_view sql, std::span<const Param> params);
    /// Queues a statement whose result nobody reads (a write; its failure fails the transaction).
    /// Queued statements go to the server in one pipeline (libpq pipeline mode, one round trip)
    /// with the next Exec, ExecScript or COMMIT, and an error in one of them is thrown there.
    void ExecDeferred(std::string_view sql, std::span<const Param> params);
    void ExecDeferred(std::string_view sql, std::initializer_list<Param> params = {}) {
        ExecDeferred(sql, std::span<const Param>(params.begin(), params.size()));
    }
    /// Starts a transaction without a round trip: BEGIN is sent in one pipeline with the first
    /// statement (Transaction does this).
    void BeginDeferred() noexcept { begin_pending_ = true; }
    /// True when the transaction's BEGIN is still queued and nothing else is.
    [[nodiscard]] bool NothingSent() const noexcept { return begin_pending_ && queued_.empty(); }
    /// Ends the transaction with ROLLBACK, or without any round trip when nothing of it reached
    /// the server yet.
    void AbortTransaction();
    /// Runs one or more statements without parameters (simple protocol; migrations, BEGIN).
    void ExecScript(std::string_view sql);

    /// LISTEN on a channel (identifier is quoted).
    void Listen(std::string_view channel);
    /// Waits up to `timeout` for a notification; drains all that arrived. True when any did.
    /// With `wake_fd` >= 0 (an eventfd), also returns true as soon as that fd is readable, after
    /// reading it: one wait serves both in-process and database wake-ups.
    bool WaitForNotification(std::chrono::milliseconds timeout, int wake_fd = -1);

    /// True while the connection is usable; after a connection error call Reconnect().
    [[nodiscard]] bool IsHealthy() const noexcept;
    void Reconnect();
    /// True inside a transaction, including one whose BEGIN is still queued.
    [[nodiscard]] bool InTransaction() const noexcept;
    [[nodiscard]] PGconn* Raw() noexcept { return conn_.get(); }

    /// `postgresql://user:***@host:port/db`, safe to log.
    [[nodiscard]] static std::string RedactDsn(const std::string& dsn);
    /// The seed's `postgresql+psycopg2://` form turned into a libpq URI.
    [[nodiscard]] static std::string NormalizeDsn(const std::string& dsn);

private:
    Connection(ConnHandle conn, std::string dsn, SessionSettings settings);

    struct Queued {
        std::string sql;
        std::vector<std::optional<std::string>> params;
    };

    /// Sends BEGIN (if queued), the queued statements and `last` (if any) in one pipeline and
    /// returns the result of `last`. Throws the first statement error.
    Rows ExecPipelined(const Queued* last);
    [[nodiscard]] bool HasQueued() const noexcept { return begin_pending_ || !queued_.empty(); }

    ConnHandle conn_;
    std::string dsn_;
    SessionSettings settings_;
    std::unordered_map<std::string, std::string> prepared_;  // sql -> statement name
    std::size_t next_statement_ = 0;
    bool begin_pending_ = false;
    std::vector<Queued> queued_;
};

}  // namespace sagapay::postgres
