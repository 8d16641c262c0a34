#pragma once

#include <span>
#include <string_view>

#include "adapters/http/http.hpp"
#include "adapters/postgres/migrator.hpp"
#include "adapters/postgres/pool.hpp"
#include "core/ports/event_bus.hpp"
#include "runtime/config.hpp"
#include "runtime/service_host.hpp"

namespace sagapay {

/// Applies the process-wide settings of `config` that live below the services: the PostgreSQL
/// session limits every connection opened from now on carries (PG_* variables).
void ApplyProcessSettings(const Config& config);

/// The configured EventBus: EVENT_BUS=redis, Redis Streams at REDIS_URL; EVENT_BUS=kafka, Kafka
/// at KAFKA_BOOTSTRAP_SERVERS. EVENT_STREAM_PREFIX goes before stream, topic and group names.
[[nodiscard]] EventBusPtr MakeEventBus(const Config& config);

/// Creates every topic of the saga (topics::kAll) that `bus` does not have yet, with
/// KAFKA_TOPIC_PARTITIONS partitions and KAFKA_REPLICATION_FACTOR replicas (nothing to do on
/// Redis, whose streams appear on first use). Throws when the bus refuses.
void EnsureTopics(EventBus& bus, const Config& config);

/// A service's start: logs its configuration (secrets redacted), creates its database when
/// missing, applies its migrations (under the advisory lock), and returns its event bus with the
/// saga's topics created (EnsureTopics). Throws with a message that says what to fix when the
/// database cannot be reached.
[[nodiscard]] EventBusPtr PrepareService(
    const Config& config, std::string_view service, std::span<const postgres::Migration> migrations
);

/// /health checks for the service's database (through `pool`) and Redis.
void AddStandardHealthChecks(ServiceHost& host, const Config& config, postgres::Pool* pool);

/// Wraps a handler so infrastructure failures become clean answers: PostgreSQL or Redis
/// unavailable → 503 `service_unavailable` (retry later); anything else → 500 `internal`.
[[nodiscard]] http::Handler WithDatabaseErrors(http::Handler handler);

/// True when the request carries `expected` in `x-api-key`, compared in constant time.
[[nodiscard]] bool ApiKeyMatches(const http::Request& request, std::string_view expected) noexcept;

/// The header internal callers send to the services behind the gateway (INTERNAL_API_TOKEN).
inline constexpr std::string_view kInternalTokenHeader = "x-internal-token";

/// True when the request carries `expected` in `x-internal-token`, compared in constant time.
[[nodiscard]] bool InternalTokenMatches(
    const http::Request& request, std::string_view expected
) noexcept;

/// `given == expected` in time that depends on their lengths only, never on where they differ;
/// false when `expected` is empty (an unset secret matches nothing).
[[nodiscard]] bool ConstantTimeEquals(std::string_view given, std::string_view expected) noexcept;

}  // namespace sagapay
