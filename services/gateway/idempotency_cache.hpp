#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "adapters/redis/pool.hpp"

namespace sagapay::gateway {

/// The fast path of the idempotency contract: (customer, key) → (payment id, request fingerprint)
/// in Redis for IDEMPOTENCY_TTL_SECONDS. The truth is the orchestrator's unique (customer, key)
/// row in PostgreSQL; losing Redis loses nothing, it only costs a round trip. It never stores a
/// status, so a replay always reports the payment's current one. Keys are length-prefixed
/// (`idem:<len>:<customer>:<key>`), so no two (customer, key) pairs share one. Thread-safe.
class IdempotencyCache {
public:
    struct Entry {
        std::string payment_id;
        std::string fingerprint;
    };

    IdempotencyCache(redis::Endpoint endpoint, std::chrono::seconds ttl);

    /// Nullopt on a miss or when Redis is unreachable.
    std::optional<Entry> Find(const std::string& customer_id, const std::string& key);
    /// Best effort: a failure is ignored.
    void Remember(const std::string& customer_id, const std::string& key, const Entry& entry);

    [[nodiscard]] static std::string CacheKey(
        const std::string& customer_id, const std::string& key
    );

private:
    redis::ConnectionPool pool_;
    std::chrono::seconds ttl_;
};

}  // namespace sagapay::gateway
