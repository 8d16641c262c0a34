#include "services/gateway/idempotency_cache.hpp"

namespace sagapay::gateway {

IdempotencyCache::IdempotencyCache(redis::Endpoint endpoint, std::chrono::seconds ttl)
    : endpoint_(std::move(endpoint)), ttl_(ttl) {}

std::string IdempotencyCache::CacheKey(const std::string& customer_id, const std::string& key) {
    return "idem:" + std::to_string(customer_id.size()) + ":" + customer_id + ":" + key;
}

std::unique_ptr<redis::Connection> IdempotencyCache::Borrow() {
    {
        const std::lock_guard lock(mutex_);
        if (!idle_.empty()) {
            auto conn = std::move(idle_.back());
            idle_.pop_back();
            return conn;
        }
    }
    return std::make_unique<redis::Connection>(endpoint_);
}

void IdempotencyCache::Return(std::unique_ptr<redis::Connection> conn) {
    const std::lock_guard lock(mutex_);
    if (idle_.size() < 32) {
        idle_.push_back(std::move(conn));
    }
}

std::optional<IdempotencyCache::Entry> IdempotencyCache::Find(
    const std::string& customer_id, const std::string& key
) {
    try {
        auto conn = Borrow();
        const redis::Reply reply = conn->Command({"HMGET", CacheKey(customer_id, key), "p", "f"});
        Return(std::move(conn));
        if (reply.elements.size() != 2 || reply.elements[0].IsNil() || reply.elements[1].IsNil()) {
            return std::nullopt;
        }
        return Entry{reply.elements[0].str, reply.elements[1].str};
    } catch (const redis::RedisError&) {
        return std::nullopt;
    }
}

void IdempotencyCache::Remember(
    const std::string& customer_id, const std::string& key, const Entry& entry
) {
    try {
        auto conn = Borrow();
        const std::string cache_key = CacheKey(customer_id, key);
        conn->Pipeline({
            {"HSET", cache_key, "p", entry.payment_id, "f", entry.fingerprint},
            {"EXPIRE", cache_key, std::to_string(ttl_.count())},
        });
        Return(std::move(conn));
    } catch (const redis::RedisError&) {
        // The orchestrator's row is the truth; the next request simply misses.
    }
}

}  // namespace sagapay::gateway
