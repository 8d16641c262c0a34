#include "services/gateway/idempotency_cache.hpp"

namespace sagapay::gateway {

IdempotencyCache::IdempotencyCache(redis::Endpoint endpoint, std::chrono::seconds ttl)
    : pool_(std::move(endpoint)), ttl_(ttl) {}

std::string IdempotencyCache::CacheKey(const std::string& customer_id, const std::string& key) {
    return "idem:" + std::to_string(customer_id.size()) + ":" + customer_id + ":" + key;
}

std::optional<IdempotencyCache::Entry> IdempotencyCache::Find(
    const std::string& customer_id, const std::string& key
) {
    try {
        const redis::Reply reply = pool_.With([&](redis::Connection& conn) {
            return conn.Command({"HMGET", CacheKey(customer_id, key), "p", "f"});
        });
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
        const std::string cache_key = CacheKey(customer_id, key);
        pool_.With([&](redis::Connection& conn) {
            return conn.Pipeline({
                {"HSET", cache_key, "p", entry.payment_id, "f", entry.fingerprint},
                {"EXPIRE", cache_key, std::to_string(ttl_.count())},
            });
        });
    } catch (const redis::RedisError&) {
        // The orchestrator's row is the truth; the next request simply misses.
    }
}

}  // namespace sagapay::gateway
