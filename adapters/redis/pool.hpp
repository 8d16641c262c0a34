#pragma once

#include <memory>
#include <mutex>
#include <vector>

#include "adapters/redis/client.hpp"

namespace sagapay::redis {

/// Connections shared by many threads. With() lends one to `use` (reusing an idle one or opening
/// one) and takes it back afterwards; a connection whose use threw is dropped, not reused.
/// Thread-safe.
class ConnectionPool {
public:
    explicit ConnectionPool(Endpoint endpoint, std::size_t max_idle = 32)
        : endpoint_(std::move(endpoint)), max_idle_(max_idle) {}

    template <class Use>
    auto With(Use&& use) {
        std::unique_ptr<Connection> conn = Borrow();
        auto result = use(*conn);
        Return(std::move(conn));
        return result;
    }

private:
    std::unique_ptr<Connection> Borrow();
    void Return(std::unique_ptr<Connection> conn);

    Endpoint endpoint_;
    std::size_t max_idle_;
    std::mutex mutex_;
    std::vector<std::unique_ptr<Connection>> idle_;
};

}  // namespace sagapay::redis
