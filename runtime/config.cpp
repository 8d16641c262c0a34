#include "runtime/config.hpp"

#include <algorithm>
#include <charconv>
#include <cstdlib>

#include <fmt/format.h>
#include <unistd.h>  // environ (declared under _GNU_SOURCE, which g++ and clang++ define)

#include "core/redact.hpp"
#include "runtime/otlp_exporter.hpp"

namespace sagapay {

EnvMap ProcessEnvironment() {
    EnvMap env;
    for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
        const std::string_view text(*entry);
        const auto eq = text.find('=');
        if (eq != std::string_view::npos) {
            env.emplace(std::string(text.substr(0, eq)), std::string(text.substr(eq + 1)));
        }
    }
    return env;
}

std::string Config::DsnFor(std::string_view service) const {
    const auto it = dsn.find(service);
    return it == dsn.end() ? std::string() : it->second;
}

std::string Config::BindHostFor(std::string_view service) const {
    const auto it = bind_host_override.find(service);
    return it == bind_host_override.end() ? bind_host : it->second;
}

bool IsInternalService(std::string_view service) noexcept {
    for (const char* name : kInternalServices) {
        if (service == name) {
            return true;
        }
    }
    return false;
}

bool IsLoopbackHost(std::string_view host) noexcept {
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
        host = host.substr(1, host.size() - 2);
    }
    if (host == "localhost" || host == "::1") {
        return true;
    }
    // 127.a.b.c, each part a number from 0 to 255.
    if (!host.starts_with("127.")) {
        return false;
    }
    int parts = 0;
    std::size_t pos = 0;
    while (pos <= host.size()) {
        const std::size_t dot = std::min(host.find('.', pos), host.size());
        const std::string_view part = host.substr(pos, dot - pos);
        unsigned value = 0;
        const auto [ptr, ec] = std::from_chars(part.data(), part.data() + part.size(), value);
        if (part.empty() || ec != std::errc() || ptr != part.data() + part.size() || value > 255) {
            return false;
        }
        ++parts;
        pos = dot + 1;
    }
    return parts == 4;
}

int Config::PortFor(std::string_view service) const {
    const auto it = port.find(service);
    return it == port.end() ? 0 : it->second;
}

namespace {

class Reader {
public:
    explicit Reader(const EnvMap& env) : env_(env) {}

    [[nodiscard]] const std::string* Find(std::string_view name) const {
        const auto it = env_.find(name);
        if (it == env_.end() || it->second.empty()) {
            return nullptr;
        }
        return &it->second;
    }

    void String(std::string_view name, std::string& out) const {
        if (const auto* value = Find(name)) {
            out = *value;
        }
    }

    void Int(std::string_view name, std::int64_t& out, std::int64_t min, std::int64_t max) {
        const auto* value = Find(name);
        if (value == nullptr) {
            return;
        }
        std::int64_t parsed = 0;
        const char* end = value->data() + value->size();
        auto [ptr, ec] = std::from_chars(value->data(), end, parsed);
        if (ec != std::errc() || ptr != end) {
            problems_.push_back(fmt::format("{}={:?} is not a whole number", name, *value));
            return;
        }
        if (parsed < min || parsed > max) {
            problems_.push_back(
                fmt::format("{}={} is out of range: use {} to {}", name, parsed, min, max)
            );
            return;
        }
        out = parsed;
    }

    void Millis(
        std::string_view name, std::chrono::milliseconds& out, std::int64_t min, std::int64_t max
    ) {
        std::int64_t value = out.count();
        Int(name, value, min, max);
        out = std::chrono::milliseconds(value);
    }

    void Seconds(
        std::string_view name, std::chrono::seconds& out, std::int64_t min, std::int64_t max
    ) {
        std::int64_t value = out.count();
        Int(name, value, min, max);
        out = std::chrono::seconds(value);
    }

    void Url(std::string_view name, std::string& out, std::string_view scheme) {
        const auto* value = Find(name);
        if (value == nullptr) {
            return;
        }
        if (!value->starts_with(scheme)) {
            // The message goes to the log: quote the URL without its password.
            problems_.push_back(fmt::format(
                "{} must start with {} (got {:?})", name, scheme, RedactUrlPassword(*value)
            ));
            return;
        }
        out = *value;
    }

    void Problem(std::string text) { problems_.push_back(std::move(text)); }
    [[nodiscard]] const std::vector<std::string>& Problems() const { return problems_; }

private:
    const EnvMap& env_;
    std::vector<std::string> problems_;
};

std::string Upper(std::string_view text) {
    std::string out(text);
    for (char& c : out) {
        if (c >= 'a' && c <= 'z') {
            c = static_cast<char>(c - 'a' + 'A');
        }
    }
    return out;
}

constexpr std::pair<const char*, int> kDefaultPorts[] = {
    {"gateway", 8000},
    {"orchestrator", 8001},
    {"risk", 8002},
    {"provider", 8003},
    {"ledger", 8004},
    {"notification", 8005},
    {"psp", 8006},
    {"console", 8007},
};

constexpr std::pair<const char*, const char*> kDefaultDatabases[] = {
    {"orchestrator", "finpay_orchestrator"},
    {"risk", "finpay_risk"},
    {"provider", "finpay_provider"},
    {"ledger", "finpay_ledger"},
    {"notification", "finpay_notification"},
    {"console", "finpay_console"},
};

}  // namespace

Result<Config> LoadConfig(const EnvMap& env, std::string_view service) {
    Reader r(env);
    Config c;
    c.service_name = std::string(service);
    r.String("SERVICE_NAME", c.service_name);
    r.String("LOG_LEVEL", c.log_level);
    r.String("BIND_HOST", c.bind_host);
    r.String("API_KEY", c.api_key);
    r.String("OPS_API_KEY", c.ops_api_key);
    r.String("INTERNAL_API_TOKEN", c.internal_token);
    r.Url("REDIS_URL", c.redis_url, "redis://");
    r.String("EVENT_BUS", c.event_bus);
    if (c.event_bus != "redis" && c.event_bus != "kafka") {
        r.Problem(fmt::format("EVENT_BUS={:?} is not supported: use redis or kafka", c.event_bus));
    }
    r.String("EVENT_STREAM_PREFIX", c.stream_prefix);
    r.String("KAFKA_BOOTSTRAP_SERVERS", c.kafka_bootstrap_servers);
    r.Int("KAFKA_TOPIC_PARTITIONS", c.kafka_topic_partitions, 1, 1'000);
    r.Int("KAFKA_REPLICATION_FACTOR", c.kafka_replication_factor, 1, 16);
    r.Millis("KAFKA_SESSION_TIMEOUT_MS", c.kafka_session_timeout, 6000, 300'000);
    r.Url("ORCHESTRATOR_URL", c.orchestrator_url, "http://");
    r.Url("PSP_URL", c.psp_url, "http://");

    // POSTGRES_DSN is the seed's single-service name; <SERVICE>_POSTGRES_DSN wins over it.
    std::string base_dsn;
    r.String("SAGAPAY_PG_BASE_DSN", base_dsn);
    for (const auto& [name, database] : kDefaultDatabases) {
        std::string dsn;
        if (!base_dsn.empty()) {
            dsn = base_dsn + "/" + database;
        }
        if (name == service) {
            r.String("POSTGRES_DSN", dsn);
        }
        r.String(Upper(name) + "_POSTGRES_DSN", dsn);
        if (!dsn.empty()) {
            if (!dsn.starts_with("postgresql://") && !dsn.starts_with("postgres://") &&
                !dsn.starts_with("postgresql+psycopg2://")) {
                r.Problem(fmt::format("{}_POSTGRES_DSN must be a postgresql:// URI", Upper(name)));
            }
            c.dsn[name] = dsn;
        }
    }
    for (const auto& [name, port] : kDefaultPorts) {
        std::int64_t value = port;
        r.Int(Upper(name) + "_PORT", value, 0, 65535);
        c.port[name] = static_cast<int>(value);
        std::string host;
        r.String(Upper(name) + "_BIND_HOST", host);
        if (!host.empty()) {
            c.bind_host_override[name] = host;
        }
    }

    r.Int("RATE_LIMIT_PER_MINUTE", c.rate_limit_per_minute, 1, 1'000'000);
    r.Int("IDEMPOTENCY_TTL_SECONDS", c.idempotency_ttl_seconds, 1, 365LL * 86400);
    r.Int("RISK_VELOCITY_PER_HOUR", c.risk_velocity_per_hour, 1, 1'000'000);
    r.Int("RISK_REVIEW_AMOUNT_CENTS", c.risk_review_amount_cents, 1, 1'000'000'000'000LL);
    r.Int("RISK_DENY_FREQUENCY_THRESHOLD", c.risk_deny_frequency_threshold, 1, 1'000'000);
    r.Int("RISK_FAILED_ATTEMPTS_THRESHOLD", c.risk_failed_attempts_threshold, 1, 1'000'000);
    r.Int("RISK_REVIEW_EXPIRY_SECONDS", c.risk_review_expiry_seconds, 0, 365LL * 86400);
    r.Millis("BUS_VISIBILITY_TIMEOUT_MS", c.bus_visibility_timeout, 100, 3'600'000);
    r.Int("BUS_MAX_DELIVERIES", c.bus_max_deliveries, 1, 1'000'000);
    r.Millis("BUS_RETRY_INITIAL_DELAY_MS", c.bus_retry_initial_delay, 1, 3'600'000);
    r.Millis("BUS_RETRY_MAX_DELAY_MS", c.bus_retry_max_delay, 1, 86'400'000);
    r.Millis("BUS_PARK_AFTER_MS", c.bus_park_after, 0, 30LL * 86'400'000);
    if (c.bus_retry_max_delay < c.bus_retry_initial_delay) {
        r.Problem(fmt::format(
            "BUS_RETRY_MAX_DELAY_MS={} is below BUS_RETRY_INITIAL_DELAY_MS={}",
            c.bus_retry_max_delay.count(),
            c.bus_retry_initial_delay.count()
        ));
    }
    r.Int("CONSUMER_BATCH", c.consumer_batch, 1, 10'000);
    r.Int("OUTBOX_BATCH", c.outbox_batch, 1, 10'000);
    r.Millis("OUTBOX_POLL_FALLBACK_MS", c.outbox_poll_fallback, 10, 60'000);
    r.Seconds("OUTBOX_RETENTION_SECONDS", c.outbox_retention, 60, 365LL * 86400);
    r.Seconds("INBOX_RETENTION_SECONDS", c.inbox_retention, 60, 3650LL * 86400);
    r.Seconds("BUS_DLQ_RETENTION_SECONDS", c.bus_dlq_retention, 3600, 3650LL * 86400);
    r.Millis("BUS_TRIM_INTERVAL_MS", c.bus_trim_interval, 10, 3'600'000);
    if (c.inbox_retention <= c.outbox_retention ||
        c.inbox_retention <= std::chrono::duration_cast<std::chrono::seconds>(c.bus_park_after)) {
        r.Problem(fmt::format(
            "INBOX_RETENTION_SECONDS={} must be longer than OUTBOX_RETENTION_SECONDS={} and "
            "BUS_PARK_AFTER_MS: an event can be redelivered (re-published from the outbox) until "
            "then, and the inbox is what drops the duplicate",
            c.inbox_retention.count(),
            c.outbox_retention.count()
        ));
    }
    r.Millis("SWEEPER_STUCK_AFTER_MS", c.sweeper_stuck_after, 100, 86'400'000);
    r.Millis("SWEEPER_INTERVAL_MS", c.sweeper_interval, 50, 3'600'000);
    r.Seconds("CAPTURE_WINDOW_SECONDS", c.capture_window, 1, 30LL * 86'400);
    r.Int("MAX_PAYMENTS_IN_FLIGHT", c.max_payments_in_flight, 0, 100'000'000);
    r.Millis("ADMISSION_MAX_WAIT_MS", c.admission_max_wait, 0, 4'000);
    r.Millis("ADMISSION_REFRESH_MS", c.admission_refresh, 5, 10'000);
    r.Millis("WEBHOOK_TIMEOUT_MS", c.webhook_timeout, 100, 60'000);
    r.Millis("WEBHOOK_RETRY_BASE_MS", c.webhook_retry_base, 10, 3'600'000);
    r.Seconds("WEBHOOK_RETRY_HORIZON_SECONDS", c.webhook_retry_horizon, 1, 30LL * 86'400);
    r.Int("WEBHOOK_DISABLE_AFTER_FAILURES", c.webhook_disable_after, 1, 1'000'000);
    r.Millis("WEBHOOK_POLL_MS", c.webhook_poll, 10, 60'000);
    r.Int("WEBHOOK_WORKERS", c.webhook_workers, 1, 64);
    std::int64_t console_idle = c.console_session_idle.count();
    r.Int("CONSOLE_SESSION_IDLE_SECONDS", console_idle, 1, 86'400);
    c.console_session_idle = std::chrono::seconds(console_idle);
    auto console_sessions = static_cast<std::int64_t>(c.console_max_sessions);
    r.Int("CONSOLE_MAX_SESSIONS", console_sessions, 1, 10'000);
    c.console_max_sessions = static_cast<std::size_t>(console_sessions);
    r.Url("SAGAPAY_PROMETHEUS_URL", c.prometheus_url, "http://");
    std::int64_t threads = c.http_threads;
    r.Int("HTTP_THREADS", threads, 1, 1024);
    c.http_threads = static_cast<int>(threads);
    std::int64_t pool = c.db_pool_size;
    r.Int("DB_POOL_SIZE", pool, 1, 256);
    c.db_pool_size = static_cast<int>(pool);
    r.Int("HTTP_MAX_CONNECTIONS", c.http_max_connections, 0, 10'000'000);
    r.Int("HTTP_FD_HEADROOM", c.http_fd_headroom, 16, 1'000'000);
    r.Millis("HTTP_FIRST_REQUEST_TIMEOUT_MS", c.http_first_request_timeout, 100, 600'000);
    r.Millis("HTTP_IDLE_TIMEOUT_MS", c.http_idle_timeout, 100, 3'600'000);
    r.Millis("HEALTH_CHECK_INTERVAL_MS", c.health_check_interval, 50, 600'000);
    r.Millis("HEALTH_CHECK_MAX_AGE_MS", c.health_check_max_age, 100, 3'600'000);
    if (c.health_check_max_age <= c.health_check_interval) {
        r.Problem("HEALTH_CHECK_MAX_AGE_MS must be larger than HEALTH_CHECK_INTERVAL_MS");
    }
    // PostgreSQL session limits; 0 turns one off. A value the DSN sets itself wins.
    r.Millis("PG_STATEMENT_TIMEOUT_MS", c.pg_statement_timeout, 0, 86'400'000);
    r.Millis("PG_LOCK_TIMEOUT_MS", c.pg_lock_timeout, 0, 86'400'000);
    r.Millis("PG_IDLE_IN_TRANSACTION_TIMEOUT_MS", c.pg_idle_in_transaction_timeout, 0, 86'400'000);
    std::int64_t keepalives_idle = c.pg_keepalives_idle.count();
    r.Int("PG_KEEPALIVES_IDLE_S", keepalives_idle, 1, 86'400);
    c.pg_keepalives_idle = std::chrono::seconds(keepalives_idle);
    std::int64_t keepalives_interval = c.pg_keepalives_interval.count();
    r.Int("PG_KEEPALIVES_INTERVAL_S", keepalives_interval, 1, 3'600);
    c.pg_keepalives_interval = std::chrono::seconds(keepalives_interval);
    r.Int("PG_KEEPALIVES_COUNT", c.pg_keepalives_count, 1, 100);
    r.Millis("PG_TCP_USER_TIMEOUT_MS", c.pg_tcp_user_timeout, 0, 3'600'000);

    bool otel_disabled = false;
    if (const auto it = env.find("OTEL_SDK_DISABLED"); it != env.end()) {
        otel_disabled = it->second == "true" || it->second == "TRUE" || it->second == "1";
    }
    if (!otel_disabled) {
        r.String("OTEL_EXPORTER_OTLP_ENDPOINT", c.otlp_endpoint);
        r.String("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", c.otlp_traces_endpoint);
    }
    r.String("OTEL_EXPORTER_OTLP_HEADERS", c.otlp_headers);
    c.otel_service_name = c.service_name;
    r.String("OTEL_SERVICE_NAME", c.otel_service_name);
    r.Int("OTEL_BSP_MAX_QUEUE_SIZE", c.otel_bsp_max_queue_size, 1, 1'000'000);
    r.Int("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", c.otel_bsp_max_export_batch_size, 1, 100'000);
    r.Millis("OTEL_BSP_SCHEDULE_DELAY", c.otel_bsp_schedule_delay, 1, 3'600'000);
    r.Millis("OTEL_EXPORTER_OTLP_TIMEOUT", c.otlp_timeout, 1, 600'000);
    if (!c.otlp_endpoint.empty() || !c.otlp_traces_endpoint.empty()) {
        if (const auto target = tracing::ResolveOtlpTarget(c.otlp_traces_endpoint, c.otlp_endpoint);
            !target) {
            // Quoted without a password the URL may carry.
            const bool traces = !c.otlp_traces_endpoint.empty();
            r.Problem(fmt::format(
                "{} must be http://host:port[/path] (got {:?}); to reach a TLS endpoint run a "
                "local OpenTelemetry Collector",
                traces ? "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT" : "OTEL_EXPORTER_OTLP_ENDPOINT",
                RedactUrlPassword(traces ? c.otlp_traces_endpoint : c.otlp_endpoint)
            ));
        }
    }

    // Keys: the ops key guards reviews and reconciliation, the customer key only payments.
    bool all_loopback = IsLoopbackHost(c.bind_host);
    for (const auto& [name, host] : c.bind_host_override) {
        all_loopback = all_loopback && IsLoopbackHost(host);
    }
    if (!c.ops_api_key.empty() && c.ops_api_key == c.api_key) {
        r.Problem("OPS_API_KEY must differ from API_KEY: give operators their own key");
    } else if (c.ops_api_key.empty() && !c.api_key.empty()) {
        if (all_loopback) {
            c.ops_api_key = c.api_key;  // the dev default: nothing is reachable from outside
        } else {
            r.Problem(
                "OPS_API_KEY is required when a service binds beyond loopback (BIND_HOST or "
                "<SERVICE>_BIND_HOST): set a key different from API_KEY"
            );
        }
    }
    if (!c.internal_token.empty() && c.internal_token.size() < kMinInternalTokenLength) {
        r.Problem(fmt::format(
            "INTERNAL_API_TOKEN must be at least {} characters", kMinInternalTokenLength
        ));
    }
    if (IsInternalService(service) && c.internal_token.empty() &&
        !IsLoopbackHost(c.BindHostFor(service))) {
        r.Problem(fmt::format(
            "INTERNAL_API_TOKEN is required: {} binds to {}, beyond loopback (every internal "
            "caller then sends it as X-Internal-Token)",
            service,
            c.BindHostFor(service)
        ));
    }

    if (!r.Problems().empty()) {
        std::string message = "bad configuration, fix these environment variables:";
        for (const auto& problem : r.Problems()) {
            message += "\n  - " + problem;
        }
        return Fail(ErrorCode::kInvalidArgument, message);
    }
    return c;
}

namespace {

std::string RedactUrl(const std::string& url) {
    return RedactUrlPassword(url);
}

}  // namespace

std::vector<std::pair<std::string, std::string>> DescribeConfig(const Config& c) {
    std::vector<std::pair<std::string, std::string>> out = {
        {"SERVICE_NAME", c.service_name},
        {"LOG_LEVEL", c.log_level},
        {"BIND_HOST", c.bind_host},
        {"API_KEY", c.api_key.empty() ? "(unset)" : "***"},
        {"OPS_API_KEY", c.ops_api_key.empty() ? "(unset)" : "***"},
        {"INTERNAL_API_TOKEN", c.internal_token.empty() ? "(unset)" : "***"},
        {"REDIS_URL", RedactUrl(c.redis_url)},
        {"EVENT_BUS", c.event_bus},
        {"KAFKA_BOOTSTRAP_SERVERS", c.kafka_bootstrap_servers},
        {"ORCHESTRATOR_URL", RedactUrl(c.orchestrator_url)},
        {"PSP_URL", RedactUrl(c.psp_url)},
        {"RATE_LIMIT_PER_MINUTE", std::to_string(c.rate_limit_per_minute)},
        {"RISK_VELOCITY_PER_HOUR", std::to_string(c.risk_velocity_per_hour)},
        {"RISK_REVIEW_AMOUNT_CENTS", std::to_string(c.risk_review_amount_cents)},
        {"RISK_DENY_FREQUENCY_THRESHOLD", std::to_string(c.risk_deny_frequency_threshold)},
    };
    out.emplace_back("HTTP_MAX_CONNECTIONS", std::to_string(c.http_max_connections));
    out.emplace_back(
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        c.otlp_traces_endpoint.empty() && c.otlp_endpoint.empty()
            ? "(unset: traces not exported)"
            : RedactUrl(c.otlp_traces_endpoint.empty() ? c.otlp_endpoint : c.otlp_traces_endpoint)
    );
    out.emplace_back("PG_STATEMENT_TIMEOUT_MS", std::to_string(c.pg_statement_timeout.count()));
    out.emplace_back("PG_LOCK_TIMEOUT_MS", std::to_string(c.pg_lock_timeout.count()));
    for (const auto& [service, dsn] : c.dsn) {
        out.emplace_back(Upper(service) + "_POSTGRES_DSN", RedactUrl(dsn));
    }
    return out;
}

}  // namespace sagapay
