#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "adapters/postgres/connection.hpp"

namespace sagapay::postgres {

/// A fixed-size pool of connections, opened lazily. Thread-safe. A connection returned broken
/// is dropped and reopened on next use, so a server restart heals by itself.
class Pool {
public:
    Pool(std::string dsn, std::size_t max_size);

    /// A borrowed connection; returns itself to the pool on destruction.
    class Lease {
    public:
        Lease(Pool& pool, std::unique_ptr<Connection> conn)
            : pool_(&pool), conn_(std::move(conn)) {}
        Lease(Lease&&) noexcept = default;
        /// Returns the connection held so far to its pool (a defaulted one would leak a slot).
        Lease& operator=(Lease&& other) noexcept;
        Lease(const Lease&) = delete;
        Lease& operator=(const Lease&) = delete;
        ~Lease();
        Connection& operator*() noexcept { return *conn_; }
        Connection* operator->() noexcept { return conn_.get(); }

    private:
        Pool* pool_;
        std::unique_ptr<Connection> conn_;
    };

    /// Waits up to `timeout` for a free connection; throws SqlError(kUnavailable) after that or
    /// when the server cannot be reached.
    Lease Acquire(std::chrono::milliseconds timeout = std::chrono::seconds(5));
    [[nodiscard]] const std::string& Dsn() const noexcept { return dsn_; }

private:
    void Return(std::unique_ptr<Connection> conn);

    std::string dsn_;
    std::size_t max_size_;
    std::mutex mutex_;
    std::condition_variable available_;
    std::vector<std::unique_ptr<Connection>> idle_;
    std::size_t open_ = 0;
};

}  // namespace sagapay::postgres
