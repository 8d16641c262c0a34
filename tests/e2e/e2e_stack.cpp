#include "tests/e2e/e2e_stack.hpp"

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <stdexcept>
#include <stop_token>

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "adapters/postgres/migrator.hpp"
#include "runtime/wait.hpp"
#include "testing/test_env.hpp"

namespace sagapay::testing {

int FreePort() {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
        close(fd);
        return 0;
    }
    socklen_t len = sizeof(addr);
    getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    close(fd);
    return ntohs(addr.sin_port);
}

namespace {

std::string Upper(std::string text) {
    for (char& c : text) {
        c = c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
    return text;
}

std::string ConfigKey(const std::string& service) {
    return service == "psp-sandbox" ? "psp" : service;
}

std::string BaseDsn() {
    // The test server's DSN without its database name.
    std::string dsn = TestPgDsn();
    const auto slash = dsn.find('/', dsn.find("://") + 3);
    return slash == std::string::npos ? dsn : dsn.substr(0, slash);
}

const std::vector<std::string> kDatabases = {
    "orchestrator", "risk", "provider", "ledger", "notification", "console"};

}  // namespace

bool Eventually(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
    std::stop_source never;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
        if (condition()) {
            return true;
        }
        if (std::chrono::steady_clock::now() > deadline) {
            return false;
        }
        WaitFor(never.get_token(), std::chrono::milliseconds(20));
    }
}

const std::vector<std::string>& E2eStack::AllServices() {
    static const std::vector<std::string> kAll = {
        "psp-sandbox", "orchestrator", "risk", "provider", "ledger", "notification", "gateway"};
    return kAll;
}

std::string E2eStack::BusFromEnvironment() {
    const char* bus = std::getenv("SAGAPAY_E2E_BUS");
    std::string name = bus == nullptr || *bus == '\0' ? "redis" : bus;
    if (name != "redis" && name != "kafka") {
        throw std::runtime_error("e2e: SAGAPAY_E2E_BUS=" + name + ": use redis or kafka");
    }
    return name;
}

E2eStack::E2eStack(std::map<std::string, std::string> env, const Replicas& replicas)
    : env_(std::move(env)), bus_(BusFromEnvironment()) {
    if (bus_ == "kafka") {
        const char* servers = std::getenv("KAFKA_BOOTSTRAP_SERVERS");
        if (servers == nullptr || *servers == '\0') {
            throw std::runtime_error(
                "e2e: SAGAPAY_E2E_BUS=kafka needs KAFKA_BOOTSTRAP_SERVERS in the environment"
            );
        }
    }
    for (const auto& [service, count] : replicas.per_service) {
        if (std::find(AllServices().begin(), AllServices().end(), service) == AllServices().end() ||
            service == "psp-sandbox" || count < 1 || count > 16) {
            throw std::invalid_argument(
                "e2e: cannot run " + std::to_string(count) + " instances of " + service
            );
        }
    }
    id_ = UniqueName("e2e");
    prefix_ = id_ + ":";
    log_dir_ = std::string(SAGAPAY_E2E_LOG_DIR) + "/" + id_;
    std::filesystem::create_directories(log_dir_);
    for (const auto& service : AllServices()) {
        const auto found = replicas.per_service.find(service);
        auto& instances = processes_[service];
        instances.resize(
            static_cast<std::size_t>(found == replicas.per_service.end() ? 1 : found->second)
        );
        for (auto& process : instances) {
            process.port = FreePort();
        }
    }
    // The ops console: one instance, started only by the tests that ask for it.
    processes_["console"].resize(1);
    processes_["console"].front().port = FreePort();
}

E2eStack::~E2eStack() {
    for (auto& [service, instances] : processes_) {
        for (auto& process : instances) {
            if (process.pid > 0) {
                kill(process.pid, SIGCONT);  // a stopped process would never see the SIGTERM
                kill(process.pid, SIGTERM);
            }
        }
    }
    for (auto& [service, instances] : processes_) {
        for (auto& process : instances) {
            if (process.pid > 0) {
                int status = 0;
                waitpid(process.pid, &status, 0);
            }
        }
    }
    try {
        auto admin = postgres::Connection::Open(TestPgDsn());
        for (const auto& db : kDatabases) {
            admin.ExecScript("DROP DATABASE IF EXISTS \"" + id_ + "_" + db + "\" WITH (FORCE)");
        }
    } catch (const std::exception& e) {
        std::cerr << "e2e: could not drop databases: " << e.what() << "\n";
    }
}

int E2eStack::Instances(const std::string& service) const {
    return static_cast<int>(processes_.at(service).size());
}

E2eStack::Process& E2eStack::ProcessOf(const std::string& service, int instance) {
    return processes_.at(service).at(static_cast<std::size_t>(instance));
}

const E2eStack::Process& E2eStack::ProcessOf(const std::string& service, int instance) const {
    return processes_.at(service).at(static_cast<std::size_t>(instance));
}

std::string E2eStack::LogPath(const std::string& service, int instance) const {
    return log_dir_ + "/" + service + (instance == 0 ? "" : "-" + std::to_string(instance)) +
           ".log";
}

std::string E2eStack::Url(const std::string& service, int instance) const {
    return "http://127.0.0.1:" + std::to_string(ProcessOf(service, instance).port);
}

http::Client& E2eStack::Client(const std::string& service, int instance) {
    auto& client = clients_[{service, instance}];
    if (!client) {
        client = std::make_unique<http::Client>(Url(service, instance));
    }
    return *client;
}

postgres::Connection E2eStack::Db(const std::string& service) const {
    return postgres::Connection::Open(BaseDsn() + "/" + id_ + "_" + service);
}

redis::Connection E2eStack::Redis() const {
    return redis::Connection(redis::ParseRedisUrl(TestRedisUrl()));
}

std::vector<std::string> E2eStack::Environment(const std::string& service, int instance) const {
    std::map<std::string, std::string> vars;
    for (char** e = environ; *e != nullptr; ++e) {
        const std::string entry(*e);
        const auto eq = entry.find('=');
        vars[entry.substr(0, eq)] = entry.substr(eq + 1);
    }
    vars["API_KEY"] = api_key_;
    vars["REDIS_URL"] = TestRedisUrl();
    vars["EVENT_STREAM_PREFIX"] = prefix_;
    vars["EVENT_BUS"] = bus_;
    if (bus_ == "kafka") {
        vars["KAFKA_BOOTSTRAP_SERVERS"] = std::getenv("KAFKA_BOOTSTRAP_SERVERS");
    }
    vars["LOG_LEVEL"] = "INFO";
    vars["BUS_VISIBILITY_TIMEOUT_MS"] = "3000";
    vars["PROVIDER_BACKOFF_MS"] = "100,200,400";
    vars.erase("SAGAPAY_PG_BASE_DSN");
    vars.erase("POSTGRES_DSN");
    for (const auto& db : kDatabases) {
        vars[Upper(db) + "_POSTGRES_DSN"] = BaseDsn() + "/" + id_ + "_" + db;
    }
    for (const auto& [name, instances] : processes_) {
        vars[Upper(ConfigKey(name)) + "_PORT"] = std::to_string(instances.front().port);
    }
    int orchestrator = 0;
    if (!service.empty()) {
        // Its own port; gateway i calls orchestrator i mod n, so the gateways spread their load.
        vars[Upper(ConfigKey(service)) + "_PORT"] =
            std::to_string(ProcessOf(service, instance).port);
        if (service == "gateway") {
            orchestrator = instance % Instances("orchestrator");
        }
    }
    vars["ORCHESTRATOR_URL"] = Url("orchestrator", orchestrator);
    vars["PSP_URL"] = Url("psp-sandbox");
    for (const auto& [key, value] : env_) {
        vars[key] = value;
    }
    std::vector<std::string> storage;
    storage.reserve(vars.size());
    for (const auto& [key, value] : vars) {
        storage.push_back(key);
        storage.back().append("=").append(value);
    }
    return storage;
}

std::pair<int, std::string> E2eStack::RunTool(const std::vector<std::string>& args) {
    std::vector<std::string> storage = Environment();
    std::vector<char*> envp;
    envp.reserve(storage.size() + 1);
    for (auto& s : storage) {
        envp.push_back(s.data());
    }
    envp.push_back(nullptr);
    const std::string out_path = log_dir_ + "/tool-" + UniqueName("run") + ".out";
    std::cout.flush();
    std::fflush(nullptr);  // else the child writes what this process had buffered, again
    const pid_t pid = fork();
    if (pid == 0) {
        const FILE* out = std::freopen(out_path.c_str(), "w", stdout);
        const int fd = fileno(stdout);
        dup2(fd, STDERR_FILENO);
        (void)out;
        // execve wants mutable strings: give it copies.
        std::vector<std::string> words = {SAGAPAY_BINARY};
        words.insert(words.end(), args.begin(), args.end());
        std::vector<char*> argv;
        argv.reserve(words.size() + 1);
        for (auto& word : words) {
            argv.push_back(word.data());
        }
        argv.push_back(nullptr);
        execve(SAGAPAY_BINARY, argv.data(), envp.data());
        _exit(127);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    std::ifstream in(out_path);
    const std::string output(
        (std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>()
    );
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}

void E2eStack::StartAll() {
    for (const auto& service : AllServices()) {
        for (int instance = 0; instance < Instances(service); ++instance) {
            Start(service, instance);
        }
    }
}

void E2eStack::Start(const std::string& service, int instance) {
    Process& process = ProcessOf(service, instance);
    const std::string log_path = LogPath(service, instance);
    // FreePort releases the port before the service binds it, so a service of a stack running in
    // parallel can take it first: then ours fails to bind and exits, and the /health answer came
    // from the other one. Healthy means: our process answers and its own log says it is serving.
    // A service that lost its port is started again on a new one.
    for (int attempt = 0; attempt < 5; ++attempt) {
        std::error_code ignored;
        const auto log_offset = std::filesystem::exists(log_path, ignored)
                                    ? std::filesystem::file_size(log_path, ignored)
                                    : std::uintmax_t{0};
        std::vector<std::string> storage = Environment(service, instance);
        std::vector<char*> envp;
        envp.reserve(storage.size() + 1);
        for (auto& s : storage) {
            envp.push_back(s.data());
        }
        envp.push_back(nullptr);
        std::cout.flush();
        std::fflush(nullptr);  // else the child writes what this process had buffered, again
        const pid_t pid = fork();
        if (pid == 0) {
            const FILE* out = std::freopen(log_path.c_str(), "a", stdout);
            const FILE* err = std::freopen(log_path.c_str(), "a", stderr);
            (void)out;
            (void)err;
            std::string exe = SAGAPAY_BINARY;
            std::string command = service;
            char* argv[] = {exe.data(), command.data(), nullptr};
            execve(exe.c_str(), argv, envp.data());
            _exit(127);
        }
        process.pid = pid;
        const auto serving = [&] {
            std::ifstream in(log_path);
            in.seekg(static_cast<std::streamoff>(log_offset));
            const std::string written(
                (std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>()
            );
            return written.find(R"("message":"service started")") != std::string::npos;
        };
        const bool healthy = Eventually(
            [&] {
                int status = 0;
                if (waitpid(pid, &status, WNOHANG) == pid) {
                    process.pid = -1;
                    return true;
                }
                if (!serving()) {
                    return false;
                }
                http::Client probe(
                    Url(service, instance),
                    http::ClientOptions{
                        1, std::chrono::milliseconds(200), std::chrono::milliseconds(1000)}
                );
                const auto result = probe.Get("/health");
                return result.has_value() && result->status == 200;
            },
            std::chrono::seconds(60)
        );
        if (healthy && process.pid > 0) {
            return;
        }
        if (process.pid > 0) {
            break;  // alive but never healthy
        }
        process.port = FreePort();  // it exited: most likely its port was taken; try another
    }
    DumpLogs();
    throw std::runtime_error(
        "e2e: " + service + " instance " + std::to_string(instance) + " did not become healthy"
    );
}

void E2eStack::Stop(const std::string& service, int signal, int instance) {
    Process& process = ProcessOf(service, instance);
    if (process.pid <= 0) {
        return;
    }
    kill(process.pid, signal);
    int status = 0;
    waitpid(process.pid, &status, 0);
    process.pid = -1;
    clients_.erase({service, instance});
}

bool E2eStack::Running(const std::string& service, int instance) {
    Process& process = ProcessOf(service, instance);
    if (process.pid <= 0) {
        return false;
    }
    int status = 0;
    if (waitpid(process.pid, &status, WNOHANG) == process.pid) {
        process.pid = -1;
        return false;
    }
    return true;
}

std::pair<int, nlohmann::json> E2eStack::Pay(
    const std::string& customer,
    std::int64_t amount,
    const std::string& key,
    const std::string& currency
) {
    return Gateway(
        "POST",
        "/payments",
        {{"customer_id", customer},
         {"amount_cents", amount},
         {"currency", currency},
         {"idempotency_key", key}}
    );
}

std::pair<int, nlohmann::json> E2eStack::Gateway(
    const std::string& method, const std::string& path, const nlohmann::json& body
) {
    const auto result = Client("gateway").Send(
        method,
        path,
        body.is_null() ? "" : body.dump(),
        {{"content-type", "application/json"}, {"x-api-key", api_key_}}
    );
    if (!result.has_value()) {
        return {0, nlohmann::json{{"client_error", result.error().message}}};
    }
    return {result->status, nlohmann::json::parse(result->body, nullptr, false)};
}

nlohmann::json E2eStack::Payment(const std::string& payment_id) {
    const auto result = Client("orchestrator").Get("/payments/" + payment_id);
    if (!result.has_value() || result->status != 200) {
        return nlohmann::json::object();
    }
    return nlohmann::json::parse(result->body, nullptr, false);
}

nlohmann::json E2eStack::WaitForStatus(
    const std::string& payment_id,
    const std::set<std::string>& states,
    std::chrono::milliseconds timeout
) {
    nlohmann::json last;
    Eventually(
        [&] {
            last = Payment(payment_id);
            return last.contains("status") && states.contains(last["status"].get<std::string>());
        },
        timeout
    );
    return last;
}

void E2eStack::DumpLogs() const {
    for (const auto& service : AllServices()) {
        for (int instance = 0; instance < Instances(service); ++instance) {
            const std::string path = LogPath(service, instance);
            std::ifstream in(path);
            std::vector<std::string> lines;
            for (std::string line; std::getline(in, line);) {
                lines.push_back(line);
            }
            std::cerr << "---- " << service << " instance " << instance << " (last lines of "
                      << path << ")\n";
            for (std::size_t i = lines.size() > 15 ? lines.size() - 15 : 0; i < lines.size(); ++i) {
                std::cerr << lines[i].substr(0, 400) << "\n";
            }
        }
    }
}

}  // namespace sagapay::testing
