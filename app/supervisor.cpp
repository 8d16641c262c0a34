#include "app/supervisor.hpp"

#include <array>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <stop_token>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "adapters/http/http.hpp"
#include "adapters/postgres/connection.hpp"
#include "core/messaging/topics.hpp"
#include "runtime/bootstrap.hpp"
#include "runtime/config.hpp"
#include "runtime/wait.hpp"
#include "services/ledger/schema.hpp"
#include "services/notification/schema.hpp"
#include "services/orchestrator/schema.hpp"
#include "services/provider/schema.hpp"
#include "services/risk/schema.hpp"

namespace sagapay::app {

namespace {

int RunCommand(const std::string& command, std::string* output = nullptr) {
    FILE* pipe = popen(command.c_str(), "r");
    if (pipe == nullptr) {
        return -1;
    }
    std::array<char, 4096> buffer{};
    while (std::fgets(buffer.data(), static_cast<int>(buffer.size()), pipe) != nullptr) {
        if (output != nullptr) {
            *output += buffer.data();
        } else {
            std::fputs(buffer.data(), stdout);
        }
    }
    const int status = pclose(pipe);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

struct Child {
    Instance instance;
    pid_t pid = -1;
    int restarts = 0;
    std::chrono::steady_clock::time_point started{};
};

pid_t Spawn(const std::string& exe, const Child& child, const std::string& log_dir) {
    const std::string log_path = log_dir + "/" + child.instance.name + ".log";
    std::vector<std::string> storage = EnvironmentWith(child.instance.env);
    std::vector<char*> envp;
    envp.reserve(storage.size() + 1);
    for (auto& entry : storage) {
        envp.push_back(entry.data());
    }
    envp.push_back(nullptr);
    std::string exe_arg = exe;
    std::string command_arg = child.instance.command;
    char* argv[] = {exe_arg.data(), command_arg.data(), nullptr};
    const pid_t pid = fork();
    if (pid == 0) {
        sigset_t none;
        sigemptyset(&none);
        pthread_sigmask(SIG_SETMASK, &none, nullptr);
        setpgid(0, 0);  // Ctrl-C reaches the supervisor only; it stops the children in order
        const int fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2(fd, STDOUT_FILENO);
            dup2(fd, STDERR_FILENO);
            close(fd);
        }
        execve(exe.c_str(), argv, envp.data());
        _exit(127);
    }
    return pid;
}

/// The port of a service's first instance: its *_PORT when set, else the standard port.
int FirstPort(const ServicePort& service) {
    const char* value = std::getenv(std::string(service.port_env).c_str());
    return value != nullptr && *value != '\0' ? std::atoi(value) : service.standard_port;
}

/// Every instance to run, ports from the environment.
std::vector<Child> PlanChildren(const Replicas& replicas) {
    const char* orchestrator_url = std::getenv("ORCHESTRATOR_URL");
    std::vector<Child> children;
    for (Instance& instance : PlanInstances(
             replicas, FirstPort, orchestrator_url != nullptr && *orchestrator_url != '\0'
         )) {
        children.push_back(Child{
            .instance = std::move(instance), .pid = -1, .restarts = 0, .started = {}});
    }
    return children;
}

/// Writes the scrape targets of `children` and starts scripts/prometheus.sh; its URL, or empty
/// (with a warning: the payments run without monitoring) when it did not start.
std::string StartPrometheus(
    const std::string& root, const std::string& log_dir, const std::vector<Child>& children
) {
    std::vector<Instance> instances;
    instances.reserve(children.size());
    for (const Child& child : children) {
        instances.push_back(child.instance);
    }
    const std::string targets = log_dir + "/prometheus-targets.json";
    {
        std::ofstream out(targets, std::ios::trunc);
        out << ScrapeTargets(instances);
    }
    const std::string script = "'" + root + "/scripts/prometheus.sh'";
    std::string url;
    if (RunCommand(script + " targets '" + targets + "'") != 0 ||
        RunCommand(script + " start") != 0 || RunCommand(script + " url", &url) != 0) {
        std::fprintf(
            stderr, "sagapay up: Prometheus did not start; running without it (see above)\n"
        );
        return {};
    }
    while (!url.empty() && (url.back() == '\n' || url.back() == ' ')) {
        url.pop_back();
    }
    return url;
}

bool Healthy(int port) {
    http::Client client(
        "http://127.0.0.1:" + std::to_string(port),
        http::ClientOptions{1, std::chrono::milliseconds(200), std::chrono::milliseconds(1000)}
    );
    const auto result = client.Get("/health");
    return result.has_value() && result->status == 200;
}

}  // namespace

bool ImportStackEnvironment(const std::string& root) {
    std::string output;
    if (RunCommand("'" + root + "/scripts/stack.sh' env", &output) != 0) {
        return false;
    }
    std::size_t pos = 0;
    while (pos < output.size()) {
        const auto end = output.find('\n', pos);
        std::string line =
            output.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
        pos = end == std::string::npos ? output.size() : end + 1;
        if (line.rfind("export ", 0) == 0) {
            line = line.substr(7);
        }
        const auto eq = line.find('=');
        if (eq == std::string::npos) {
            continue;
        }
        const std::string key = line.substr(0, eq);
        std::string value = line.substr(eq + 1);
        if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') &&
            value.back() == value.front()) {
            value = value.substr(1, value.size() - 2);
        }
        setenv(key.c_str(), value.c_str(), 0);
    }
    return true;
}

int MigrateAll(const std::vector<std::string>& services) {
    const EnvMap env = ProcessEnvironment();
    const std::map<std::string, std::span<const postgres::Migration>> all = {
        {"orchestrator", OrchestratorMigrations()},
        {"risk", RiskMigrations()},
        {"provider", ProviderMigrations()},
        {"ledger", LedgerMigrations()},
        {"notification", NotificationMigrations()},
    };
    for (const auto& service : services) {
        const auto config = LoadConfig(env, service);
        if (!config) {
            std::fprintf(stderr, "%s\n", config.error().message.c_str());
            return 2;
        }
        const std::string dsn = config->DsnFor(service);
        if (dsn.empty()) {
            std::fprintf(
                stderr,
                "migrate %s: no DSN; set %s or SAGAPAY_PG_BASE_DSN\n",
                service.c_str(),
                (service + "_POSTGRES_DSN").c_str()
            );
            return 2;
        }
        postgres::EnsureDatabase(dsn);
        auto conn = postgres::Connection::Open(dsn);
        const auto report = postgres::Migrate(conn, service, all.at(service));
        std::printf(
            "migrate %-12s applied %d, already applied %d (%s)\n",
            service.c_str(),
            report.applied,
            report.already_applied,
            postgres::Connection::RedactDsn(dsn).c_str()
        );
    }
    // The saga's topics, on a bus that needs them created (Kafka; nothing to do on Redis).
    const auto config = LoadConfig(env, "tools");
    if (!config) {
        std::fprintf(stderr, "%s\n", config.error().message.c_str());
        return 2;
    }
    if (config->event_bus == "kafka") {
        const EventBusPtr bus = MakeEventBus(*config);
        EnsureTopics(*bus, *config);
        std::printf(
            "migrate topics       %zu on kafka at %s (%lld partitions, replication factor %lld)\n",
            topics::kAll.size(),
            config->kafka_bootstrap_servers.c_str(),
            static_cast<long long>(config->kafka_topic_partitions),
            static_cast<long long>(config->kafka_replication_factor)
        );
    }
    return 0;
}

int RunUp(const std::string& self_exe, const UpOptions& options) {
    {
        std::vector<Instance> planned;
        for (Child& child : PlanChildren(options.replicas)) {
            planned.push_back(std::move(child.instance));
        }
        if (const auto checked = CheckPorts(planned); !checked) {
            std::fprintf(stderr, "sagapay up: %s\n", checked.error().message.c_str());
            return 2;
        }
    }
    const std::string log_dir =
        options.log_dir.empty() ? options.root + "/var/log" : options.log_dir;
    std::filesystem::create_directories(log_dir);
    if (options.start_stack) {
        // EVENT_BUS=kafka (make up BUS=kafka): the stack starts a Kafka broker as well.
        if (const char* bus = std::getenv("EVENT_BUS");
            bus != nullptr && std::string(bus) == "kafka") {
            setenv("SAGAPAY_BUS", "kafka", 1);
        }
        if (RunCommand("'" + options.root + "/scripts/stack.sh' start") != 0) {
            std::fprintf(
                stderr, "sagapay up: the local stack did not start (see the messages above)\n"
            );
            return 1;
        }
        if (!ImportStackEnvironment(options.root)) {
            std::fprintf(stderr, "sagapay up: scripts/stack.sh env failed\n");
            return 1;
        }
    }
    if (std::getenv("API_KEY") == nullptr) {
        setenv("API_KEY", "dev-secret", 1);
        std::printf("API_KEY not set: using the development key 'dev-secret'\n");
    }
    std::string prometheus_url;
    if (options.start_prometheus) {
        prometheus_url = StartPrometheus(options.root, log_dir, PlanChildren(options.replicas));
    }
    const int migrated = MigrateAll({"orchestrator", "risk", "provider", "ledger", "notification"});
    // (The console migrates its own database, finpay_console, when it starts.)
    if (migrated != 0) {
        return migrated;
    }

    std::vector<Child> children = PlanChildren(options.replicas);
    // The ops console (app/console/README.md), once, started last: it watches the others.
    const int console_port = FirstPort({"console", "CONSOLE_PORT", 8007});
    Child console{
        .instance = {"console", "console", console_port, {}},
        .pid = -1,
        .restarts = 0,
        .started = {}};
    console.instance.env.emplace_back("CONSOLE_PORT", std::to_string(console_port));
    if (!prometheus_url.empty()) {
        console.instance.env.emplace_back("SAGAPAY_PROMETHEUS_URL", prometheus_url);
    }
    children.push_back(std::move(console));
    for (auto& child : children) {
        child.pid = Spawn(self_exe, child, log_dir);
        child.started = std::chrono::steady_clock::now();
    }
    std::stop_source stop_source;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    for (auto& child : children) {
        while (!Healthy(child.instance.port)) {
            int status = 0;
            if (waitpid(child.pid, &status, WNOHANG) == child.pid) {
                std::fprintf(
                    stderr,
                    "sagapay up: %s exited during start; see %s/%s.log\n",
                    child.instance.name.c_str(),
                    log_dir.c_str(),
                    child.instance.name.c_str()
                );
                for (auto& other : children) {
                    kill(other.pid, SIGTERM);
                }
                return 1;
            }
            if (std::chrono::steady_clock::now() > deadline) {
                std::fprintf(
                    stderr,
                    "sagapay up: %s is not healthy after 60 s; see %s/%s.log\n",
                    child.instance.name.c_str(),
                    log_dir.c_str(),
                    child.instance.name.c_str()
                );
                break;
            }
            WaitFor(stop_source.get_token(), std::chrono::milliseconds(50));
        }
    }
    std::printf("\nSagaPay is up (logs in %s):\n", log_dir.c_str());
    for (const auto& child : children) {
        std::printf(
            "  %-16s http://127.0.0.1:%d\n", child.instance.name.c_str(), child.instance.port
        );
    }
    if (!prometheus_url.empty()) {
        std::printf("  %-16s %s\n", "prometheus", prometheus_url.c_str());
        std::printf("  %-16s %s/consoles/index.html\n", "dashboards", prometheus_url.c_str());
    }
    std::printf(
        "Try: curl -s -X POST localhost:%d/payments -H 'x-api-key: %s' -H 'content-type: "
        "application/json' "
        "-d "
        "'{\"customer_id\":\"cust-1\",\"amount_cents\":1500,\"currency\":\"USD\",\"idempotency_"
        "key\":\"order-1\"}'\n",
        FirstPort(kStartOrder.back()),  // the gateway
        std::getenv("API_KEY")
    );
    std::printf("Ctrl-C stops everything.\n");
    std::fflush(stdout);

    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGCHLD);
    bool stopping = false;
    while (!stopping) {
        int signal = 0;
        sigwait(&signals, &signal);
        if (signal == SIGINT || signal == SIGTERM) {
            stopping = true;
            break;
        }
        int status = 0;
        pid_t pid = 0;
        while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
            for (auto& child : children) {
                if (child.pid != pid) {
                    continue;
                }
                const bool quick =
                    std::chrono::steady_clock::now() - child.started < std::chrono::seconds(10);
                child.restarts = quick ? child.restarts + 1 : 0;
                const auto backoff =
                    std::chrono::milliseconds(std::min(30000, 250 << std::min(child.restarts, 7)));
                std::fprintf(
                    stderr,
                    "sagapay up: %s exited (status %d); restarting in %lld ms\n",
                    child.instance.name.c_str(),
                    status,
                    static_cast<long long>(backoff.count())
                );
                WaitFor(stop_source.get_token(), backoff);
                child.pid = Spawn(self_exe, child, log_dir);
                child.started = std::chrono::steady_clock::now();
            }
        }
    }
    std::printf("\nstopping services...\n");
    for (auto& child : children) {
        kill(child.pid, SIGTERM);
    }
    const auto kill_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
    for (auto& child : children) {
        int status = 0;
        while (waitpid(child.pid, &status, WNOHANG) == 0) {
            if (std::chrono::steady_clock::now() > kill_deadline) {
                kill(child.pid, SIGKILL);
                waitpid(child.pid, &status, 0);
                break;
            }
            WaitFor(stop_source.get_token(), std::chrono::milliseconds(20));
        }
    }
    if (!prometheus_url.empty() && !options.keep_stack) {
        RunCommand("'" + options.root + "/scripts/prometheus.sh' stop");
    }
    if (options.start_stack && !options.keep_stack) {
        RunCommand("'" + options.root + "/scripts/stack.sh' stop");
    }
    std::printf("stopped.\n");
    return 0;
}

}  // namespace sagapay::app
