#include "app/replicas.hpp"

#include <algorithm>
#include <cstdlib>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace sagapay::app {
namespace {

TEST(ParseReplicas, ReadsServiceCountPairs) {
    const auto parsed = ParseReplicas("orchestrator=2, provider=3,gateway=1");
    ASSERT_TRUE(parsed.has_value()) << parsed.error().message;
    EXPECT_EQ(*parsed, (Replicas{{"gateway", 1}, {"orchestrator", 2}, {"provider", 3}}));
    EXPECT_EQ(InstancesOf(*parsed, "provider"), 3);
    EXPECT_EQ(InstancesOf(*parsed, "ledger"), 1);
}

TEST(ParseReplicas, EmptyIsOneOfEach) {
    const auto parsed = ParseReplicas("");
    ASSERT_TRUE(parsed.has_value());
    EXPECT_TRUE(parsed->empty());
}

TEST(ParseReplicas, EveryServiceButThePspCanHaveSixteen) {
    for (const std::string_view service : kReplicableServices) {
        const auto parsed = ParseReplicas(std::string(service) + "=16");
        ASSERT_TRUE(parsed.has_value()) << service;
        EXPECT_EQ(InstancesOf(*parsed, service), 16);
    }
}

TEST(ParseReplicas, RefusesWhatItCannotRunWithAMessageSayingWhy) {
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"orchestrator=0", "the count must be 1 to 16"},
        {"orchestrator=17", "the count must be 1 to 16"},
        {"orchestrator=-1", "the count must be 1 to 16"},
        {"orchestrator=two", "the count must be 1 to 16"},
        {"orchestrator=2x", "the count must be 1 to 16"},
        {"orchestrator=", "the count must be 1 to 16"},
        {"billing=2", "unknown service 'billing'"},
        {"psp-sandbox=2", "runs once"},
        {"orchestrator", "expected service=count"},
        {"orchestrator=2,", "expected service=count"},
        {"risk=2,risk=3", "'risk' is named twice"},
    };
    for (const auto& [text, message] : cases) {
        const auto parsed = ParseReplicas(text);
        ASSERT_FALSE(parsed.has_value()) << text;
        EXPECT_EQ(parsed.error().code, ErrorCode::kInvalidArgument);
        EXPECT_NE(parsed.error().message.find(message), std::string::npos)
            << text << ": " << parsed.error().message;
    }
}

TEST(InstancePort, TheFirstKeepsItsPortTheOthersStepByAHundred) {
    EXPECT_EQ(InstancePort(8001, 0), 8001);
    EXPECT_EQ(InstancePort(8001, 1), 8101);
    EXPECT_EQ(InstancePort(8005, 15), 9505);
    EXPECT_EQ(InstanceName("provider", 0), "provider");
    EXPECT_EQ(InstanceName("provider", 2), "provider-2");
}

int StandardPort(const ServicePort& service) {
    return service.standard_port;
}

TEST(PlanInstances, EveryInstanceInStartOrderWithItsPortAndAGatewayItsOrchestrator) {
    const auto instances =
        PlanInstances({{"gateway", 3}, {"orchestrator", 2}, {"provider", 2}}, StandardPort, false);
    std::vector<std::string> names;
    names.reserve(instances.size());
    for (const Instance& instance : instances) {
        names.push_back(instance.name + ":" + std::to_string(instance.port));
    }
    EXPECT_EQ(
        names,
        (std::vector<std::string>{
            "psp-sandbox:8006",
            "orchestrator:8001",
            "orchestrator-1:8101",
            "risk:8002",
            "provider:8003",
            "provider-1:8103",
            "ledger:8004",
            "notification:8005",
            "gateway:8000",
            "gateway-1:8100",
            "gateway-2:8200"})
    );
    using Env = std::vector<std::pair<std::string, std::string>>;
    EXPECT_EQ(instances[2].env, (Env{{"ORCHESTRATOR_PORT", "8101"}}));
    EXPECT_EQ(
        instances[9].env,
        (Env{{"GATEWAY_PORT", "8100"}, {"ORCHESTRATOR_URL", "http://127.0.0.1:8101"}})
    );
    EXPECT_EQ(
        instances[10].env,
        (Env{{"GATEWAY_PORT", "8200"}, {"ORCHESTRATOR_URL", "http://127.0.0.1:8001"}})
    );
    // An operator's ORCHESTRATOR_URL (a load balancer) is kept.
    const auto kept = PlanInstances({{"gateway", 2}}, StandardPort, true);
    EXPECT_EQ(kept.back().env, (Env{{"GATEWAY_PORT", "8100"}}));
    // Ports moved by *_PORT move their instances along.
    const auto moved = PlanInstances(
        {{"risk", 2}},
        [](const ServicePort& service) { return service.standard_port + 10000; },
        false
    );
    EXPECT_EQ(moved[2].port, 18002);
    EXPECT_EQ(moved[3].port, 18102);
}

TEST(CheckPorts, RefusesASharedOrImpossiblePort) {
    EXPECT_TRUE(CheckPorts(PlanInstances({{"gateway", 16}}, StandardPort, false)));
    const auto shared = CheckPorts(PlanInstances(
        {{"gateway", 2}},
        [](const ServicePort& service) {
            return service.command == "orchestrator" ? 8100 : service.standard_port;
        },
        false
    ));
    ASSERT_FALSE(shared.has_value());
    EXPECT_NE(shared.error().message.find("both listen on port 8100"), std::string::npos)
        << shared.error().message;
    const auto high = CheckPorts(PlanInstances(
        {{"notification", 2}},
        [](const ServicePort& service) { return service.standard_port + 57500; },
        false
    ));
    EXPECT_FALSE(high.has_value());
}

TEST(EnvironmentWith, SetsTheOverridesOverThisProcesssEnvironment) {
    setenv("SAGAPAY_REPLICAS_TEST", "parent", 1);
    const auto env = EnvironmentWith({{"SAGAPAY_REPLICAS_TEST", "child"}, {"RISK_PORT", "8102"}});
    EXPECT_NE(std::find(env.begin(), env.end(), "SAGAPAY_REPLICAS_TEST=child"), env.end());
    EXPECT_NE(std::find(env.begin(), env.end(), "RISK_PORT=8102"), env.end());
    EXPECT_EQ(std::find(env.begin(), env.end(), "SAGAPAY_REPLICAS_TEST=parent"), env.end());
}

TEST(ScrapeTargets, OneGroupPerInstanceWithTheSeedsJobName) {
    const std::vector<Instance> instances = {
        {.command = "gateway", .name = "gateway", .port = 8000, .env = {}},
        {.command = "provider", .name = "provider-1", .port = 8103, .env = {}},
        {.command = "psp-sandbox", .name = "psp-sandbox", .port = 8006, .env = {}},
    };

    const auto groups = nlohmann::json::parse(ScrapeTargets(instances));

    ASSERT_EQ(groups.size(), 3U);
    EXPECT_EQ(groups[0]["targets"], nlohmann::json::array({"127.0.0.1:8000"}));
    EXPECT_EQ(groups[0]["labels"]["job"], "api-gateway");
    EXPECT_EQ(groups[1]["labels"]["job"], "provider-adapter");
    EXPECT_EQ(groups[1]["labels"]["instance_name"], "provider-1");
    EXPECT_EQ(groups[1]["targets"], nlohmann::json::array({"127.0.0.1:8103"}));
    EXPECT_EQ(groups[2]["labels"]["job"], "psp-sandbox");
}

}  // namespace
}  // namespace sagapay::app
