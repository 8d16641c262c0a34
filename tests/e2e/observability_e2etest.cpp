// The monitoring of `make up` against the real services: a private Prometheus with the project's
// rules and consoles scrapes a stack under load; every query of both Grafana dashboards is
// accepted and (but for the panels that only show trouble) has data; every recording rule
// yields a sample; the console pages render in headless Chromium, with their graphs drawn, and
// their screenshots are saved (SAGAPAY_SCREENSHOT_DIR also copies them, e.g. to docs/img).
#include <csignal>
#include <filesystem>
#include <fstream>
#include <set>

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <nlohmann/json.hpp>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "adapters/http/http.hpp"
#include "testing/process.hpp"
#include "testing/test_env.hpp"
#include "tests/e2e/e2e_stack.hpp"

namespace sagapay::testing {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

const fs::path kSource = SAGAPAY_SOURCE_DIR;

/// Panels that show trouble only: a healthy run leaves them empty.
const std::set<std::string> kQuietPanels = {"Retries", "Firing alerts"};

int FreeTcpPort() {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    const bool bound = bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
                       getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0;
    close(fd);
    return bound ? ntohs(addr.sin_port) : 0;
}

/// A Prometheus process with the project's rules and consoles scraping `targets` every second.
class Prometheus {
public:
    Prometheus(fs::path dir, const std::vector<std::pair<std::string, std::string>>& targets)
        : dir_(std::move(dir)), port_(FreeTcpPort()), pid_(Spawn(dir_, port_, targets)) {
        client_ = std::make_unique<http::Client>(Url());
    }
    Prometheus(const Prometheus&) = delete;
    Prometheus& operator=(const Prometheus&) = delete;
    ~Prometheus() {
        if (pid_ > 0) {
            kill(pid_, SIGTERM);
            waitpid(pid_, nullptr, 0);
        }
    }

    [[nodiscard]] std::string Url() const { return "http://127.0.0.1:" + std::to_string(port_); }
    [[nodiscard]] std::string Log() const { return ReadFile(dir_ / "prometheus.log"); }

    [[nodiscard]] bool Ready() {
        const auto answer = client_->Get("/-/ready");
        return answer.has_value() && answer->status == 200;
    }

    /// GET `target`: (status, body); status 0 when there was no answer.
    std::pair<int, std::string> Get(const std::string& target) {
        const auto answer = client_->Get(target);
        return answer ? std::pair{answer->status, answer->body} : std::pair{0, std::string()};
    }

    /// An instant query's JSON answer (status "success" or "error").
    nlohmann::json Query(const std::string& expr) {
        const auto [status, body] = Get("/api/v1/query?query=" + PercentEncode(expr));
        if (status == 0) {
            return {{"status", "no answer"}};
        }
        return nlohmann::json::parse(body, nullptr, false);
    }

    double Value(const std::string& expr) {
        const auto answer = Query(expr);
        const auto& result = answer["data"]["result"];
        return answer["status"] == "success" && !result.empty()
                   ? std::stod(result[0]["value"][1].get<std::string>())
                   : -1;
    }

private:
    static std::string PercentEncode(const std::string& text) {
        static constexpr char kHex[] = "0123456789ABCDEF";
        std::string out;
        for (const unsigned char c : text) {
            if (std::isalnum(c) != 0 || c == '-' || c == '_' || c == '.' || c == '~') {
                out.push_back(static_cast<char>(c));
            } else {
                out += '%';
                out += kHex[c >> 4];
                out += kHex[c & 15];
            }
        }
        return out;
    }

    /// Writes the configuration into `dir` and starts Prometheus on `port`; its pid.
    static pid_t Spawn(
        const fs::path& dir,
        int port,
        const std::vector<std::pair<std::string, std::string>>& targets
    ) {
        fs::remove_all(dir);
        fs::create_directories(dir / "data");
        nlohmann::json groups = nlohmann::json::array();
        for (const auto& [job, url] : targets) {
            groups.push_back(
                {{"targets", {url.substr(url.find("//") + 2)}}, {"labels", {{"job", job}}}}
            );
        }
        std::ofstream(dir / "targets.json") << groups.dump();
        std::ofstream(dir / "prometheus.yml")
            << "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
            << "rule_files: ['" << (kSource / "ops/prometheus/rules").string() << "/*.yml']\n"
            << "scrape_configs:\n  - job_name: sagapay\n    file_sd_configs: [{files: ['"
            << (dir / "targets.json").string() << "']}]\n";
        std::fflush(nullptr);
        const pid_t pid = fork();
        if (pid == 0) {
            const FILE* log = std::freopen((dir / "prometheus.log").c_str(), "w", stderr);
            (void)log;
            std::vector<std::string> argv = {
                "prometheus",
                "--config.file=" + (dir / "prometheus.yml").string(),
                "--storage.tsdb.path=" + (dir / "data").string(),
                "--web.listen-address=127.0.0.1:" + std::to_string(port),
                "--web.console.templates=" + (kSource / "ops/prometheus/consoles").string(),
                "--web.console.libraries=" +
                    (kSource / "ops/prometheus/console_libraries").string(),
            };
            std::vector<char*> args;
            args.reserve(argv.size() + 1);
            for (auto& word : argv) {
                args.push_back(word.data());
            }
            args.push_back(nullptr);
            execvp(args[0], args.data());
            _exit(127);
        }
        return pid;
    }

    fs::path dir_;
    int port_;
    pid_t pid_ = -1;
    std::unique_ptr<http::Client> client_;
};

class Observability : public StackSuite<Observability> {
public:
    static std::map<std::string, std::string> Environment() {
        return {{"RATE_LIMIT_PER_MINUTE", "100000"}, {"SWEEPER_INTERVAL_MS", "1000"}};
    }

protected:
    static void SetUpTestSuite() {
        StackSuite<Observability>::SetUpTestSuite();
        std::vector<std::pair<std::string, std::string>> targets;
        for (const auto& service : E2eStack::AllServices()) {
            targets.emplace_back(service, stack_->Url(service));
        }
        prometheus_ = new Prometheus(fs::path(stack_->LogDir()) / "prometheus", targets);
        ASSERT_TRUE(Eventually([] { return prometheus_->Ready(); }, 30s)) << prometheus_->Log();
        Load();
    }
    static void TearDownTestSuite() {
        delete prometheus_;
        prometheus_ = nullptr;
        StackSuite<Observability>::TearDownTestSuite();
    }

    /// 150 payments that settle and 30 the PSP declines, in six bursts a scrape apart so the
    /// graphs have a shape; waits until Prometheus saw them end.
    static void Load() {
        ASSERT_TRUE(Eventually(
            [] {
                return prometheus_->Value("count(up == 1)") ==
                       static_cast<double>(E2eStack::AllServices().size());
            },
            30s
        )) << "every service scraped once before the load";
        std::vector<std::string> ids;
        for (int i = 0; i < 180; ++i) {
            if (i % 30 == 29) {
                // Paced by Prometheus: the next 30 go out once it scraped the last ones, so the
                // rates see the load over several scrapes.
                const double scraped = prometheus_->Value("max(timestamp(up))");
                ASSERT_TRUE(Eventually(
                    [&] { return prometheus_->Value("max(timestamp(up))") > scraped; }, 10s
                ));
            }
            const bool decline = i % 6 == 0;
            const auto [status, body] = stack_->Pay(
                UniqueName(decline ? "force-decline" : "cust"), 1000 + i, UniqueName("order")
            );
            ASSERT_EQ(status, 200) << body.dump();
            ids.push_back(body["payment_id"]);
        }
        for (const auto& id : ids) {
            const auto payment = stack_->WaitForStatus(id, {"SETTLED", "FAILED", "REVERSED"}, 60s);
            ASSERT_NE(payment["status"], "CREATED") << payment.dump();
        }
        ASSERT_TRUE(Eventually(
            [] {
                return prometheus_->Value("sum(payment_success_total)") >= 150 &&
                       prometheus_->Value("sum(payment_failure_total)") >= 30;
            },
            30s
        )) << "Prometheus never saw every payment end";
        // The recording rules (every 5 s) have seen the settlements too.
        ASSERT_TRUE(Eventually(
            [] { return prometheus_->Value("count(sagapay:payments_settled:rate5m > 0)") == 1; },
            30s
        )) << "the recording rules never saw a settlement: "
           << prometheus_->Query("sagapay:payments_settled:rate5m").dump() << " "
           << prometheus_->Query("sum(rate(payment_success_total[5m]))").dump() << " "
           << prometheus_->Get("/api/v1/rules?type=record").second.substr(0, 1500);
    }

    static inline Prometheus* prometheus_ = nullptr;
};

std::vector<fs::path> Dashboards() {
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(kSource / "ops/grafana/dashboards")) {
        if (entry.path().extension() == ".json") {
            files.push_back(entry.path());
        }
    }
    std::sort(files.begin(), files.end());
    return files;
}

TEST_F(Observability, PrometheusScrapesEveryService) {
    for (const auto& service : E2eStack::AllServices()) {
        EXPECT_EQ(prometheus_->Value("up{job=\"" + service + "\"}"), 1) << service;
    }
}

TEST_F(Observability, EveryPanelQueryOfBothDashboardsIsAcceptedAndHasData) {
    const auto files = Dashboards();
    ASSERT_EQ(files.size(), 2U);
    int queries = 0;
    for (const auto& file : files) {
        const auto board = nlohmann::json::parse(ReadFile(file));
        for (const auto& panel : board["panels"]) {
            const std::string title = panel["title"];
            bool any_data = false;
            for (const auto& target : panel["targets"]) {
                const std::string expr = target["expr"];
                const auto answer = prometheus_->Query(expr);
                ++queries;
                EXPECT_EQ(answer["status"], "success")
                    << file.filename() << " / " << title << ": " << expr << "\n"
                    << answer.dump();
                any_data = any_data || !answer["data"]["result"].empty();
            }
            if (kQuietPanels.count(title) == 0) {
                EXPECT_TRUE(any_data) << file.filename() << " / " << title << " has no data";
            }
        }
    }
    EXPECT_GT(queries, 30);
}

TEST_F(Observability, EveryRecordingRuleYieldsASampleAndTheSettleRateIsSeen) {
    const auto answer = nlohmann::json::parse(prometheus_->Get("/api/v1/rules?type=record").second);
    int rules = 0;
    for (const auto& group : answer["data"]["groups"]) {
        for (const auto& rule : group["rules"]) {
            ++rules;
            EXPECT_EQ(rule["health"], "ok") << rule.dump();
            const std::string name = rule["name"];
            if (name.find("psp_") != std::string::npos || name.find("stuck") != std::string::npos ||
                name.find("dead_lettered") != std::string::npos ||
                name.find("dlq") != std::string::npos || name.find("lag") != std::string::npos ||
                name.find("reconciliation") != std::string::npos ||
                name.find("outbox") != std::string::npos) {
                // Present as 0 or NaN in a healthy run: the series exist, with no trouble in them.
                // A rule group evaluates on its own schedule (and later on a loaded machine):
                // the first sample may come a few evaluations after the settlements were seen.
                EXPECT_TRUE(
                    Eventually([&] { return prometheus_->Value("count(" + name + ")") >= 1; }, 30s)
                ) << name
                  << ": " << prometheus_->Query(name).dump();
            }
        }
    }
    EXPECT_EQ(rules, 17);
    EXPECT_GT(prometheus_->Value("sagapay:payments_settled:rate5m"), 0);
    EXPECT_GT(prometheus_->Value("sagapay:payments_failed:rate5m{reason=\"PROVIDER_DECLINE\"}"), 0);
    EXPECT_EQ(
        prometheus_->Value(
            "sagapay:reconciliation_mismatches:max{check=\"imbalanced_transactions\"}"
        ),
        0
    );
    EXPECT_GT(
        prometheus_->Value("sum(psp_requests_total{operation=\"AUTHORIZE\",outcome=\"declined\"})"),
        0
    );
    EXPECT_GT(prometheus_->Value("count(saga_step_seconds_count)"), 5);
}

TEST_F(Observability, TheConsolesRenderInChromiumWithTheirGraphsDrawn) {
    const fs::path shots = fs::path(stack_->LogDir()) / "screenshots";
    fs::create_directories(shots);
    const char* keep = std::getenv("SAGAPAY_SCREENSHOT_DIR");
    for (const std::string page : {"sagapay-overview", "sagapay-executive", "index"}) {
        const std::string url = prometheus_->Url() + "/consoles/" + page + ".html";
        const auto [status, body] = prometheus_->Get("/consoles/" + page + ".html");
        ASSERT_EQ(status, 200) << page << ": " << body;
        EXPECT_EQ(body.find("error executing template"), std::string::npos) << body;
        EXPECT_EQ(body.find("https://"), std::string::npos) << "nothing from the internet";

        const fs::path profile = fs::path(stack_->LogDir()) / ("chromium-" + page);
        const std::vector<std::string> common = {
            "chromium",
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--user-data-dir=" + profile.string(),
            "--window-size=1280,2600",
            "--virtual-time-budget=10000"};
        auto dump = common;
        dump.emplace_back("--dump-dom");
        dump.push_back(url);
        ASSERT_EQ(RunProgram(dump, shots / (page + ".html")), 0)
            << ReadFile(shots / (page + ".html"));
        const std::string dom = ReadFile(shots / (page + ".html"));
        if (page != "index") {
            // Rickshaw draws one <svg> per graph with data; "No timeseries" marks an empty one.
            std::size_t graphs = 0;
            for (auto at = dom.find("class=\"rickshaw_graph\""); at != std::string::npos;
                 at = dom.find("class=\"rickshaw_graph\"", at + 1)) {
                ++graphs;
            }
            EXPECT_GE(graphs, 8U) << page << " drew too few graphs";
            EXPECT_EQ(dom.find("Error"), std::string::npos) << page << " shows an error";
        } else {
            EXPECT_NE(dom.find("orchestrator"), std::string::npos) << "targets table";
        }
        auto shot = common;
        shot.push_back("--screenshot=" + (shots / (page + ".png")).string());
        shot.push_back(url);
        const fs::path log = shots / (page + ".log");
        ASSERT_EQ(RunProgram(shot, log), 0) << ReadFile(log);
        ASSERT_TRUE(fs::exists(shots / (page + ".png")));
        EXPECT_GT(fs::file_size(shots / (page + ".png")), 20'000U) << "an empty page?";
        if (keep != nullptr && *keep != '\0') {
            fs::copy_file(
                shots / (page + ".png"),
                fs::path(keep) / ("console-" + page + ".png"),
                fs::copy_options::overwrite_existing
            );
        }
    }
}

}  // namespace
}  // namespace sagapay::testing
