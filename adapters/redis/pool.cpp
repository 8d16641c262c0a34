#include "adapters/redis/pool.hpp"

namespace sagapay::redis {

std::unique_ptr<Connection> ConnectionPool::Borrow() {
    {
        const std::lock_guard lock(mutex_);
        if (!idle_.empty()) {
            auto conn = std::move(idle_.back());
            idle_.pop_back();
            return conn;
        }
    }
    return std::make_unique<Connection>(endpoint_);
}

void ConnectionPool::Return(std::unique_ptr<Connection> conn) {
    const std::lock_guard lock(mutex_);
    if (idle_.size() < max_idle_) {
        idle_.push_back(std::move(conn));
    }
}

}  // namespace sagapay::redis
