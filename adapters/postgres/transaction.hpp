#pragma once

#include <functional>
#include <initializer_list>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "adapters/postgres/param.hpp"
#include "adapters/postgres/rows.hpp"

namespace sagapay::postgres {

class Connection;  // connection.hpp, which includes this header.

/// A transaction on a borrowed connection; rolls back on destruction unless committed.
class Transaction {
public:
    explicit Transaction(Connection& conn);
    Transaction(const Transaction&) = delete;
    Transaction& operator=(const Transaction&) = delete;
    ~Transaction();

    /// Connection::Exec.
    Rows Exec(std::string_view sql, std::initializer_list<Param> params = {});
    Rows Exec(std::string_view sql, std::span<const Param> params);
    /// Connection::ExecDeferred: a write whose result is not needed, sent with the next statement
    /// or the COMMIT in one round trip.
    void ExecDeferred(std::string_view sql, std::initializer_list<Param> params = {});
    void ExecDeferred(std::string_view sql, std::span<const Param> params);
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
