#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "adapters/redis/pool.hpp"

namespace sagapay::gateway {

struct RateDecision {
    bool allowed = true;
    std::chrono::milliseconds retry_after{0};
};

/// A token bucket per customer in Redis: capacity RATE_LIMIT_PER_MINUTE, refilled continuously at
/// capacity/60 tokens a second, new buckets full. One Lua script per request (read, refill, take,
/// write, expire) so concurrent requests can never over-admit; Redis's own clock, so every gateway
/// agrees. Keys `ratelimit:<len>:<customer>` cannot collide. Thread-safe (a small connection pool).
class RateLimiter {
public:
    RateLimiter(redis::Endpoint endpoint, std::int64_t per_minute);

    /// Throws redis::RedisError when Redis cannot be reached (the caller decides: fail open).
    RateDecision Take(const std::string& customer_id);

    [[nodiscard]] static std::string Key(const std::string& customer_id);

private:
    redis::ConnectionPool pool_;
    std::int64_t capacity_;
};

}  // namespace sagapay::gateway
