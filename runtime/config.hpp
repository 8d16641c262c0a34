#pragma once

#include <chrono>
#include <cstddef>
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

    std::string api_key;  ///< API_KEY (required by gateway and risk ops)
    /// OPS_API_KEY. Must differ from API_KEY; unset, it is API_KEY only while every service
    /// binds to loopback (the `make up` default).
    std::string ops_api_key;
    /// INTERNAL_API_TOKEN: sent as X-Internal-Token to, and required by, the services behind the
    /// gateway; required when any of them binds beyond loopback.
    std::string internal_token;
    std::string redis_url = "redis://127.0.0.1:6379/0";
    std::string event_bus = "redis";  ///< EVENT_BUS: redis (Redis Streams) or kafka
    /// EVENT_STREAM_PREFIX, default "": put before every stream (Redis) or topic and consumer
    /// group (Kafka) name; "" keeps the seed's names.
    std::string stream_prefix;
    /// KAFKA_BOOTSTRAP_SERVERS (the seed's variable): host:port[,host:port...]; EVENT_BUS=kafka.
    std::string kafka_bootstrap_servers = "127.0.0.1:9092";
    /// KAFKA_TOPIC_PARTITIONS / KAFKA_REPLICATION_FACTOR: what a created topic gets.
    std::int64_t kafka_topic_partitions = 6;
    std::int64_t kafka_replication_factor = 1;
    /// KAFKA_SESSION_TIMEOUT_MS: how soon the group hands a dead consumer's partitions to the
    /// others (librdkafka's 45 s default would stall a killed instance's partitions that long).
    std::chrono::milliseconds kafka_session_timeout{10000};

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
    /// Pending reviews older than this are denied (system:expiry); 0: never (not advised).
    std::int64_t risk_review_expiry_seconds = std::int64_t{3} * 86400;

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
    /// CAPTURE_WINDOW_SECONDS: a manual-capture authorization not captured (or canceled) within
    /// this long is voided by the sweeper (7 days, a card authorization's usual life).
    std::chrono::seconds capture_window{std::chrono::hours(24 * 7)};

    /// Admission control (docs/performance.md): payments in flight (created, not final, not in
    /// RISK_REVIEW) at most before a POST waits, up to admission_max_wait, then gets 503
    /// overloaded; 0: no limit. The orchestrator recounts them every admission_refresh.
    std::int64_t max_payments_in_flight = 1000;
    std::chrono::milliseconds admission_max_wait{1000};
    std::chrono::milliseconds admission_refresh{200};

    /// The ops console (`sagapay console`, app/console/README.md): a session idle this long ends;
    /// at most this many live at once; SAGAPAY_PROMETHEUS_URL, when set and answering, feeds its
    /// charts.
    std::chrono::seconds console_session_idle{900};
    std::size_t console_max_sessions = 256;
    std::string prometheus_url;

    /// Signed webhooks (docs/webhooks.md), sent by the notification service.
    std::chrono::milliseconds webhook_timeout{10'000};     ///< WEBHOOK_TIMEOUT_MS
    std::chrono::milliseconds webhook_retry_base{30'000};  ///< WEBHOOK_RETRY_BASE_MS
    std::chrono::seconds webhook_retry_horizon{259'200};   ///< WEBHOOK_RETRY_HORIZON_SECONDS
    std::int64_t webhook_disable_after = 100;              ///< WEBHOOK_DISABLE_AFTER_FAILURES
    std::chrono::milliseconds webhook_poll{500};           ///< WEBHOOK_POLL_MS
    std::int64_t webhook_workers = 2;                      ///< WEBHOOK_WORKERS

    int http_threads = 8;
    int db_pool_size = 16;
    std::int64_t http_max_connections = 0;  ///< 0: RLIMIT_NOFILE minus http_fd_headroom
    std::int64_t http_fd_headroom = 256;
    std::chrono::milliseconds http_first_request_timeout{5000};
    std::chrono::milliseconds http_idle_timeout{30000};
    std::chrono::milliseconds health_check_interval{1000};
    std::chrono::milliseconds health_check_max_age{5000};

    std::chrono::milliseconds pg_statement_timeout{30000};
    std::chrono::milliseconds pg_lock_timeout{5000};
    std::chrono::milliseconds pg_idle_in_transaction_timeout{60000};
    std::chrono::seconds pg_keepalives_idle{30};
    std::chrono::seconds pg_keepalives_interval{10};
    std::int64_t pg_keepalives_count = 3;
    std::chrono::milliseconds pg_tcp_user_timeout{30000};

    /// Traces (docs/tracing.md): OTEL_EXPORTER_OTLP_ENDPOINT (the seed's variable; the traces
    /// go to <it>/v1/traces) or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT (as is), http:// only; both
    /// unset (or OTEL_SDK_DISABLED=true): no export, the trace context is still propagated.
    std::string otlp_endpoint;
    std::string otlp_traces_endpoint;
    std::string otlp_headers;                     ///< OTEL_EXPORTER_OTLP_HEADERS: "k=v,k2=v2"
    std::string otel_service_name;                ///< OTEL_SERVICE_NAME, default: SERVICE_NAME
    std::int64_t otel_bsp_max_queue_size = 2048;  ///< OTEL_BSP_MAX_QUEUE_SIZE
    std::int64_t otel_bsp_max_export_batch_size = 512;        ///< OTEL_BSP_MAX_EXPORT_BATCH_SIZE
    std::chrono::milliseconds otel_bsp_schedule_delay{1000};  ///< OTEL_BSP_SCHEDULE_DELAY (ms)
    std::chrono::milliseconds otlp_timeout{10000};            ///< OTEL_EXPORTER_OTLP_TIMEOUT (ms)

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

/// The services behind the gateway (ports 8001-8005): their APIs are internal.
inline constexpr const char* kInternalServices[] = {
    "orchestrator", "risk", "provider", "ledger", "notification"};
[[nodiscard]] bool IsInternalService(std::string_view service) noexcept;

/// True for 127.0.0.0/8, ::1 and localhost: addresses other machines cannot reach.
[[nodiscard]] bool IsLoopbackHost(std::string_view host) noexcept;

/// Minimum length of INTERNAL_API_TOKEN.
inline constexpr std::size_t kMinInternalTokenLength = 16;

/// Reads the settings. Collects every problem (a non-number, a value out of range, a malformed
/// URL) into one kInvalidArgument error whose message lists each variable and how to fix it.
[[nodiscard]] Result<Config> LoadConfig(const EnvMap& env, std::string_view service);

/// The settings safe to log at start: names, values, secrets redacted (keys, DSN passwords).
[[nodiscard]] std::vector<std::pair<std::string, std::string>> DescribeConfig(const Config& config);

}  // namespace sagapay
