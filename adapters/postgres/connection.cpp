#include "adapters/postgres/connection.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <climits>
#include <cstdio>
#include <cstring>
#include <system_error>
#include <utility>

#include <poll.h>
#include <unistd.h>

namespace sagapay::postgres {
namespace {

/// Past this many cached statements (dynamic SQL), statements run unnamed instead of piling up
/// on the server for the life of the connection.
constexpr std::size_t kMaxPreparedStatements = 512;
constexpr std::size_t kSqlPreviewLength = 80;
constexpr std::string_view kMask = "***";

struct Range {
    std::size_t begin;
    std::size_t end;
};

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

/// The start of a statement on one line, for error messages.
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

/// `scheme://...` rather than `key=value ...`.
std::size_t UriSchemeEnd(std::string_view dsn) {
    const std::size_t end = dsn.find("://");
    if (end == std::string_view::npos || dsn.substr(0, end).find_first_of(" ='") != dsn.npos) {
        return std::string_view::npos;
    }
    return end;
}

/// Where the password values are in a URI (userinfo and `password=` query parameters) or in a
/// keyword/value connection string.
std::vector<Range> PasswordRanges(std::string_view dsn) {
    std::vector<Range> ranges;
    const std::size_t scheme_end = UriSchemeEnd(dsn);
    if (scheme_end != std::string_view::npos) {
        const std::size_t authority = scheme_end + 3;
        const std::size_t query = std::min(dsn.find_first_of("?#", authority), dsn.size());
        // The last '@' before the query: a raw '@' or '/' in a password is masked too.
        const std::size_t at = dsn.substr(authority, query - authority).rfind('@');
        if (at != std::string_view::npos) {
            const std::size_t colon = dsn.substr(authority, at).find(':');
            if (colon != std::string_view::npos) {
                ranges.push_back({authority + colon + 1, authority + at});
            }
        }
        if (query < dsn.size() && dsn[query] == '?') {
            std::size_t pos = query + 1;
            while (pos < dsn.size() && dsn[pos] != '#') {
                const std::size_t end = std::min(dsn.find_first_of("&#", pos), dsn.size());
                const std::string_view pair = dsn.substr(pos, end - pos);
                const std::size_t eq = pair.find('=');
                if (eq != std::string_view::npos && pair.substr(0, eq) == "password") {
                    ranges.push_back({pos + eq + 1, end});
                }
                pos = end < dsn.size() && dsn[end] == '&' ? end + 1 : end;
            }
        }
        return ranges;
    }
    // keyword = value pairs; values may be single-quoted with backslash escapes.
    const auto is_space = [](char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; };
    std::size_t pos = 0;
    while (pos < dsn.size()) {
        while (pos < dsn.size() && is_space(dsn[pos])) {
            ++pos;
        }
        const std::size_t key_begin = pos;
        while (pos < dsn.size() && dsn[pos] != '=' && !is_space(dsn[pos])) {
            ++pos;
        }
        const std::string_view key = dsn.substr(key_begin, pos - key_begin);
        while (pos < dsn.size() && is_space(dsn[pos])) {
            ++pos;
        }
        if (pos >= dsn.size() || dsn[pos] != '=') {
            ++pos;
            continue;
        }
        ++pos;
        while (pos < dsn.size() && is_space(dsn[pos])) {
            ++pos;
        }
        const std::size_t value_begin = pos;
        if (pos < dsn.size() && dsn[pos] == '\'') {
            ++pos;
            while (pos < dsn.size() && dsn[pos] != '\'') {
                pos += dsn[pos] == '\\' ? 2 : 1;
            }
            pos = std::min(pos + 1, dsn.size());
        } else {
            while (pos < dsn.size() && !is_space(dsn[pos])) {
                pos += dsn[pos] == '\\' ? 2 : 1;
            }
            pos = std::min(pos, dsn.size());
        }
        if (key == "password") {
            ranges.push_back({value_begin, pos});
        }
    }
    return ranges;
}

std::string PercentDecode(std::string_view text) {
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
        unsigned value = 0;
        if (text[i] == '%' && i + 2 < text.size() &&
            std::from_chars(text.data() + i + 1, text.data() + i + 3, value, 16).ptr ==
                text.data() + i + 3) {
            out.push_back(static_cast<char>(value));
            i += 2;
        } else {
            out.push_back(text[i]);
        }
    }
    return out;
}

void ReplaceAll(std::string& text, std::string_view needle, std::string_view replacement) {
    if (needle.empty()) {
        return;
    }
    std::size_t pos = 0;
    while ((pos = text.find(needle, pos)) != std::string::npos) {
        text.replace(pos, needle.size(), replacement);
        pos += replacement.size();
    }
}

/// Removes every spelling of the DSN's password from a libpq message (URI parse errors quote the
/// offending token).
std::string ScrubPassword(std::string message, std::string_view dsn) {
    std::vector<std::string> secrets;
    for (const Range& range : PasswordRanges(dsn)) {
        std::string raw(dsn.substr(range.begin, range.end - range.begin));
        if (raw.size() >= 2 && raw.front() == '\'' && raw.back() == '\'') {
            raw = raw.substr(1, raw.size() - 2);
        }
        secrets.push_back(PercentDecode(raw));
        // libpq splits userinfo at the first '@': the rest would show up as the host name.
        std::size_t start = 0;
        while (start <= raw.size()) {
            const std::size_t at = std::min(raw.find('@', start), raw.size());
            secrets.push_back(raw.substr(start, at - start));
            start = at + 1;
        }
        secrets.push_back(std::move(raw));
    }
    std::sort(secrets.begin(), secrets.end(), [](const std::string& a, const std::string& b) {
        return a.size() > b.size();
    });
    for (const std::string& secret : secrets) {
        ReplaceAll(message, secret, kMask);
    }
    return message;
}

/// Forwards warnings to stderr like libpq does, and drops NOTICEs ("... already exists,
/// skipping") that would clutter every migration run.
void OnNotice(void* /*arg*/, const PGresult* result) {
    const char* severity = PQresultErrorField(result, PG_DIAG_SEVERITY_NONLOCALIZED);
    if (severity != nullptr && std::strcmp(severity, "WARNING") == 0) {
        std::fputs(PQresultErrorMessage(result), stderr);
    }
}

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

}  // namespace

ErrorCode ErrorCodeFromSqlState(std::string_view sql_state) noexcept {
    if (sql_state == "40001" || sql_state == "40P01") {
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

// ---- Rows ------------------------------------------------------------------------------------

Rows::Rows(ResultHandle result) : result_(std::move(result)) {}

int Rows::Size() const noexcept {
    return result_ ? PQntuples(result_.get()) : 0;
}

std::int64_t Rows::Affected() const noexcept {
    if (!result_) {
        return 0;
    }
    const std::string_view text = PQcmdTuples(result_.get());
    std::int64_t affected = 0;
    std::from_chars(text.data(), text.data() + text.size(), affected);
    return affected;
}

bool Rows::IsNull(int row, int col) const noexcept {
    return !result_ || PQgetisnull(result_.get(), row, col) != 0;
}

std::string_view Rows::Get(int row, int col) const noexcept {
    if (!result_) {
        return {};
    }
    const char* value = PQgetvalue(result_.get(), row, col);
    if (value == nullptr) {
        return {};
    }
    return {value, static_cast<std::size_t>(PQgetlength(result_.get(), row, col))};
}

std::optional<std::string> Rows::GetOptional(int row, int col) const {
    if (IsNull(row, col)) {
        return std::nullopt;
    }
    return GetString(row, col);
}

std::int64_t Rows::GetInt(int row, int col) const {
    if (IsNull(row, col)) {
        throw SqlError(
            ErrorCode::kInternal,
            "",
            "row " + std::to_string(row) + " column " + std::to_string(col) +
                " is NULL, not an integer"
        );
    }
    const std::string_view text = Get(row, col);
    std::int64_t value = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc() || end != text.data() + text.size() || text.empty()) {
        throw SqlError(
            ErrorCode::kInternal,
            "",
            "row " + std::to_string(row) + " column " + std::to_string(col) +
                " is not an integer: '" + std::string(text.substr(0, 40)) + "'"
        );
    }
    return value;
}

int Rows::Column(std::string_view name) const {
    const int index = result_ ? PQfnumber(result_.get(), std::string(name).c_str()) : -1;
    if (index < 0) {
        throw SqlError(ErrorCode::kInternal, "", "no column named " + std::string(name));
    }
    return index;
}

namespace {

void AppendArrayElement(std::string& literal, const std::string* value) {
    if (literal.size() > 1) {
        literal.push_back(',');
    }
    if (value == nullptr) {
        literal += "NULL";
        return;
    }
    literal.push_back('"');
    for (const char c : *value) {
        if (c == '"' || c == '\\') {
            literal.push_back('\\');
        }
        literal.push_back(c);
    }
    literal.push_back('"');
}

}  // namespace

std::string TextArray(std::span<const std::optional<std::string>> values) {
    std::string literal = "{";
    for (const auto& value : values) {
        AppendArrayElement(literal, value ? &*value : nullptr);
    }
    literal.push_back('}');
    return literal;
}

std::string TextArray(std::span<const std::string> values) {
    std::string literal = "{";
    for (const std::string& value : values) {
        AppendArrayElement(literal, &value);
    }
    literal.push_back('}');
    return literal;
}

// ---- Connection ------------------------------------------------------------------------------

Connection::Connection(ConnHandle conn, std::string dsn)
    : conn_(std::move(conn)), dsn_(std::move(dsn)) {}

Connection Connection::Open(const std::string& dsn) {
    std::string normalized = NormalizeDsn(dsn);
    ConnHandle conn(PQconnectdb(normalized.c_str()));
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
    return Connection(std::move(conn), std::move(normalized));
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

void Connection::Listen(std::string_view channel) {
    if (!conn_) {
        throw SqlError(ErrorCode::kUnavailable, "", "LISTEN: connection is closed");
    }
    ExecScript("LISTEN " + QuoteIdentifier(conn_.get(), channel));
}

bool Connection::WaitForNotification(std::chrono::milliseconds timeout, int wake_fd) {
    if (!conn_) {
        throw SqlError(
            ErrorCode::kUnavailable, "", "waiting for a notification: connection is closed"
        );
    }
    PGconn* conn = conn_.get();
    const auto consume = [conn] {
        if (PQconsumeInput(conn) == 0) {
            throw SqlError(
                ErrorCode::kUnavailable,
                "",
                "waiting for a notification: " + Trim(PQerrorMessage(conn))
            );
        }
    };
    const auto drain = [conn] {
        bool any = false;
        while (PGnotify* notify = PQnotifies(conn)) {
            any = true;
            PQfreemem(notify);
        }
        return any;
    };

    consume();
    if (drain()) {
        return true;
    }
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
        const int socket = PQsocket(conn);
        if (socket < 0) {
            throw SqlError(
                ErrorCode::kUnavailable,
                "",
                "waiting for a notification: the connection has no socket"
            );
        }
        const auto left = std::chrono::ceil<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now()
        );
        const auto wait_ms = std::clamp<std::chrono::milliseconds::rep>(left.count(), 0, INT_MAX);
        std::array<pollfd, 2> descriptors{{{socket, POLLIN, 0}, {wake_fd, POLLIN, 0}}};
        const nfds_t count = wake_fd >= 0 ? 2 : 1;
        const int ready = ::poll(descriptors.data(), count, static_cast<int>(wait_ms));
        if (ready < 0) {
            if (errno == EINTR) {
                continue;
            }
            throw SqlError(
                ErrorCode::kUnavailable,
                "",
                "waiting for a notification: poll: " + std::generic_category().message(errno)
            );
        }
        if (ready == 0) {
            return false;
        }
        if (count == 2 && (descriptors[1].revents & POLLIN) != 0) {
            std::uint64_t value = 0;
            [[maybe_unused]] const auto got = ::read(wake_fd, &value, sizeof(value));
            return true;
        }
        consume();
        if (drain()) {
            return true;
        }
        if (std::chrono::steady_clock::now() >= deadline) {
            return false;
        }
    }
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
        conn_.reset(PQconnectdb(dsn_.c_str()));
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

std::string Connection::RedactDsn(const std::string& dsn) {
    std::string redacted = dsn;
    std::vector<Range> ranges = PasswordRanges(dsn);
    std::sort(ranges.begin(), ranges.end(), [](const Range& a, const Range& b) {
        return a.begin > b.begin;
    });
    for (const Range& range : ranges) {
        redacted.replace(range.begin, range.end - range.begin, kMask);
    }
    return redacted;
}

std::string Connection::NormalizeDsn(const std::string& dsn) {
    // `postgresql+psycopg2://`, `postgres+asyncpg://`: SQLAlchemy's driver suffix.
    const std::size_t scheme_end = UriSchemeEnd(dsn);
    if (scheme_end == std::string::npos) {
        return dsn;
    }
    const std::string_view scheme = std::string_view(dsn).substr(0, scheme_end);
    const std::size_t plus = scheme.find('+');
    if (plus == std::string_view::npos) {
        return dsn;
    }
    const std::string_view base = scheme.substr(0, plus);
    if (base != "postgresql" && base != "postgres") {
        return dsn;
    }
    return "postgresql" + dsn.substr(scheme_end);
}

// ---- Transaction -----------------------------------------------------------------------------

Transaction::Transaction(Connection& conn) : conn_(conn) {
    if (!conn_.IsHealthy()) {
        throw SqlError(ErrorCode::kUnavailable, "", "BEGIN: the connection is not usable");
    }
    conn_.BeginDeferred();  // sent with the first statement
}

Transaction::~Transaction() {
    if (!open_) {
        return;
    }
    try {
        conn_.AbortTransaction();
    } catch (...) {  // NOLINT(bugprone-empty-catch): a broken connection has rolled back already
    }
}

void Transaction::RunBeforeCommit() {
    while (!before_commit_.empty()) {
        auto hooks = std::move(before_commit_);
        before_commit_.clear();
        for (auto& [key, hook] : hooks) {
            hook(*this);
        }
    }
    locals_.clear();
}

void Transaction::BeforeCommit(std::string_view key, std::function<void(Transaction&)> fn) {
    for (const auto& [existing, hook] : before_commit_) {
        if (existing == key) {
            return;
        }
    }
    before_commit_.emplace_back(std::string(key), std::move(fn));
}

void Transaction::Savepoint(std::string_view name) {
    RunBeforeCommit();
    conn_.ExecScript("SAVEPOINT " + QuoteIdentifier(conn_.Raw(), name));
}

void Transaction::RollbackTo(std::string_view name) {
    // What was buffered after the savepoint is rolled back with it (RunBeforeCommit flushed the
    // rest when the savepoint was taken).
    before_commit_.clear();
    locals_.clear();
    conn_.ExecScript("ROLLBACK TO SAVEPOINT " + QuoteIdentifier(conn_.Raw(), name));
}

void Transaction::Release(std::string_view name) {
    conn_.ExecScript("RELEASE SAVEPOINT " + QuoteIdentifier(conn_.Raw(), name));
}

void Transaction::Commit() {
    if (conn_.IsHealthy() && PQtransactionStatus(conn_.Raw()) != PQTRANS_INERROR) {
        RunBeforeCommit();  // a failure here leaves the transaction open: the destructor rolls back
    }
    open_ = false;
    if (conn_.IsHealthy() && PQtransactionStatus(conn_.Raw()) == PQTRANS_INERROR) {
        // COMMIT would answer "ROLLBACK" without an error: say so instead of losing the writes.
        conn_.Exec("ROLLBACK");
        throw SqlError(
            ErrorCodeFromSqlState("25P02"),
            "25P02",
            "COMMIT: the transaction was aborted by an earlier failed statement and has been "
            "rolled "
            "back (use a savepoint to recover from an expected error)"
        );
    }
    if (conn_.NothingSent()) {
        conn_.AbortTransaction();  // nothing was written: no round trip for an empty transaction
    } else {
        try {
            conn_.Exec("COMMIT");
        } catch (const SqlError&) {
            // A queued statement sent with the COMMIT failed: the transaction is still open, in
            // error. (A failed COMMIT itself has ended it.)
            try {
                if (conn_.IsHealthy() && conn_.InTransaction()) {
                    conn_.Exec("ROLLBACK");
                }
            } catch (...) {  // NOLINT(bugprone-empty-catch): a lost connection has rolled back
            }
            throw;
        }
    }
    auto hooks = std::move(after_commit_);
    after_commit_.clear();
    for (auto& [key, hook] : hooks) {
        hook();
    }
}

void Transaction::AfterCommit(std::string_view key, std::function<void()> fn) {
    for (const auto& [existing, hook] : after_commit_) {
        if (existing == key) {
            return;
        }
    }
    after_commit_.emplace_back(std::string(key), std::move(fn));
}

void Transaction::Rollback() {
    open_ = false;
    conn_.AbortTransaction();
}

}  // namespace sagapay::postgres
