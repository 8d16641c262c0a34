#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/result.hpp"

namespace sagapay {

using EnvMap = std::map<std::string, std::string, std::less<>>;

/// The process environment as a map (for LoadConfig).
[[nodiscard]] EnvMap ProcessEnvironment();

/// Every setting of every service, from environment variables with the seed's names where the
/// seed had one. Defaults work with `make up`. docs/configuration.md lists them all.
struct Config {
    std::string service_name;  ///< SERVICE_NAME, default: the subcommand
    std::string log_level = "INFO";
    std::string bind_host = "127.0.0.1";  ///< BIND_HOST

    std::string api_key;      ///< API_KEY (required by gateway and risk ops)
    std::string ops_api_key;  ///< OPS_API_KEY, default API_KEY
    std::string redis_url = "redis://127.0.0.1:6379/0";
    std::string event_bus = "redis";  ///< EVENT_BUS: redis
    std::string stream_prefix;        ///< EVENT_STREAM_PREFIX, default "" (streams named as topics)

    std::map<std::string, std::string, std::less<>> dsn;                 ///< service -> DSN
    std::map<std::string, int, std::less<>> port;                        ///< service -> HTTP port
    std::map<std::string, std::string, std::less<>> bind_host_override;  ///< <SERVICE>_BIND_HOST

    std::string orchestrator_url = "http://127.0.0.1:8001";
    std::string psp_url = "http://127.0.0.1:8006";

    std::int64_t rate_limit_per_minute = 30;
    std::int64_t idempotency_ttl_seconds = 86400;
    std::int64_t risk_velocity_per_hour = 20;
    std::int64_t risk_review_amount_cents = 100000;
    std::int64_t risk_deny_frequency_threshold = 50;
    std::int64_t risk_failed_attempts_threshold = 3;
    std::int64_t risk_review_expiry_seconds = 0;  ///< 0: reviews never expire

    std::chrono::milliseconds bus_visibility_timeout{std::chrono::seconds(15)};
    std::int64_t bus_max_deliveries = 500;  ///< backstop for events with no failure record
    std::chrono::milliseconds bus_retry_initial_delay{std::chrono::seconds(15)};
    std::chrono::milliseconds bus_retry_max_delay{std::chrono::minutes(5)};
    std::chrono::milliseconds bus_park_after{std::chrono::minutes(30)};
    std::int64_t consumer_batch = 100;
    std::int64_t outbox_batch = 500;
    std::chrono::milliseconds outbox_poll_fallback{1000};
    std::chrono::seconds outbox_retention{std::chrono::hours(24 * 7)};  ///< cap for SENT rows
    std::chrono::seconds inbox_retention{std::chrono::hours(24 * 14)};
    std::chrono::seconds bus_dlq_retention{std::chrono::hours(24 * 30)};
    std::chrono::milliseconds bus_trim_interval{std::chrono::seconds(30)};

    std::chrono::milliseconds sweeper_stuck_after{std::chrono::seconds(30)};
    std::chrono::milliseconds sweeper_interval{std::chrono::seconds(5)};

    int http_threads = 8;
    int db_pool_size = 16;

    /// The DSN of `service`, or "" when none was configured.
    [[nodiscard]] std::string DsnFor(std::string_view service) const;
    [[nodiscard]] int PortFor(std::string_view service) const;
    /// `<SERVICE>_BIND_HOST`, else BIND_HOST (127.0.0.1: internal APIs are not reachable from
    /// other machines unless an operator opens them; see docs/security.md).
    [[nodiscard]] std::string BindHostFor(std::string_view service) const;
};

/// Services with a database, in start order.
inline constexpr const char* kDatabaseServices[] = {
    "orchestrator", "risk", "provider", "ledger", "notification"};

/// Reads the settings. Collects every problem (a non-number, a value out of range, a malformed
/// URL) into one kInvalidArgument error whose message lists each variable and how to fix it.
[[nodiscard]] Result<Config> LoadConfig(const EnvMap& env, std::string_view service);

/// The settings safe to log at start: names, values, secrets redacted (keys, DSN passwords).
[[nodiscard]] std::vector<std::pair<std::string, std::string>> DescribeConfig(const Config& config);

}  // namespace sagapay
