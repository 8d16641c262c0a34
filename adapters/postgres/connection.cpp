#include "adapters/postgres/connection.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <utility>

#include "adapters/postgres/dsn.hpp"
#include "adapters/postgres/libpq_util.hpp"

namespace sagapay::postgres {

using detail::CheckResult;
using detail::ScrubPassword;
using detail::SqlPreview;
using detail::Trim;

namespace {

/// Past this many cached statements (dynamic SQL), statements run unnamed instead of piling up
/// on the server for the life of the connection.
constexpr std::size_t kMaxPreparedStatements = 512;

/// Forwards warnings to stderr like libpq does, and drops NOTICEs ("... already exists,
/// skipping") that would clutter every migration run.
void OnNotice(void* /*arg*/, const PGresult* result) {
    const char* severity = PQresultErrorField(result, PG_DIAG_SEVERITY_NONLOCALIZED);
    if (severity != nullptr && std::strcmp(severity, "WARNING") == 0) {
        std::fputs(PQresultErrorMessage(result), stderr);
    }
}

std::mutex& DefaultsMutex() {
    static std::mutex mutex;
    return mutex;
}

SessionSettings& Defaults() {
    static SessionSettings settings;
    return settings;
}

/// Connects with `conninfo`'s own parameters plus `settings` for what it leaves unset.
ConnHandle Connect(const std::string& conninfo, const SessionSettings& settings) {
    char* error = nullptr;
    PQconninfoOption* parsed = PQconninfoParse(conninfo.c_str(), &error);
    if (parsed == nullptr) {
        PQfreemem(error);
        return ConnHandle(PQconnectdb(conninfo.c_str()));  // reports the parse error itself
    }
    std::vector<std::string> keys;
    std::vector<std::string> values;
    std::string options;
    for (const PQconninfoOption* option = parsed; option->keyword != nullptr; ++option) {
        if (option->val == nullptr) {
            continue;
        }
        if (std::strcmp(option->keyword, "options") == 0) {
            options = option->val;
        } else {
            keys.emplace_back(option->keyword);
            values.emplace_back(option->val);
        }
    }
    PQconninfoFree(parsed);

    const auto add = [&](const char* key, std::int64_t value) {
        if (std::find(keys.begin(), keys.end(), key) == keys.end()) {
            keys.emplace_back(key);
            values.push_back(std::to_string(value));
        }
    };
    add("keepalives", 1);
    add("keepalives_idle", settings.keepalives_idle.count());
    add("keepalives_interval", settings.keepalives_interval.count());
    add("keepalives_count", settings.keepalives_count);
    if (settings.tcp_user_timeout.count() > 0) {
        add("tcp_user_timeout", settings.tcp_user_timeout.count());
    }
    const auto add_setting = [&](std::string_view name, std::chrono::milliseconds value) {
        if (value.count() > 0 && options.find(name) == std::string::npos) {
            options += options.empty() ? "" : " ";
            options += "-c ";
            options += name;
            options += "=" + std::to_string(value.count());
        }
    };
    add_setting("statement_timeout", settings.statement_timeout);
    add_setting("lock_timeout", settings.lock_timeout);
    add_setting("idle_in_transaction_session_timeout", settings.idle_in_transaction_timeout);
    if (!options.empty()) {
        keys.emplace_back("options");
        values.push_back(std::move(options));
    }

    std::vector<const char*> key_ptrs;
    std::vector<const char*> value_ptrs;
    for (std::size_t i = 0; i < keys.size(); ++i) {
        key_ptrs.push_back(keys[i].c_str());
        value_ptrs.push_back(values[i].c_str());
    }
    key_ptrs.push_back(nullptr);
    value_ptrs.push_back(nullptr);
    return ConnHandle(PQconnectdbParams(key_ptrs.data(), value_ptrs.data(), 0));
}

}  // namespace

void SetDefaultSessionSettings(const SessionSettings& settings) {
    const std::lock_guard lock(DefaultsMutex());
    Defaults() = settings;
}

SessionSettings DefaultSessionSettings() {
    const std::lock_guard lock(DefaultsMutex());
    return Defaults();
}

Connection::Connection(ConnHandle conn, std::string dsn, SessionSettings settings)
    : conn_(std::move(conn)), dsn_(std::move(dsn)), settings_(settings) {}

Connection Connection::Open(const std::string& dsn) {
    return Open(dsn, DefaultSessionSettings());
}

Connection Connection::Open(const std::string& dsn, const SessionSettings& settings) {
    std::string normalized = NormalizeDsn(dsn);
    ConnHandle conn = Connect(normalized, settings);
    if (!conn) {
        throw SqlError(
            ErrorCode::kUnavailable, "", "cannot connect to " + RedactDsn(dsn) + ": out of memory"
        );
    }
    if (PQstatus(conn.get()) != CONNECTION_OK) {
        std::string reason = ScrubPassword(Trim(PQerrorMessage(conn.get())), normalized);
        throw SqlError(
            ErrorCode::kUnavailable,
            "",
            "cannot connect to " + RedactDsn(dsn) + ": " + ScrubPassword(std::move(reason), dsn)
        );
    }
    PQsetNoticeReceiver(conn.get(), &OnNotice, nullptr);
    return {std::move(conn), std::move(normalized), settings};
}

Rows Connection::Exec(std::string_view sql, std::initializer_list<Param> params) {
    return Exec(sql, std::span<const Param>(params.begin(), params.size()));
}

Rows Connection::Exec(std::string_view sql, std::span<const Param> params) {
    if (!conn_) {
        throw SqlError(ErrorCode::kUnavailable, "", SqlPreview(sql) + ": connection is closed");
    }
    if (HasQueued()) {
        Queued last{std::string(sql), {}};
        last.params.reserve(params.size());
        for (const Param& param : params) {
            last.params.push_back(
                param.Data() == nullptr ? std::nullopt : std::optional<std::string>(param.Data())
            );
        }
        return ExecPipelined(&last);
    }
    PGconn* conn = conn_.get();
    std::vector<const char*> values;
    values.reserve(params.size());
    for (const Param& param : params) {
        values.push_back(param.Data());
    }
    const int count = static_cast<int>(params.size());

    std::string text(sql);
    auto statement = prepared_.find(text);
    if (statement == prepared_.end() && prepared_.size() < kMaxPreparedStatements) {
        std::string name = "s" + std::to_string(++next_statement_);
        const ResultHandle prepared(PQprepare(conn, name.c_str(), text.c_str(), count, nullptr));
        CheckResult(conn, prepared.get(), sql);
        statement = prepared_.emplace(text, std::move(name)).first;
    }
    ResultHandle result;
    if (statement != prepared_.end()) {
        result.reset(PQexecPrepared(
            conn, statement->second.c_str(), count, values.data(), nullptr, nullptr, 0
        ));
    } else {
        result.reset(
            PQexecParams(conn, text.c_str(), count, nullptr, values.data(), nullptr, nullptr, 0)
        );
    }
    CheckResult(conn, result.get(), sql);
    return Rows(std::move(result));
}

void Connection::ExecDeferred(std::string_view sql, std::span<const Param> params) {
    Queued queued{std::string(sql), {}};
    queued.params.reserve(params.size());
    for (const Param& param : params) {
        queued.params.push_back(
            param.Data() == nullptr ? std::nullopt : std::optional<std::string>(param.Data())
        );
    }
    queued_.push_back(std::move(queued));
}

void Connection::AbortTransaction() {
    queued_.clear();
    if (begin_pending_) {
        begin_pending_ = false;  // nothing of the transaction reached the server
        return;
    }
    if (IsHealthy() && InTransaction()) {
        Exec("ROLLBACK");
    }
}

Rows Connection::ExecPipelined(const Queued* last) {
    PGconn* conn = conn_.get();
    std::vector<const Queued*> statements;
    const Queued begin{"BEGIN", {}};
    if (begin_pending_) {
        statements.push_back(&begin);
    }
    for (const Queued& queued : queued_) {
        statements.push_back(&queued);
    }
    if (last != nullptr) {
        statements.push_back(last);
    }
    // Whatever happens next, these statements are sent (or the connection is lost): never twice.
    auto owned = std::move(queued_);
    queued_.clear();
    begin_pending_ = false;

    if (PQenterPipelineMode(conn) != 1) {
        throw SqlError(
            ErrorCode::kUnavailable, "", "cannot enter pipeline mode: " + Trim(PQerrorMessage(conn))
        );
    }
    struct Sent {
        const Queued* statement;
        std::string prepared_name;  ///< Non-empty for a Parse sent in this pipeline.
    };
    std::vector<Sent> sent;
    std::unordered_map<std::string, std::string> preparing;  // sql -> name, this pipeline
    bool send_failed = false;
    for (const Queued* statement : statements) {
        std::vector<const char*> values;
        values.reserve(statement->params.size());
        for (const auto& value : statement->params) {
            values.push_back(value ? value->c_str() : nullptr);
        }
        const int count = static_cast<int>(values.size());
        std::string name;
        if (const auto found = prepared_.find(statement->sql); found != prepared_.end()) {
            name = found->second;
        } else if (const auto pending = preparing.find(statement->sql);
                   pending != preparing.end()) {
            name = pending->second;
        } else if (prepared_.size() + preparing.size() < kMaxPreparedStatements) {
            name = "s" + std::to_string(++next_statement_);
            if (PQsendPrepare(conn, name.c_str(), statement->sql.c_str(), count, nullptr) != 1) {
                send_failed = true;
                break;
            }
            preparing.emplace(statement->sql, name);
            sent.push_back(Sent{statement, name});
        }
        const int ok = name.empty()
                           ? PQsendQueryParams(
                                 conn,
                                 statement->sql.c_str(),
                                 count,
                                 nullptr,
                                 values.data(),
                                 nullptr,
                                 nullptr,
                                 0
                             )
                           : PQsendQueryPrepared(
                                 conn, name.c_str(), count, values.data(), nullptr, nullptr, 0
                             );
        if (ok != 1) {
            send_failed = true;
            break;
        }
        sent.push_back(Sent{statement, ""});
    }
    if (send_failed || PQpipelineSync(conn) != 1) {
        const std::string reason = Trim(PQerrorMessage(conn));
        conn_.reset();  // unusable mid-pipeline; Reconnect() opens a new one
        prepared_.clear();
        throw SqlError(ErrorCode::kUnavailable, "", "sending a pipeline: " + reason);
    }

    std::optional<SqlError> first_error;
    ResultHandle result_of_last;
    for (const Sent& item : sent) {
        ResultHandle result(PQgetResult(conn));
        if (!result) {
            const std::string reason = Trim(PQerrorMessage(conn));
            conn_.reset();
            prepared_.clear();
            throw SqlError(
                ErrorCode::kUnavailable, "", SqlPreview(item.statement->sql) + ": " + reason
            );
        }
        while (PGresult* extra = PQgetResult(conn)) {  // up to the NULL that ends the command
            PQclear(extra);
        }
        const ExecStatusType status = PQresultStatus(result.get());
        if (status == PGRES_PIPELINE_ABORTED) {
            continue;
        }
        try {
            CheckResult(conn, result.get(), item.statement->sql);
        } catch (const SqlError& e) {
            if (!first_error) {
                first_error = e;
            }
            continue;
        }
        if (!item.prepared_name.empty()) {
            prepared_.emplace(item.statement->sql, item.prepared_name);
        } else if (item.statement == last) {
            result_of_last = std::move(result);
        }
    }
    const ResultHandle sync(PQgetResult(conn));
    if (!sync || PQresultStatus(sync.get()) != PGRES_PIPELINE_SYNC ||
        PQexitPipelineMode(conn) != 1) {
        const std::string reason = Trim(PQerrorMessage(conn));
        conn_.reset();
        prepared_.clear();
        throw SqlError(ErrorCode::kUnavailable, "", "ending a pipeline: " + reason);
    }
    if (first_error) {
        throw *first_error;
    }
    return Rows(std::move(result_of_last));
}

void Connection::ExecScript(std::string_view sql) {
    if (!conn_) {
        throw SqlError(ErrorCode::kUnavailable, "", SqlPreview(sql) + ": connection is closed");
    }
    if (HasQueued()) {
        (void)ExecPipelined(nullptr);
    }
    const ResultHandle result(PQexec(conn_.get(), std::string(sql).c_str()));
    CheckResult(conn_.get(), result.get(), sql);
}

bool Connection::IsHealthy() const noexcept {
    return conn_ && PQstatus(conn_.get()) == CONNECTION_OK;
}

void Connection::Reconnect() {
    prepared_.clear();
    queued_.clear();
    begin_pending_ = false;
    if (conn_) {
        PQreset(conn_.get());
    } else {
        conn_ = Connect(dsn_, settings_);
        if (conn_) {
            PQsetNoticeReceiver(conn_.get(), &OnNotice, nullptr);
        }
    }
    if (!IsHealthy()) {
        std::string reason = conn_ ? Trim(PQerrorMessage(conn_.get())) : "out of memory";
        throw SqlError(
            ErrorCode::kUnavailable,
            "",
            "cannot reconnect to " + RedactDsn(dsn_) + ": " + ScrubPassword(std::move(reason), dsn_)
        );
    }
}

bool Connection::InTransaction() const noexcept {
    if (begin_pending_) {
        return true;
    }
    if (!conn_) {
        return false;
    }
    switch (PQtransactionStatus(conn_.get())) {
        case PQTRANS_INTRANS:
        case PQTRANS_INERROR:
        case PQTRANS_ACTIVE:
            return true;
        default:
            return false;
    }
}

}  // namespace sagapay::postgres
