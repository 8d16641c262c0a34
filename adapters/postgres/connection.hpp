#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include <libpq-fe.h>

#include "core/error.hpp"
#include "core/unique_handle.hpp"

namespace sagapay::postgres {

using ConnHandle = UniqueHandle<PGconn, &PQfinish>;
using ResultHandle = UniqueHandle<PGresult, &PQclear>;

/// A failed statement or connection. `sql_state` is the SQLSTATE ("" for connection failures);
/// `code` classifies it (ErrorCodeFromSqlState). Thrown by Connection; callers at the top of a
/// consumer loop or HTTP handler turn it into a retry, a 503 or a dead letter.
class SqlError : public std::runtime_error {
public:
    SqlError(ErrorCode code, std::string sql_state, const std::string& message)
        : std::runtime_error(message), code_(code), sql_state_(std::move(sql_state)) {}
    [[nodiscard]] ErrorCode Code() const noexcept { return code_; }
    [[nodiscard]] const std::string& SqlState() const noexcept { return sql_state_; }

private:
    ErrorCode code_;
    std::string sql_state_;
};

/// 40001/40P01 → kAborted, 23505 → kAlreadyExists, 57014 → kDeadlineExceeded, 08xxx →
/// kUnavailable, 22xxx/23xxx → kInvalidArgument, else kInternal.
[[nodiscard]] ErrorCode ErrorCodeFromSqlState(std::string_view sql_state) noexcept;

/// One text-format statement parameter (NULL when empty).
class Param {
public:
    Param(std::nullopt_t) {}                              // NOLINT(google-explicit-constructor)
    Param(std::string_view v) : value_(v) {}              // NOLINT(google-explicit-constructor)
    Param(const std::string& v) : value_(v) {}            // NOLINT(google-explicit-constructor)
    Param(const char* v) : value_(v) {}                   // NOLINT(google-explicit-constructor)
    Param(std::int64_t v) : value_(std::to_string(v)) {}  // NOLINT(google-explicit-constructor)
    Param(int v) : value_(std::to_string(v)) {}           // NOLINT(google-explicit-constructor)
    Param(bool v) : value_(v ? "true" : "false") {}       // NOLINT(google-explicit-constructor)
    Param(const std::optional<std::string>& v) : value_(v) {}  // NOLINT
    [[nodiscard]] const char* Data() const noexcept { return value_ ? value_->c_str() : nullptr; }

private:
    std::optional<std::string> value_;
};

/// The rows of one statement, owned. Text format: Get() returns the text of a field.
class Rows {
public:
    Rows() = default;
    explicit Rows(ResultHandle result);

    [[nodiscard]] int Size() const noexcept;
    [[nodiscard]] bool Empty() const noexcept { return Size() == 0; }
    /// Rows changed by INSERT/UPDATE/DELETE.
    [[nodiscard]] std::int64_t Affected() const noexcept;
    [[nodiscard]] bool IsNull(int row, int col) const noexcept;
    [[nodiscard]] std::string_view Get(int row, int col) const noexcept;
    [[nodiscard]] std::string GetString(int row, int col) const {
        return std::string(Get(row, col));
    }
    [[nodiscard]] std::optional<std::string> GetOptional(int row, int col) const;
    /// Throws SqlError(kInternal) when the field is not an integer.
    [[nodiscard]] std::int64_t GetInt(int row, int col) const;
    [[nodiscard]] bool GetBool(int row, int col) const noexcept { return Get(row, col) == "t"; }
    /// Column index by name; throws SqlError(kInternal) when absent.
    [[nodiscard]] int Column(std::string_view name) const;

private:
    ResultHandle result_;
};

/// A text[] literal (`{"a","b",NULL}`) to pass as one parameter, e.g. to `unnest($1::text[])`:
/// one statement text (prepared once) whatever the number of rows. Quotes and backslashes are
/// escaped; std::nullopt is NULL.
[[nodiscard]] std::string TextArray(std::span<const std::optional<std::string>> values);
[[nodiscard]] std::string TextArray(std::span<const std::string> values);

/// One libpq connection. Not thread-safe: one thread uses it at a time.
/// Statements with parameters are prepared once per connection and reused (the SQL text is the
/// cache key), so a hot statement costs one round trip and no parse.
class Connection {
public:
    /// Connects or throws SqlError(kUnavailable) with a message that names host and database but
    /// never the password. Accepts libpq URIs and the seed's `postgresql+psycopg2://` form.
    static Connection Open(const std::string& dsn);

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
    Connection(ConnHandle conn, std::string dsn);

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
    std::unordered_map<std::string, std::string> prepared_;  // sql -> statement name
    std::size_t next_statement_ = 0;
    bool begin_pending_ = false;
    std::vector<Queued> queued_;
};

/// A transaction on a borrowed connection; rolls back on destruction unless committed.
class Transaction {
public:
    explicit Transaction(Connection& conn);
    Transaction(const Transaction&) = delete;
    Transaction& operator=(const Transaction&) = delete;
    ~Transaction();

    Rows Exec(std::string_view sql, std::initializer_list<Param> params = {}) {
        return conn_.Exec(sql, params);
    }
    Rows Exec(std::string_view sql, std::span<const Param> params) {
        return conn_.Exec(sql, params);
    }
    /// Connection::ExecDeferred: a write whose result is not needed, sent with the next statement
    /// or the COMMIT in one round trip.
    void ExecDeferred(std::string_view sql, std::initializer_list<Param> params = {}) {
        conn_.ExecDeferred(sql, params);
    }
    void ExecDeferred(std::string_view sql, std::span<const Param> params) {
        conn_.ExecDeferred(sql, params);
    }
    void Savepoint(std::string_view name);
    void RollbackTo(std::string_view name);
    void Release(std::string_view name);
    void Commit();
    void Rollback();
    [[nodiscard]] Connection& Conn() noexcept { return conn_; }

    /// Runs `fn` right after a successful COMMIT (never after a rollback). Registrations with a
    /// `key` already registered in this transaction are ignored, so a hook added per statement
    /// runs once. Hooks must not throw.
    void AfterCommit(std::string_view key, std::function<void()> fn);

    /// Runs `fn(*this)` once, just before COMMIT (and before a Savepoint, so a RollbackTo can
    /// drop what came after it). Helpers that batch their writes flush them here, so a
    /// transaction's rows of one kind cost one statement. Registrations with a key already
    /// registered are ignored.
    void BeforeCommit(std::string_view key, std::function<void(Transaction&)> fn);

    /// State a helper keeps for this transaction until the next flush (BeforeCommit hooks run):
    /// default-constructed on first use.
    template <class T>
    T& Local(std::string_view key) {
        for (auto& [existing, value] : locals_) {
            if (existing == key) {
                return *static_cast<T*>(value.get());
            }
        }
        auto value = std::make_shared<T>();
        T& ref = *value;
        locals_.emplace_back(std::string(key), std::move(value));
        return ref;
    }

private:
    void RunBeforeCommit();

    Connection& conn_;
    bool open_ = true;
    std::vector<std::pair<std::string, std::function<void()>>> after_commit_;
    std::vector<std::pair<std::string, std::function<void(Transaction&)>>> before_commit_;
    std::vector<std::pair<std::string, std::shared_ptr<void>>> locals_;
};

}  // namespace sagapay::postgres
