#include "adapters/postgres/pool.hpp"

#include <utility>

namespace sagapay::postgres {

Pool::Pool(std::string dsn, std::size_t max_size) : dsn_(std::move(dsn)), max_size_(max_size) {
    if (max_size_ == 0) {
        throw SqlError(
            ErrorCode::kInvalidArgument,
            "",
            "a pool for " + Connection::RedactDsn(dsn_) + " needs at least one connection"
        );
    }
}

Pool::Lease::~Lease() {
    if (conn_ && pool_ != nullptr) {
        pool_->Return(std::move(conn_));
    }
}

Pool::Lease& Pool::Lease::operator=(Lease&& other) noexcept {
    if (this != &other) {
        if (conn_ && pool_ != nullptr) {
            pool_->Return(std::move(conn_));
        }
        pool_ = other.pool_;
        conn_ = std::move(other.conn_);
    }
    return *this;
}

Pool::Lease Pool::Acquire(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::unique_lock lock(mutex_);
    while (true) {
        if (!idle_.empty()) {
            std::unique_ptr<Connection> conn = std::move(idle_.back());
            idle_.pop_back();
            return {*this, std::move(conn)};
        }
        if (open_ < max_size_) {
            ++open_;  // reserve the slot, connect without holding the lock
            lock.unlock();
            try {
                return {*this, std::make_unique<Connection>(Connection::Open(dsn_))};
            } catch (...) {
                lock.lock();
                --open_;
                lock.unlock();
                available_.notify_one();
                throw;
            }
        }
        if (available_.wait_until(lock, deadline) == std::cv_status::timeout && idle_.empty() &&
            open_ >= max_size_) {
            throw SqlError(
                ErrorCode::kUnavailable,
                "",
                "no free connection within " + std::to_string(timeout.count()) + " ms: all " +
                    std::to_string(max_size_) + " connections to " + Connection::RedactDsn(dsn_) +
                    " are in use"
            );
        }
    }
}

void Pool::Return(std::unique_ptr<Connection> conn) {
    if (!conn) {
        return;
    }
    bool keep = conn->IsHealthy();
    if (keep && conn->InTransaction()) {
        // A caller that threw mid-transaction without a Transaction guard: never hand an open
        // transaction to the next user.
        try {
            conn->ExecScript("ROLLBACK");
        } catch (...) {  // checked below, dropped if still open
        }
        keep = conn->IsHealthy() && !conn->InTransaction();
    }
    if (!keep) {
        conn.reset();  // close the socket outside the lock
    }
    {
        const std::lock_guard lock(mutex_);
        if (keep) {
            idle_.push_back(std::move(conn));
        } else {
            --open_;
        }
    }
    available_.notify_one();
}

}  // namespace sagapay::postgres
