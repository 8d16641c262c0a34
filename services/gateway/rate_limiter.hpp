#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "adapters/redis/pool.hpp"
#include "services/gateway/gateway_api.hpp"

namespace sagapay::gateway {

/// A token bucket per customer in Redis: capacity RATE_LIMIT_PER_MINUTE, refilled continuously at
/// capacity/60 tokens a second, new buckets full. One Lua script per request (read, refill, take,
/// write, expire) so concurrent requests can never over-admit; Redis's own clock, so every gateway
/// agrees. Keys `ratelimit:<len>:<customer>` cannot collide. Thread-safe (a small connection pool).
class RateLimiter final : public RateLimit {
public:
    RateLimiter(redis::Endpoint endpoint, std::int64_t per_minute);

    // RateLimit: kUnavailable when Redis cannot be reached (the caller decides: fail open).
    [[nodiscard]] Result<RateDecision> Take(const CustomerId& customer) override;

    [[nodiscard]] static std::string Key(const std::string& customer_id);

private:
    redis::ConnectionPool pool_;
    std::int64_t capacity_;
};

}  // namespace sagapay::gateway
