#include "runtime/bootstrap.hpp"

#include <algorithm>
#include <mutex>

#include "adapters/kafka/kafka_event_bus.hpp"
#include "adapters/postgres/connection.hpp"
#include "adapters/redis/client.hpp"
#include "adapters/redis/streams_event_bus.hpp"
#include "core/messaging/topics.hpp"
#include "runtime/log.hpp"

namespace sagapay {

void ApplyProcessSettings(const Config& config) {
    postgres::SessionSettings settings;
    settings.statement_timeout = config.pg_statement_timeout;
    settings.lock_timeout = config.pg_lock_timeout;
    settings.idle_in_transaction_timeout = config.pg_idle_in_transaction_timeout;
    settings.keepalives_idle = config.pg_keepalives_idle;
    settings.keepalives_interval = config.pg_keepalives_interval;
    settings.keepalives_count = static_cast<int>(config.pg_keepalives_count);
    settings.tcp_user_timeout = config.pg_tcp_user_timeout;
    postgres::SetDefaultSessionSettings(settings);
}

EventBusPtr MakeEventBus(const Config& config) {
    if (config.event_bus == "kafka") {
        return std::make_unique<kafka::KafkaEventBus>(kafka::KafkaBusOptions{
            .bootstrap_servers = config.kafka_bootstrap_servers,
            .prefix = config.stream_prefix,
            .client_id = "sagapay-" + config.service_name,
            // A killed instance's partitions move to the others after the session timeout;
            // heartbeats every tenth of it.
            .extra =
                {{"consumer.session.timeout.ms",
                  std::to_string(config.kafka_session_timeout.count())},
                 {"consumer.heartbeat.interval.ms",
                  std::to_string(
                      std::max<std::int64_t>(500, config.kafka_session_timeout.count() / 10)
                  )}},
        });
    }
    return std::make_unique<redis::RedisStreamsEventBus>(
        redis::ParseRedisUrl(config.redis_url), config.stream_prefix
    );
}

void EnsureTopics(EventBus& bus, const Config& config) {
    const std::vector<std::string> names(topics::kAll.begin(), topics::kAll.end());
    const TopicSettings settings{
        .partitions = static_cast<int>(config.kafka_topic_partitions),
        .replication_factor = static_cast<int>(config.kafka_replication_factor),
    };
    if (const auto created = bus.EnsureTopics(names, settings); !created) {
        throw std::runtime_error(
            "cannot create the event bus topics (" + config.event_bus +
            "): " + created.error().message
        );
    }
}

EventBusPtr PrepareService(
    const Config& config, std::string_view service, std::span<const postgres::Migration> migrations
) {
    log::Info("startup_config", DescribeConfig(config));
    if (!migrations.empty()) {
        const std::string dsn = config.DsnFor(service);
        if (dsn.empty()) {
            throw std::runtime_error(
                "no database configured for " + std::string(service) + ": set " +
                "POSTGRES_DSN or the service's *_POSTGRES_DSN (see docs/configuration.md)"
            );
        }
        postgres::EnsureDatabase(dsn);
        auto conn = postgres::Connection::Open(dsn);
        const auto report = postgres::Migrate(conn, service, migrations);
        log::Info(
            "migrations checked",
            {{"applied", std::to_string(report.applied)},
             {"already_applied", std::to_string(report.already_applied)}}
        );
    }
    auto bus = MakeEventBus(config);
    EnsureTopics(*bus, config);
    return bus;
}

void AddStandardHealthChecks(ServiceHost& host, const Config& config, postgres::Pool* pool) {
    if (pool != nullptr) {
        host.AddHealthCheck("postgres", [pool] {
            auto lease = pool->Acquire(std::chrono::milliseconds(1000));
            return !lease->Exec("SELECT 1").Empty();
        });
    }
    auto redis_conn = std::make_shared<redis::Connection>(redis::ParseRedisUrl(config.redis_url));
    auto mutex = std::make_shared<std::mutex>();
    host.AddHealthCheck("redis", [redis_conn, mutex] {
        const std::lock_guard lock(*mutex);
        return redis_conn->Command({"PING"}).str == "PONG";
    });
}

http::Handler WithDatabaseErrors(http::Handler handler) {
    return [handler = std::move(handler)](http::Request& request) {
        try {
            return handler(request);
        } catch (const postgres::SqlError& e) {
            log::Error("database error in request", {{"path", request.path}, {"error", e.what()}});
            if (e.Code() == ErrorCode::kUnavailable || e.Code() == ErrorCode::kAborted ||
                e.Code() == ErrorCode::kDeadlineExceeded) {
                return http::RetryLaterResponse(
                    503,
                    "service_unavailable",
                    "the payment store is temporarily unavailable; retry with the same idempotency "
                    "key"
                );
            }
            return http::ErrorResponse(500, "internal", "internal error");
        } catch (const redis::RedisError& e) {
            log::Error("redis error in request", {{"path", request.path}, {"error", e.what()}});
            return http::RetryLaterResponse(
                503, "service_unavailable", "a dependency is temporarily unavailable; retry later"
            );
        }
    };
}

bool ConstantTimeEquals(std::string_view given, std::string_view expected) noexcept {
    if (expected.empty()) {
        return false;
    }
    // Constant time in the secret's content: every byte of the longer input is looked at.
    const std::size_t n = std::max(given.size(), expected.size());
    unsigned diff = given.size() == expected.size() ? 0U : 1U;
    for (std::size_t i = 0; i < n; ++i) {
        const auto a = static_cast<unsigned char>(i < given.size() ? given[i] : 0);
        const auto b = static_cast<unsigned char>(i < expected.size() ? expected[i] : 0);
        diff |= static_cast<unsigned>(a ^ b);
    }
    return diff == 0;
}

bool ApiKeyMatches(const http::Request& request, std::string_view expected) noexcept {
    return ConstantTimeEquals(request.Header("x-api-key"), expected);
}

bool InternalTokenMatches(const http::Request& request, std::string_view expected) noexcept {
    return ConstantTimeEquals(request.Header(kInternalTokenHeader), expected);
}

}  // namespace sagapay
