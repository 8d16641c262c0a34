#include "runtime/config.hpp"

#include <gtest/gtest.h>

namespace sagapay {
namespace {

TEST(Config, DefaultsMatchTheSeed) {
    const auto config = LoadConfig({}, "risk");

    ASSERT_TRUE(config.has_value()) << config.error().message;
    EXPECT_EQ(config->rate_limit_per_minute, 30);
    EXPECT_EQ(config->idempotency_ttl_seconds, 86400);
    EXPECT_EQ(config->risk_velocity_per_hour, 20);
    EXPECT_EQ(config->risk_review_amount_cents, 100000);
    EXPECT_EQ(config->risk_deny_frequency_threshold, 50);
    EXPECT_EQ(config->PortFor("gateway"), 8000);
    EXPECT_EQ(config->PortFor("notification"), 8005);
    EXPECT_EQ(config->service_name, "risk");
    // Not the seed's "never": a review nobody decides is denied after three days (finding 5).
    EXPECT_EQ(config->risk_review_expiry_seconds, 3 * 86400);
}

TEST(Config, RedeliveryBacksOffAndParksAfterHalfAnHourByDefault) {
    using namespace std::chrono_literals;
    const auto defaults = LoadConfig({}, "ledger");
    ASSERT_TRUE(defaults.has_value());
    EXPECT_EQ(defaults->bus_retry_initial_delay, 15s);
    EXPECT_EQ(defaults->bus_retry_max_delay, 5min);
    EXPECT_EQ(defaults->bus_park_after, 30min);

    const auto set = LoadConfig(
        {{"BUS_RETRY_INITIAL_DELAY_MS", "100"},
         {"BUS_RETRY_MAX_DELAY_MS", "800"},
         {"BUS_PARK_AFTER_MS", "5000"}},
        "ledger"
    );
    ASSERT_TRUE(set.has_value());
    EXPECT_EQ(set->bus_retry_initial_delay, 100ms);
    EXPECT_EQ(set->bus_retry_max_delay, 800ms);
    EXPECT_EQ(set->bus_park_after, 5s);

    const auto inverted =
        LoadConfig({{"BUS_RETRY_INITIAL_DELAY_MS", "900"}, {"BUS_RETRY_MAX_DELAY_MS", "800"}}, "x");
    ASSERT_FALSE(inverted.has_value());
    EXPECT_NE(inverted.error().message.find("BUS_RETRY_MAX_DELAY_MS"), std::string::npos);
}

TEST(Config, RetentionsDefaultToAWeekOfOutboxTwoWeeksOfInboxAndAMonthOfDeadLetters) {
    using namespace std::chrono_literals;
    const auto defaults = LoadConfig({}, "ledger");
    ASSERT_TRUE(defaults.has_value());
    EXPECT_EQ(defaults->outbox_retention, std::chrono::hours(24 * 7));
    EXPECT_EQ(defaults->inbox_retention, std::chrono::hours(24 * 14));
    EXPECT_EQ(defaults->bus_dlq_retention, std::chrono::hours(24 * 30));
    EXPECT_EQ(defaults->bus_trim_interval, 30s);

    const auto set = LoadConfig(
        {{"OUTBOX_RETENTION_SECONDS", "3600"},
         {"INBOX_RETENTION_SECONDS", "7200"},
         {"BUS_DLQ_RETENTION_SECONDS", "86400"},
         {"BUS_TRIM_INTERVAL_MS", "1000"}},
        "ledger"
    );
    ASSERT_TRUE(set.has_value()) << set.error().message;
    EXPECT_EQ(set->outbox_retention, 1h);
    EXPECT_EQ(set->inbox_retention, 2h);
    EXPECT_EQ(set->bus_dlq_retention, 24h);
    EXPECT_EQ(set->bus_trim_interval, 1s);
}

TEST(Config, RefusesAnInboxShorterThanTheOutboxItDeduplicates) {
    const auto config = LoadConfig(
        {{"OUTBOX_RETENTION_SECONDS", "86400"}, {"INBOX_RETENTION_SECONDS", "3600"}}, "ledger"
    );
    ASSERT_FALSE(config.has_value());
    EXPECT_NE(config.error().message.find("INBOX_RETENTION_SECONDS=3600"), std::string::npos);
}

TEST(Config, ServiceDsnWinsOverTheBaseAndPostgresDsn) {
    const auto config = LoadConfig(
        {{"SAGAPAY_PG_BASE_DSN", "postgresql://u@h:1"},
         {"POSTGRES_DSN", "postgresql://u@h:2/x"},
         {"LEDGER_POSTGRES_DSN", "postgresql://u@h:3/l"}},
        "orchestrator"
    );

    ASSERT_TRUE(config.has_value());
    EXPECT_EQ(config->DsnFor("orchestrator"), "postgresql://u@h:2/x");
    EXPECT_EQ(config->DsnFor("ledger"), "postgresql://u@h:3/l");
    EXPECT_EQ(config->DsnFor("risk"), "postgresql://u@h:1/finpay_risk");
}

TEST(Config, ListsEveryBadVariableWithAHint) {
    const auto config = LoadConfig(
        {{"RATE_LIMIT_PER_MINUTE", "lots"},
         {"RISK_VELOCITY_PER_HOUR", "0"},
         {"REDIS_URL", "localhost:6379"},
         {"EVENT_BUS", "carrier-pigeon"}},
        "gateway"
    );

    ASSERT_FALSE(config.has_value());
    const std::string& message = config.error().message;
    EXPECT_NE(
        message.find("RATE_LIMIT_PER_MINUTE=\"lots\" is not a whole number"), std::string::npos
    );
    EXPECT_NE(message.find("RISK_VELOCITY_PER_HOUR=0 is out of range"), std::string::npos);
    EXPECT_NE(message.find("REDIS_URL must start with redis://"), std::string::npos);
    EXPECT_NE(message.find("EVENT_BUS"), std::string::npos);
}

TEST(Config, SelectsTheKafkaBusWithTheSeedsVariable) {
    const auto config = LoadConfig(
        {{"EVENT_BUS", "kafka"},
         {"KAFKA_BOOTSTRAP_SERVERS", "10.0.0.1:9092,10.0.0.2:9092"},
         {"KAFKA_TOPIC_PARTITIONS", "12"},
         {"KAFKA_REPLICATION_FACTOR", "3"}},
        "orchestrator"
    );
    ASSERT_TRUE(config.has_value()) << config.error().message;
    EXPECT_EQ(config->event_bus, "kafka");
    EXPECT_EQ(config->kafka_bootstrap_servers, "10.0.0.1:9092,10.0.0.2:9092");
    EXPECT_EQ(config->kafka_topic_partitions, 12);
    EXPECT_EQ(config->kafka_replication_factor, 3);
}

TEST(Config, RefusesImpossibleKafkaTopics) {
    const auto config = LoadConfig(
        {{"EVENT_BUS", "kafka"},
         {"KAFKA_TOPIC_PARTITIONS", "0"},
         {"KAFKA_REPLICATION_FACTOR", "99"}},
        "orchestrator"
    );
    ASSERT_FALSE(config.has_value());
    const std::string& message = config.error().message;
    EXPECT_NE(message.find("KAFKA_TOPIC_PARTITIONS=0 is out of range"), std::string::npos);
    EXPECT_NE(message.find("KAFKA_REPLICATION_FACTOR=99 is out of range"), std::string::npos);
}

TEST(Config, DescriptionNeverShowsSecrets) {
    const auto config = LoadConfig(
        {{"API_KEY", "super-secret-key"},
         {"ORCHESTRATOR_POSTGRES_DSN", "postgresql://finpay:hunter2@db:5432/finpay_orchestrator"}},
        "orchestrator"
    );
    ASSERT_TRUE(config.has_value());

    std::string all;
    for (const auto& [name, value] : DescribeConfig(*config)) {
        all.append(name).append("=").append(value).append("\n");
    }

    EXPECT_EQ(all.find("super-secret-key"), std::string::npos);
    EXPECT_EQ(all.find("hunter2"), std::string::npos);
    EXPECT_NE(all.find("postgresql://finpay:***@db:5432/finpay_orchestrator"), std::string::npos);
}

}  // namespace
}  // namespace sagapay

namespace sagapay {
namespace {

TEST(Config, InternalApisListenOnLoopbackUnlessOneServiceIsOpened) {
    const auto config = LoadConfig({{"GATEWAY_BIND_HOST", "0.0.0.0"}}, "gateway");

    ASSERT_TRUE(config.has_value());
    EXPECT_EQ(config->BindHostFor("gateway"), "0.0.0.0");
    EXPECT_EQ(config->BindHostFor("orchestrator"), "127.0.0.1");
    EXPECT_EQ(config->BindHostFor("ledger"), "127.0.0.1");
}

}  // namespace
}  // namespace sagapay

namespace sagapay {
namespace {

std::string Described(const Config& config) {
    std::string all;
    for (const auto& [name, value] : DescribeConfig(config)) {
        all.append(name).append("=").append(value).append("\n");
    }
    return all;
}

TEST(ConfigOpsKey, AnOpsKeyEqualToTheCustomerKeyIsRefused) {
    const auto config =
        LoadConfig({{"API_KEY", "customer-key"}, {"OPS_API_KEY", "customer-key"}}, "risk");

    ASSERT_FALSE(config.has_value());
    EXPECT_NE(
        config.error().message.find("OPS_API_KEY must differ from API_KEY"), std::string::npos
    ) << config.error().message;
}

TEST(ConfigOpsKey, UnsetOpsKeyFallsBackToTheCustomerKeyOnlyWhenEveryBindIsLoopback) {
    const auto dev = LoadConfig({{"API_KEY", "dev-secret"}}, "risk");
    ASSERT_TRUE(dev.has_value()) << dev.error().message;
    EXPECT_EQ(dev->ops_api_key, "dev-secret");

    const auto opened =
        LoadConfig({{"API_KEY", "customer-key"}, {"GATEWAY_BIND_HOST", "0.0.0.0"}}, "risk");
    ASSERT_FALSE(opened.has_value());
    EXPECT_NE(opened.error().message.find("OPS_API_KEY is required"), std::string::npos)
        << opened.error().message;

    const auto production = LoadConfig(
        {{"API_KEY", "customer-key"},
         {"OPS_API_KEY", "ops-key"},
         {"BIND_HOST", "0.0.0.0"},
         {"INTERNAL_API_TOKEN", "internal-token-0123456789"}},
        "risk"
    );
    ASSERT_TRUE(production.has_value()) << production.error().message;
    EXPECT_EQ(production->ops_api_key, "ops-key");
}

TEST(ConfigInternalToken, AnInternalServiceBoundBeyondLoopbackNeedsAToken) {
    for (const char* service : {"orchestrator", "risk", "provider", "ledger", "notification"}) {
        const auto config = LoadConfig({{"BIND_HOST", "10.0.0.5"}}, service);
        ASSERT_FALSE(config.has_value()) << service;
        EXPECT_NE(config.error().message.find("INTERNAL_API_TOKEN is required"), std::string::npos)
            << config.error().message;
    }
    const auto with_token = LoadConfig(
        {{"ORCHESTRATOR_BIND_HOST", "0.0.0.0"}, {"INTERNAL_API_TOKEN", "0123456789abcdef0123"}},
        "orchestrator"
    );
    ASSERT_TRUE(with_token.has_value()) << with_token.error().message;
    EXPECT_EQ(with_token->internal_token, "0123456789abcdef0123");

    const auto loopback = LoadConfig({{"ORCHESTRATOR_BIND_HOST", "::1"}}, "orchestrator");
    EXPECT_TRUE(loopback.has_value());
    const auto public_gateway = LoadConfig({{"GATEWAY_BIND_HOST", "0.0.0.0"}}, "gateway");
    EXPECT_TRUE(public_gateway.has_value());

    const auto short_token = LoadConfig({{"INTERNAL_API_TOKEN", "short"}}, "ledger");
    ASSERT_FALSE(short_token.has_value());
    EXPECT_NE(short_token.error().message.find("at least 16"), std::string::npos);
}

TEST(ConfigTracing, TheOpenTelemetryVariablesAreReadAndAnHttpsEndpointIsRefused) {
    using namespace std::chrono_literals;
    const auto defaults = LoadConfig({}, "risk");
    ASSERT_TRUE(defaults.has_value());
    EXPECT_EQ(defaults->otlp_endpoint, "");
    EXPECT_EQ(defaults->otel_service_name, "risk");

    const auto set = LoadConfig(
        {{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318"},
         {"OTEL_SERVICE_NAME", "risk-eu"},
         {"OTEL_BSP_MAX_QUEUE_SIZE", "100"},
         {"OTEL_BSP_SCHEDULE_DELAY", "200"}},
        "risk"
    );
    ASSERT_TRUE(set.has_value()) << set.error().message;
    EXPECT_EQ(set->otlp_endpoint, "http://127.0.0.1:4318");
    EXPECT_EQ(set->otel_service_name, "risk-eu");
    EXPECT_EQ(set->otel_bsp_max_queue_size, 100);
    EXPECT_EQ(set->otel_bsp_schedule_delay, 200ms);

    const auto disabled = LoadConfig(
        {{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318"}, {"OTEL_SDK_DISABLED", "true"}},
        "risk"
    );
    ASSERT_TRUE(disabled.has_value());
    EXPECT_EQ(disabled->otlp_endpoint, "");

    const auto https =
        LoadConfig({{"OTEL_EXPORTER_OTLP_ENDPOINT", "https://collector:4318"}}, "risk");
    ASSERT_FALSE(https.has_value());
    EXPECT_NE(https.error().message.find("must be http://"), std::string::npos);
    const auto with_password = LoadConfig(
        {{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "https://user:hunter2@collector:4318/v1/traces"}},
        "risk"
    );
    ASSERT_FALSE(with_password.has_value());
    EXPECT_EQ(with_password.error().message.find("hunter2"), std::string::npos);
}

TEST(ConfigInternalToken, LoopbackHosts) {
    EXPECT_TRUE(IsLoopbackHost("127.0.0.1"));
    EXPECT_TRUE(IsLoopbackHost("127.1.2.3"));
    EXPECT_TRUE(IsLoopbackHost("localhost"));
    EXPECT_TRUE(IsLoopbackHost("::1"));
    EXPECT_TRUE(IsLoopbackHost("[::1]"));
    EXPECT_FALSE(IsLoopbackHost("0.0.0.0"));
    EXPECT_FALSE(IsLoopbackHost("::"));
    EXPECT_FALSE(IsLoopbackHost(""));
    EXPECT_FALSE(IsLoopbackHost("127.0.0.1.example.com"));
    EXPECT_FALSE(IsLoopbackHost("10.0.0.1"));
}

TEST(ConfigRedaction, EveryPasswordFormIsRedactedInTheStartupLog) {
    const auto config = LoadConfig(
        {{"ORCHESTRATOR_POSTGRES_DSN",
          "postgresql://finpay@db/orch?password=hunter2&sslmode=require"},
         {"LEDGER_POSTGRES_DSN", "postgresql://finpay:pass%40word@db/ledger?password=hunter3"},
         {"REDIS_URL", "redis://default:redispass@cache:6379/0"},
         {"ORCHESTRATOR_URL", "http://svc:httppass@orchestrator:8001"}},
        "orchestrator"
    );
    ASSERT_TRUE(config.has_value()) << config.error().message;

    const std::string all = Described(*config);
    for (const char* secret : {"hunter2", "hunter3", "pass%40word", "redispass", "httppass"}) {
        EXPECT_EQ(all.find(secret), std::string::npos) << secret << " in\n" << all;
    }
    EXPECT_NE(
        all.find("postgresql://finpay@db/orch?password=***&sslmode=require"), std::string::npos
    ) << all;
    EXPECT_NE(all.find("redis://default:***@cache:6379/0"), std::string::npos) << all;
}

}  // namespace
}  // namespace sagapay

namespace sagapay {
namespace {

// Found by runtime/config_fuzz: a URL refused for its scheme was quoted whole in the message,
// which the process logs at start.
TEST(ConfigRedaction, ARefusedUrlIsQuotedWithoutItsPassword) {
    const auto config = LoadConfig(
        {{"REDIS_URL", "rediss://u:topsecret@cache"},
         {"ORCHESTRATOR_URL", "https://svc:httppass@orchestrator:8001"},
         {"PSP_URL", "ftp://psp?password=querypass"}},
        "gateway"
    );
    ASSERT_FALSE(config.has_value());
    const std::string& message = config.error().message;
    for (const char* secret : {"topsecret", "httppass", "querypass"}) {
        EXPECT_EQ(message.find(secret), std::string::npos) << secret << " in\n" << message;
    }
    EXPECT_NE(message.find(R"(got "rediss://u:***@cache")"), std::string::npos) << message;
}

}  // namespace
}  // namespace sagapay
