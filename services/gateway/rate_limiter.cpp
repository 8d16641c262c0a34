#include "services/gateway/rate_limiter.hpp"

namespace sagapay::gateway {

namespace {

// KEYS[1] bucket; ARGV: capacity, refill tokens per millisecond. Returns {allowed, retry_ms}.
constexpr const char* kScript = R"lua(
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local bucket = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(bucket[1])
local ts = tonumber(bucket[2])
if tokens == nil or ts == nil then
  tokens = capacity
  ts = now
end
tokens = math.min(capacity, tokens + math.max(0, now - ts) * rate)
local allowed = 0
local retry = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
else
  retry = math.ceil((1 - tokens) / rate)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', now)
redis.call('PEXPIRE', KEYS[1], math.ceil(capacity / rate) + 1000)
return {allowed, retry}
)lua";

}  // namespace

RateLimiter::RateLimiter(redis::Endpoint endpoint, std::int64_t per_minute)
    : pool_(std::move(endpoint)), capacity_(per_minute) {}

std::string RateLimiter::Key(const std::string& customer_id) {
    return "ratelimit:" + std::to_string(customer_id.size()) + ":" + customer_id;
}

Result<RateDecision> RateLimiter::Take(const CustomerId& customer) {
    const double per_ms = static_cast<double>(capacity_) / 60000.0;
    redis::Reply reply;
    try {
        reply = pool_.With([&](redis::Connection& conn) {
            return conn.Command(
                {"EVAL",
                 kScript,
                 "1",
                 Key(customer.Value()),
                 std::to_string(capacity_),
                 std::to_string(per_ms)}
            );
        });
    } catch (const redis::RedisError& e) {
        return Fail(ErrorCode::kUnavailable, std::string("rate limit unavailable: ") + e.what());
    }
    RateDecision decision;
    if (reply.elements.size() == 2) {
        decision.allowed = reply.elements[0].integer == 1;
        decision.retry_after = std::chrono::milliseconds(reply.elements[1].integer);
    }
    return decision;
}

}  // namespace sagapay::gateway
