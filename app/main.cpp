#include <csignal>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <iostream>
#include <iterator>
#include <map>
#include <random>

#include <CLI/CLI.hpp>
#include <pthread.h>

#include "app/chaos.hpp"
#include "app/console/console_service.hpp"
#include "app/dlq.hpp"
#include "app/load.hpp"
#include "app/reconcile.hpp"
#include "app/report.hpp"
#include "app/supervisor.hpp"
#include "app/verify.hpp"
#include "runtime/bootstrap.hpp"
#include "runtime/config.hpp"
#include "runtime/log.hpp"
#include "runtime/service_host.hpp"
#include "services/gateway/gateway_service.hpp"
#include "services/ledger/ledger_service.hpp"
#include "services/notification/notification_service.hpp"
#include "services/notification/webhook_signature.hpp"
#include "services/orchestrator/orchestrator_service.hpp"
#include "services/provider/provider_service.hpp"
#include "services/psp_sandbox/psp_service.hpp"
#include "services/risk/risk_service.hpp"

namespace {

using sagapay::Config;

struct ServiceCommand {
    const char* name;
    const char* config_key;     ///< Config section (DSN and port lookups).
    const char* default_label;  ///< SERVICE_NAME default (the seed's metric label).
    const char* help;
    std::function<int(const Config&, const sagapay::Clock&)> run;
};

std::string ProjectRoot() {
    if (const char* root = std::getenv("SAGAPAY_ROOT"); root != nullptr && *root != '\0') {
        return root;
    }
    return SAGAPAY_SOURCE_DIR;
}

int RunService(const ServiceCommand& command) {
    sagapay::ServiceHost::BlockStopSignals();
    sagapay::EnvMap env = sagapay::ProcessEnvironment();
    if (!env.contains("SERVICE_NAME")) {
        env["SERVICE_NAME"] = command.default_label;
    }
    auto config = sagapay::LoadConfig(env, command.config_key);
    if (!config) {
        std::fprintf(stderr, "sagapay %s: %s\n", command.name, config.error().message.c_str());
        return 2;
    }
    sagapay::log::Init(config->service_name, config->log_level);
    sagapay::ApplyProcessSettings(*config);
    try {
        // The one wall clock of the process; everything that reads time gets it from here.
        const sagapay::SystemClock clock;
        return command.run(*config, clock);
    } catch (const std::exception& e) {
        sagapay::log::Error("fatal", {{"error", e.what()}});
        std::fprintf(stderr, "sagapay %s: %s\n", command.name, e.what());
        return 1;
    }
}

int Main(int argc, char** argv) {
    // A peer that closed its socket must be an error code, never a killed process.
    std::signal(SIGPIPE, SIG_IGN);
    CLI::App app{
        "SagaPay: a payment backend that stays correct under retries, duplicates and crashes.\n"
        "Configuration comes from environment variables (docs/configuration.md)."};
    app.require_subcommand(1);

    const std::vector<ServiceCommand> services = {
        {"gateway",
         "gateway",
         "api-gateway",
         "API gateway on :8000 (POST /payments)",
         sagapay::gateway::RunGateway},
        {"orchestrator",
         "orchestrator",
         "orchestrator",
         "Saga orchestrator on :8001 (state machine, sweeper)",
         sagapay::orchestrator::RunOrchestrator},
        {"risk", "risk", "risk", "Risk rules and manual review on :8002", sagapay::risk::RunRisk},
        {"provider",
         "provider",
         "provider-adapter",
         "Provider adapter on :8003 (PSP calls, retries, DLQ)",
         sagapay::provider::RunProvider},
        {"ledger",
         "ledger",
         "ledger",
         "Double-entry ledger and reconciliation on :8004",
         sagapay::ledger::RunLedger},
        {"notification",
         "notification",
         "notification",
         "Notifications of payment outcomes on :8005",
         sagapay::notification::RunNotification},
        {"psp-sandbox",
         "psp",
         "psp-sandbox",
         "The sandbox PSP on :8006 (for dev and tests)",
         sagapay::psp::RunPspSandbox},
        {"console",
         "console",
         "console",
         "The ops console on :8007 (reviews, payments, DLQ, health, audit log)",
         sagapay::console::RunConsole},
    };
    const ServiceCommand* chosen = nullptr;
    for (const auto& service : services) {
        app.add_subcommand(service.name, service.help)->callback([&chosen, &service] {
            chosen = &service;
        });
    }

    sagapay::app::UpOptions up_options;
    up_options.root = ProjectRoot();
    bool no_stack = false;
    auto* up = app.add_subcommand(
        "up",
        "Start the local stack (private PostgreSQL and Redis), migrate, run all services as "
        "children;\n"
        "restarts a child that dies; Ctrl-C stops everything"
    );
    up->add_flag(
        "--no-stack", no_stack, "Use the PostgreSQL and Redis the environment names instead"
    );
    up->add_flag(
        "--keep-stack", up_options.keep_stack, "Leave PostgreSQL and Redis running on exit"
    );
    up->add_option("--log-dir", up_options.log_dir, "Service logs (default var/log)");
    bool no_prometheus = false;
    up->add_flag(
        "--no-prometheus",
        no_prometheus,
        "Do not start the private Prometheus (scripts/prometheus.sh, port 9090)"
    );
    std::string up_replicas;
    up->add_option(
        "--replicas",
        up_replicas,
        "Instances per service, e.g. orchestrator=2,provider=3 (1-16 each; the sandbox PSP runs "
        "once);\ninstance i listens on the service's port + 100*i (docs/operations.md)"
    );

    std::vector<std::string> migrate_services;
    auto* migrate = app.add_subcommand(
        "migrate", "Create the services' databases when missing and apply their migrations"
    );
    migrate->add_option(
        "--service",
        migrate_services,
        "Only these (orchestrator, risk, provider, ledger, notification)"
    );
    bool migrate_stack = false;
    migrate->add_flag(
        "--local-stack", migrate_stack, "Use the local stack's addresses (scripts/stack.sh env)"
    );

    sagapay::app::DlqOptions dlq;
    auto* replay = app.add_subcommand(
        "replay-dlq",
        "Replay a parked message (the seed's flags; exit 0 replayed or dry run, 1 no match, 2 not "
        "replayable)"
    );
    replay->add_option("--event-id", dlq.event_id, "The DLQ entry's event id");
    replay->add_option("--aggregate-id", dlq.aggregate_id, "The payment id");
    replay->add_flag("--dry-run", dlq.dry_run, "Show the match, publish nothing");
    replay
        ->add_option(
            "--timeout-seconds",
            dlq.timeout_seconds,
            "Accepted for the seed's scripts (the parked messages are read once, in full)"
        )
        ->capture_default_str();
    replay
        ->add_option(
            "--dlq-topic", dlq.dlq_topic, "payments.dlq, or deadletter for messages the bus parked"
        )
        ->capture_default_str();
    replay->add_option(
        "--bootstrap-servers",
        dlq.bootstrap_servers,
        "Kafka brokers (EVENT_BUS=kafka; default KAFKA_BOOTSTRAP_SERVERS)"
    );
    auto* dlq_command = app.add_subcommand("dlq", "Inspect the dead-letter queues");
    auto* dlq_list = dlq_command->add_subcommand("list", "Show parked messages, oldest first");
    dlq_list->add_option("--dlq-topic", dlq.dlq_topic, "payments.dlq or deadletter")
        ->capture_default_str();
    dlq_list->add_option("--limit", dlq.limit, "At most this many")->capture_default_str();
    dlq_list->add_option(
        "--bootstrap-servers",
        dlq.bootstrap_servers,
        "Kafka brokers (EVENT_BUS=kafka; default KAFKA_BOOTSTRAP_SERVERS)"
    );
    dlq_command->require_subcommand(1);

    std::string webhook_secret;
    std::string webhook_header;
    std::int64_t webhook_tolerance = 300;
    auto* webhook_command = app.add_subcommand("webhook", "Webhook tools");
    auto* webhook_verify = webhook_command->add_subcommand(
        "verify",
        "Check a SagaPay-Signature header against the raw body on standard input (exit 0 valid, "
        "1 not)"
    );
    webhook_verify->add_option("--secret", webhook_secret, "The endpoint's signing secret")
        ->required();
    webhook_verify->add_option("--header", webhook_header, "The SagaPay-Signature header's value")
        ->required();
    webhook_verify
        ->add_option(
            "--tolerance-seconds",
            webhook_tolerance,
            "How far the signed timestamp may be from now (replay window)"
        )
        ->capture_default_str()
        ->check(CLI::Range(std::int64_t{1}, std::int64_t{86'400} * 7));
    webhook_command->require_subcommand(1);

    sagapay::app::LoadOptions load;
    auto* load_command = app.add_subcommand(
        "load",
        "Load generator (the seed's load_test.py flags and output, plus throughput and --e2e)"
    );
    load_command->add_option("--total", load.total, "Requests to send")->capture_default_str();
    load_command->add_option("--concurrency", load.concurrency, "Requests in flight")
        ->capture_default_str();
    load_command->add_option("--base-url", load.base_url, "The gateway")->capture_default_str();
    load_command->add_option("--api-key", load.api_key, "x-api-key")->capture_default_str();
    load_command->add_flag(
        "--e2e", load.e2e, "Follow each payment to its final state (reads the orchestrator DB)"
    );
    load_command->add_option("--mix", load.mix, "seed (the seed's customers and amounts) or settle")
        ->check(CLI::IsMember({"seed", "settle"}))
        ->capture_default_str();
    load_command->add_option(
        "--duration", load.duration_seconds, "Send for this many seconds instead of --total"
    );
    load_command->add_option(
        "--rate", load.rate, "Open loop: requests per second, latency from the scheduled time"
    );
    load_command
        ->add_option(
            "--max-retries",
            load.max_retries,
            "Resend a 429/503 with retry-after (same key) after that many seconds, this many "
            "times; 0: count it as an error (the seed)"
        )
        ->capture_default_str();

    const sagapay::app::ReconcileOptions reconcile_defaults;
    std::string reconcile_ledger_url = reconcile_defaults.ledger_url;
    std::int64_t reconcile_limit = reconcile_defaults.limit;
    std::string reconcile_psp_url;
    auto* reconcile = app.add_subcommand(
        "reconcile",
        "Print the ledger's /reconciliation report and check every payment against the ledger\n"
        "(ORCHESTRATOR_/LEDGER_POSTGRES_DSN or SAGAPAY_PG_BASE_DSN; OPS_API_KEY or API_KEY);\n"
        "exit 0 clean, 1 mismatch or imbalance, 2 unreachable"
    );
    reconcile->add_option("--ledger-url", reconcile_ledger_url, "The ledger's base URL")
        ->capture_default_str();
    reconcile->add_option(
        "--psp-url", reconcile_psp_url, "The PSP asked for the provider check (else PSP_URL)"
    );
    reconcile->add_option("--limit", reconcile_limit, "Most imbalances and mismatches listed")
        ->capture_default_str()
        ->check(CLI::Range(std::int64_t{1}, std::int64_t{1'000'000}));

    std::string verify_psp_url;
    std::string verify_stuck_after = "5m";
    std::string verify_outbox_after = "1m";
    std::string verify_grace = "1m";
    std::string verify_accepted;
    bool verify_json = false;
    bool verify_no_psp = false;
    auto* verify = app.add_subcommand(
        "verify",
        "Check SagaPay's invariants over a live system: payments, PSP books, ledger, "
        "notifications,\n"
        "outboxes, dead letters (DSNs, PSP_URL, REDIS_URL as the services read them);\n"
        "exit 0 ok, 1 violations, 2 could not read"
    );
    verify->add_option(
        "--psp-url", verify_psp_url, "The sandbox PSP (GET /v1/records; else PSP_URL)"
    );
    verify->add_flag("--no-psp", verify_no_psp, "Do not read the PSP (a PSP without /v1/records)");
    verify
        ->add_option(
            "--stuck-after",
            verify_stuck_after,
            "A payment not final this long after its last change is stuck (0: all must be final)"
        )
        ->capture_default_str();
    verify
        ->add_option(
            "--outbox-after", verify_outbox_after, "An outbox row unsent this long is a violation"
        )
        ->capture_default_str();
    verify
        ->add_option(
            "--grace",
            verify_grace,
            "A payment that ended less than this ago is not yet checked for its notification and "
            "the release of its PSP hold (0 on a system at rest)"
        )
        ->capture_default_str();
    verify->add_option(
        "--accepted",
        verify_accepted,
        R"(JSON lines {"idempotency_key","payment_id"} of the POSTs the gateway accepted)"
    );
    verify->add_flag("--json", verify_json, "Machine-readable report");

    const sagapay::app::report::ReportOptions report_defaults;
    std::string report_since;
    std::int64_t report_hours = 0;
    std::int64_t report_step = report_defaults.step_seconds;
    std::string report_out = report_defaults.out;
    std::string report_prom_url;
    auto* report_command = app.add_subcommand(
        "report",
        "Write the executive report: one self-contained HTML page (volume, success ratio, "
        "latency,\nfailure reasons, reviews, dead letters, reconciliation) from the services' "
        "databases\n(docs/report.md); prints `wrote <path>`"
    );
    auto* report_since_option = report_command->add_option(
        "--since", report_since, "30m, 6h, 2d or an ISO-8601 UTC time (default 1h)"
    );
    report_command->add_option("--hours", report_hours, "The seed's flag: --hours N is --since Nh")
        ->check(CLI::Range(std::int64_t{1}, std::int64_t{87'600}))
        ->excludes(report_since_option);
    report_command
        ->add_option(
            "--step-seconds", report_step, "Bucket width (widened when it makes over 120 buckets)"
        )
        ->capture_default_str()
        ->check(CLI::Range(std::int64_t{1}, std::int64_t{31'536'000}));
    report_command->add_option("--out,--output", report_out, "The HTML file written")
        ->capture_default_str();
    report_command->add_option(
        "--prom-url",
        report_prom_url,
        "Add Prometheus cards (else SAGAPAY_PROMETHEUS_URL; not queried when neither is set)"
    );

    sagapay::app::chaos::ChaosOptions chaos_options;
    std::int64_t chaos_duration = 120;
    std::int64_t chaos_visibility_ms = 3000;
    std::int64_t chaos_quiesce_s = 120;
    std::string chaos_seed;
    auto* chaos = app.add_subcommand(
        "chaos",
        "Start the services (on the ports the environment names), send load with PSP faults,\n"
        "kill and stop services, crash PostgreSQL and Redis, then wait for quiescence and verify\n"
        "(scripts/chaos.sh and `make chaos` run it on a private stack); exit 0 ok, 1 violation"
    );
    chaos->add_option("--duration", chaos_duration, "Seconds of load and faults")
        ->capture_default_str()
        ->check(CLI::Range(std::int64_t{20}, std::int64_t{86'400}));
    chaos->add_option("--seed", chaos_seed, "The run's seed (default: random, printed)");
    chaos->add_option("--rate", chaos_options.rate, "POST /payments per second")
        ->capture_default_str()
        ->check(CLI::Range(0.1, 10'000.0));
    chaos->add_option("--concurrency", chaos_options.concurrency, "Requests in flight at most")
        ->capture_default_str()
        ->check(CLI::Range(1, 1000));
    chaos->add_option(
        "--kills-per-service", chaos_options.kills_per_service, "SIGKILLs of each service (0: auto)"
    );
    chaos->add_option("--visibility-ms", chaos_visibility_ms, "BUS_VISIBILITY_TIMEOUT_MS")
        ->capture_default_str()
        ->check(CLI::Range(std::int64_t{100}, std::int64_t{60'000}));
    chaos->add_option("--quiesce-timeout", chaos_quiesce_s, "Seconds to wait for quiescence")
        ->capture_default_str();
    chaos->add_option("--log-dir", chaos_options.log_dir, "Service logs and accepted.jsonl")
        ->required();
    chaos->add_option("--pg-crash-cmd", chaos_options.pg_crash_cmd, "Crashes PostgreSQL");
    chaos->add_option("--pg-start-cmd", chaos_options.pg_start_cmd, "Starts it again");
    chaos->add_option("--redis-kill-cmd", chaos_options.redis_kill_cmd, "SIGKILLs Redis");
    chaos->add_option("--redis-start-cmd", chaos_options.redis_start_cmd, "Starts it again");
    chaos->add_option(
        "--broker-kill-cmd",
        chaos_options.broker_kill_cmd,
        "SIGKILLs Kafka broker {broker} (EVENT_BUS=kafka)"
    );
    chaos->add_option("--broker-start-cmd", chaos_options.broker_start_cmd, "Starts it again");
    chaos->add_option("--brokers", chaos_options.brokers, "The Kafka cluster's size")
        ->capture_default_str();
    chaos->add_option("--broker-kills", chaos_options.broker_kills, "Broker SIGKILLs in all")
        ->capture_default_str();
    bool chaos_broker_faults_only = false;
    chaos->add_flag(
        "--broker-faults-only",
        chaos_broker_faults_only,
        "Only kill brokers: no service, PostgreSQL or Redis fault"
    );
    std::string chaos_replicas;
    chaos->add_option(
        "--replicas",
        chaos_replicas,
        "Instances per service as for `up` (e.g. orchestrator=2,provider=3); each is a fault target"
    );

    CLI11_PARSE(app, argc, argv);

    if (chaos->parsed()) {
        chaos_options.duration = std::chrono::seconds(chaos_duration);
        chaos_options.service_faults = !chaos_broker_faults_only;
        chaos_options.visibility = std::chrono::milliseconds(chaos_visibility_ms);
        chaos_options.quiesce_timeout = std::chrono::seconds(chaos_quiesce_s);
        if (chaos_seed.empty()) {
            chaos_options.seed = (std::uint64_t{std::random_device{}()} << 32U) |
                                 std::uint64_t{std::random_device{}()};
        } else {
            try {
                chaos_options.seed = std::stoull(chaos_seed);
            } catch (const std::exception&) {
                std::fprintf(stderr, "chaos: --seed must be a number\n");
                return 2;
            }
        }
        auto replicas = sagapay::app::ParseReplicas(chaos_replicas);
        if (!replicas) {
            std::fprintf(stderr, "chaos: --replicas: %s\n", replicas.error().message.c_str());
            return 2;
        }
        chaos_options.replicas = std::move(*replicas);
        chaos_options.self_exe = std::filesystem::canonical("/proc/self/exe").string();
        return sagapay::app::chaos::RunChaos(chaos_options);
    }

    if (verify->parsed()) {
        sagapay::app::VerifyOptions options;
        try {
            options = sagapay::app::VerifyOptionsFromEnvironment(sagapay::ProcessEnvironment());
        } catch (const std::exception& e) {
            std::fprintf(stderr, "sagapay verify: %s\n", e.what());
            return 2;
        }
        const auto stuck = sagapay::app::ParseDuration(verify_stuck_after);
        const auto outbox = sagapay::app::ParseDuration(verify_outbox_after);
        const auto grace = sagapay::app::ParseDuration(verify_grace);
        if (!stuck || !outbox || !grace) {
            std::fprintf(stderr, "sagapay verify: durations look like 250ms, 30s, 5m or 2h\n");
            return 2;
        }
        options.stuck_after = *stuck;
        options.outbox_after = *outbox;
        options.grace = *grace;
        options.accepted_file = verify_accepted;
        if (!verify_psp_url.empty()) {
            options.psp_url = verify_psp_url;
        }
        if (verify_no_psp) {
            options.psp_url.clear();
        }
        return sagapay::app::RunVerify(options, verify_json);
    }

    if (report_command->parsed()) {
        sagapay::app::report::ReportOptions options;
        try {
            options =
                sagapay::app::report::ReportOptionsFromEnvironment(sagapay::ProcessEnvironment());
        } catch (const std::exception& e) {
            std::fprintf(stderr, "sagapay report: %s\n", e.what());
            return 2;
        }
        if (!report_since.empty()) {
            options.since = report_since;
        } else if (report_hours > 0) {
            options.since = std::to_string(report_hours) + "h";
        }
        options.step_seconds = report_step;
        options.out = report_out;
        if (!report_prom_url.empty()) {
            options.prom_url = report_prom_url;
        }
        return sagapay::app::report::RunReport(options);
    }

    if (reconcile->parsed()) {
        auto options = sagapay::app::ReconcileOptionsFromEnvironment(sagapay::ProcessEnvironment());
        options.ledger_url = reconcile_ledger_url;
        options.limit = reconcile_limit;
        if (!reconcile_psp_url.empty()) {
            options.psp_url = reconcile_psp_url;
        }
        return sagapay::app::RunReconcile(options);
    }

    if (load_command->parsed()) {
        if (load.concurrency < 1 || load.total < 1) {
            std::fprintf(stderr, "load: --total and --concurrency must be at least 1\n");
            return 2;
        }
        const auto config = sagapay::LoadConfig(sagapay::ProcessEnvironment(), "tools");
        if (config) {
            sagapay::ApplyProcessSettings(*config);
            load.orchestrator_dsn = config->DsnFor("orchestrator");
        }
        return sagapay::app::RunLoad(load);
    }

    if (replay->parsed() || dlq_list->parsed()) {
        const auto config = sagapay::LoadConfig(sagapay::ProcessEnvironment(), "tools");
        if (!config) {
            std::fprintf(stderr, "%s\n", config.error().message.c_str());
            return 2;
        }
        dlq.event_bus = config->event_bus;
        dlq.redis_url = config->redis_url;
        if (dlq.bootstrap_servers.empty()) {
            dlq.bootstrap_servers = config->kafka_bootstrap_servers;
        }
        dlq.stream_prefix = config->stream_prefix;
        dlq.orchestrator_url = config->orchestrator_url;
        dlq.internal_token = config->internal_token;
        try {
            return replay->parsed() ? sagapay::app::RunReplayDlq(dlq)
                                    : sagapay::app::RunDlqList(dlq);
        } catch (const std::exception& e) {
            std::fprintf(stderr, "sagapay: %s\n", e.what());
            return 2;
        }
    }

    if (webhook_verify->parsed()) {
        const std::string body(
            (std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>()
        );
        const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                             std::chrono::system_clock::now().time_since_epoch()
        )
                             .count();
        const auto verdict = sagapay::notification::VerifySignature(
            webhook_header, body, webhook_secret, now, std::chrono::seconds(webhook_tolerance)
        );
        std::printf("%s\n", std::string(sagapay::notification::ToString(verdict)).c_str());
        return verdict == sagapay::notification::Verification::kValid ? 0 : 1;
    }
    if (chosen != nullptr) {
        return RunService(*chosen);
    }
    if (up->parsed()) {
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGINT);
        sigaddset(&set, SIGTERM);
        sigaddset(&set, SIGCHLD);
        pthread_sigmask(SIG_BLOCK, &set, nullptr);
        up_options.start_stack = !no_stack;
        up_options.start_prometheus = !no_prometheus;
        auto replicas = sagapay::app::ParseReplicas(up_replicas);
        if (!replicas) {
            std::fprintf(stderr, "sagapay up: --replicas: %s\n", replicas.error().message.c_str());
            return 2;
        }
        up_options.replicas = std::move(*replicas);
        return sagapay::app::RunUp(
            std::filesystem::canonical("/proc/self/exe").string(), up_options
        );
    }
    if (migrate->parsed()) {
        if (migrate_stack && !sagapay::app::ImportStackEnvironment(ProjectRoot())) {
            std::fprintf(stderr, "sagapay migrate: scripts/stack.sh env failed\n");
            return 1;
        }
        if (migrate_services.empty()) {
            migrate_services = {"orchestrator", "risk", "provider", "ledger", "notification"};
        }
        try {
            return sagapay::app::MigrateAll(migrate_services);
        } catch (const std::exception& e) {
            std::fprintf(stderr, "sagapay migrate: %s\n", e.what());
            return 1;
        }
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    // What no command handled: a message and exit 1 rather than std::terminate and a core dump.
    try {
        return Main(argc, argv);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "sagapay: %s\n", e.what());
    } catch (...) {
        std::fprintf(stderr, "sagapay: unknown exception\n");
    }
    return 1;
}
