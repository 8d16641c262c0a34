// docs/openapi.yaml against the code: every route a service registers is in the document, on
// that service's server, and the document lists nothing else.
//
// The route tables are built as the composition roots build them (each API's AddRoutes, then
// ServiceHost::AddStandardRoutes) over fakes, with no socket, database or Redis. The document
// is read by a line reader made for its own layout (see its header): `paths:` at column 0, path
// keys at exactly two spaces, `servers:` entries (`- url: http://host:port`) at six spaces and
// method keys at exactly four spaces below a path. It is no YAML parser; the layout test below
// fails if the file stops following that layout in a way the reader would misread.

#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include <gtest/gtest.h>

#include "adapters/postgres/pool.hpp"
#include "runtime/config.hpp"
#include "runtime/service_host.hpp"
#include "services/gateway/gateway_api.hpp"
#include "services/ledger/ledger_reports.hpp"
#include "services/ledger/reconciliation_api.hpp"
#include "services/notification/webhook_api.hpp"
#include "services/orchestrator/payment_api.hpp"
#include "services/psp_sandbox/psp_ledger.hpp"
#include "services/psp_sandbox/psp_service.hpp"
#include "services/risk/in_memory_risk_store.hpp"
#include "services/risk/review_api.hpp"
#include "testing/fake_clock.hpp"

namespace sagapay {
namespace {

/// (method in upper case, path template, default port of the service that serves it)
using Route = std::tuple<std::string, std::string, int>;

std::string SourcePath(const std::string& relative) {
    return std::string(SAGAPAY_SOURCE_DIR) + "/" + relative;
}

std::string ReadFile(const std::string& path) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

std::string Upper(std::string text) {
    for (char& c : text) {
        if (c >= 'a' && c <= 'z') {
            c = static_cast<char>(c - 'a' + 'A');
        }
    }
    return text;
}

/// The port of a `      - url: http://<host>:<port>` line (trailing blanks allowed), or nullopt.
std::optional<int> ServerPort(std::string_view line) {
    constexpr std::string_view kPrefix = "      - url: http://";
    if (line.substr(0, kPrefix.size()) != kPrefix) {
        return std::nullopt;
    }
    line.remove_prefix(kPrefix.size());
    while (!line.empty() && (line.back() == ' ' || line.back() == '\t' || line.back() == '\r')) {
        line.remove_suffix(1);
    }
    const std::size_t colon = line.find(':');
    if (colon == 0 || colon == std::string_view::npos ||
        line.substr(0, colon).find('/') != std::string_view::npos) {
        return std::nullopt;
    }
    const std::string_view digits = line.substr(colon + 1);
    if (digits.empty() || digits.size() > 5 ||
        digits.find_first_not_of("0123456789") != std::string_view::npos) {
        return std::nullopt;
    }
    return std::stoi(std::string(digits));
}

std::size_t Indent(const std::string& line) {
    return line.find_first_not_of(' ');
}

/// What the line reader takes from `paths:`: (method, path, port) for every method of every
/// path on every server the path lists. Problems it cannot read are added to `problems`.
std::set<Route> DocumentedRoutes(const std::string& yaml, std::vector<std::string>& problems) {
    static const std::set<std::string> kMethods = {
        "get", "put", "post", "delete", "options", "head", "patch", "trace"};
    std::set<Route> routes;
    std::istringstream lines(yaml);
    std::string line;
    bool in_paths = false;
    std::string path;
    std::vector<int> ports;
    std::vector<std::string> methods;
    int line_number = 0;
    const auto flush = [&] {
        if (path.empty()) {
            return;
        }
        if (ports.empty()) {
            problems.push_back(path + ": no servers (each path names the services that serve it)");
        }
        if (methods.empty()) {
            problems.push_back(path + ": no methods");
        }
        for (const auto& method : methods) {
            for (const int port : ports) {
                routes.emplace(Upper(method), path, port);
            }
        }
        path.clear();
        ports.clear();
        methods.clear();
    };
    while (std::getline(lines, line)) {
        ++line_number;
        const std::size_t indent = Indent(line);
        if (indent == std::string::npos || line[indent] == '#') {
            continue;  // blank or comment
        }
        if (indent == 0) {
            flush();
            in_paths = line.rfind("paths:", 0) == 0;
            continue;
        }
        if (!in_paths) {
            continue;
        }
        const std::string where = "line " + std::to_string(line_number) + ": ";
        if (indent == 2) {
            flush();
            if (line[2] != '/' || line.back() != ':') {
                problems.push_back(std::string(where)
                                       .append("a key under paths: that is not a path: ")
                                       .append(line));
                continue;
            }
            path = line.substr(2, line.size() - 3);
        } else if (indent == 4) {
            const std::string key = line.substr(4, line.find(':') - 4);
            if (kMethods.contains(key)) {
                methods.push_back(key);
            } else if (key != "servers" && key != "parameters" && key != "summary" &&
                       key != "description") {
                problems.push_back(
                    std::string(where).append("unexpected path-level key ").append(key)
                );
            }
        } else if (indent == 6 && line.rfind("      - url:", 0) == 0) {
            const std::optional<int> port = ServerPort(line);
            if (!port) {
                problems.push_back(
                    std::string(where).append("a server url the reader cannot take: ").append(line)
                );
                continue;
            }
            ports.push_back(*port);
        }
    }
    flush();
    return routes;
}

class NoRateLimit final : public gateway::RateLimit {
public:
    Result<gateway::RateDecision> Take(const CustomerId&) override {
        return gateway::RateDecision{};
    }
};

class NoOrchestrator final : public gateway::PaymentCreator {
public:
    Result<http::Response> Create(const PaymentRequest&, const std::string&) override {
        return tl::unexpected(Error{ErrorCode::kUnavailable, "not in this test"});
    }
    Result<http::Response>
    Forward(const std::string&, const std::string&, const std::string&, const std::string&)
        override {
        return tl::unexpected(Error{ErrorCode::kUnavailable, "not in this test"});
    }
};

class NoReports final : public ledger::LedgerReports {
public:
    nlohmann::json Transaction(const std::string&) override { return {}; }
    nlohmann::json All(std::int64_t) override { return {}; }
};

/// Every service's route table, built as its composition root builds it.
std::set<Route> RegisteredRoutes() {
    const Config config;
    const testing::FakeClock clock;
    std::set<Route> routes;
    const auto collect = [&routes](ServiceHost& host, int port) {
        host.AddStandardRoutes();
        for (auto& [method, pattern] : host.Routes().Routes()) {
            routes.emplace(method, pattern, port);
        }
    };
    {
        NoRateLimit limit;
        NoOrchestrator orchestrator;
        gateway::GatewayApi api({}, limit, orchestrator);
        ServiceHost host(config, "gateway", 0);
        api.AddRoutes(host.Routes());
        collect(host, 8000);
    }
    {
        postgres::Pool pool("postgresql://unused.invalid/none", 1);  // opened lazily: never here
        orchestrator::PaymentApi api(pool, clock, "orchestrator");
        ServiceHost host(config, "orchestrator", 0);
        api.AddRoutes(host.Routes());
        collect(host, 8001);
    }
    {
        risk::InMemoryRiskUnitsOfWork units(clock);
        risk::ReviewApi api(units, clock, "ops-key");
        ServiceHost host(config, "risk", 0);
        api.AddRoutes(host.Routes());
        collect(host, 8002);
    }
    {
        ServiceHost host(config, "provider", 0);  // no routes of its own
        collect(host, 8003);
    }
    {
        NoReports reports;
        ledger::ReconciliationApi api(reports, "ops-key");
        ServiceHost host(config, "ledger", 0);
        api.AddRoutes(host.Routes());
        collect(host, 8004);
    }
    {
        postgres::Pool pool("postgresql://unused.invalid/none", 1);  // opened lazily: never here
        notification::PgWebhookStore store(pool);
        notification::WebhookApi api(store, "ops-key", std::chrono::seconds(60));
        ServiceHost host(config, "notification", 0);
        api.AddRoutes(host.Routes());
        collect(host, 8005);
    }
    {
        psp::PspLedger ledger(42, psp::Behaviour::kApprove, clock);
        ServiceHost host(config, "psp", 0);
        psp::AddPspRoutes(host.Routes(), ledger, std::chrono::milliseconds(0));
        collect(host, 8006);
    }
    return routes;
}

std::string Describe(const Route& route) {
    return std::get<0>(route) + " " + std::get<1>(route) +
           " on :" + std::to_string(std::get<2>(route));
}

TEST(OpenApiDocument, ListsExactlyTheRoutesEveryServiceRegisters) {
    std::vector<std::string> problems;
    const std::string yaml = ReadFile(SourcePath("docs/openapi.yaml"));
    ASSERT_FALSE(yaml.empty()) << "docs/openapi.yaml is missing or empty";
    const std::set<Route> documented = DocumentedRoutes(yaml, problems);
    for (const auto& problem : problems) {
        ADD_FAILURE() << "docs/openapi.yaml " << problem;
    }
    const std::set<Route> registered = RegisteredRoutes();
    ASSERT_GE(registered.size(), 25U);  // 14 standard + 11 of the services: the tables were built
    for (const Route& route : registered) {
        EXPECT_TRUE(documented.contains(route))
            << Describe(route) << " is registered but not in docs/openapi.yaml";
    }
    for (const Route& route : documented) {
        EXPECT_TRUE(registered.contains(route))
            << Describe(route) << " is in docs/openapi.yaml but no service registers it";
    }
}

TEST(OpenApiDocument, CompositionRootsAddNoRoutesOfTheirOwn) {
    // The route tables above come from each API's AddRoutes; a route added directly in a
    // composition root would escape the comparison.
    for (const auto& entry :
         std::filesystem::recursive_directory_iterator(SourcePath("services"))) {
        const std::string name = entry.path().filename().string();
        if (name.ends_with("_service.cpp")) {
            EXPECT_EQ(ReadFile(entry.path().string()).find("Routes().Add("), std::string::npos)
                << entry.path() << " adds a route itself; add it in its API's AddRoutes";
        }
    }
}

TEST(OpenApiDocument, LineReaderRefusesALayoutItCannotRead) {
    std::vector<std::string> problems;
    const auto routes = DocumentedRoutes(
        "paths:\n"
        "  /a:\n"
        "    servers:\n"
        "      - url: http://127.0.0.1:8000\n"
        "    get:\n"
        "      responses: {}\n"
        "  b: {}\n"
        "  /c:\n"
        "    post:\n"
        "components:\n"
        "  /d:\n"
        "    get:\n",
        problems
    );
    EXPECT_EQ(routes, (std::set<Route>{{"GET", "/a", 8000}}));
    ASSERT_EQ(problems.size(), 2U);
    EXPECT_NE(problems[0].find("not a path"), std::string::npos);
    EXPECT_NE(problems[1].find("/c: no servers"), std::string::npos);
}

}  // namespace
}  // namespace sagapay
