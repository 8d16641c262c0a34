#include "adapters/postgres/transaction.hpp"

#include "adapters/postgres/connection.hpp"
#include "adapters/postgres/libpq_util.hpp"

namespace sagapay::postgres {

using detail::QuoteIdentifier;

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
    } catch (...) {  // a broken connection has rolled back already
    }
}

Rows Transaction::Exec(std::string_view sql, std::initializer_list<Param> params) {
    return conn_.Exec(sql, params);
}

Rows Transaction::Exec(std::string_view sql, std::span<const Param> params) {
    return conn_.Exec(sql, params);
}

void Transaction::ExecDeferred(std::string_view sql, std::initializer_list<Param> params) {
    conn_.ExecDeferred(sql, params);
}

void Transaction::ExecDeferred(std::string_view sql, std::span<const Param> params) {
    conn_.ExecDeferred(sql, params);
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
            } catch (...) {  // a lost connection has rolled back
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
