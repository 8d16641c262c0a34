#include "app/replicas.hpp"

#include <gtest/gtest.h>

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

TEST(CheckPorts, RefusesASharedOrImpossiblePort) {
    EXPECT_TRUE(CheckPorts({{"gateway", 8000}, {"gateway-1", 8100}, {"psp-sandbox", 8006}}));
    const auto shared = CheckPorts({{"gateway-1", 8100}, {"orchestrator", 8100}});
    ASSERT_FALSE(shared.has_value());
    EXPECT_NE(shared.error().message.find("both listen on port 8100"), std::string::npos);
    EXPECT_FALSE(CheckPorts({{"gateway-15", 65600}}).has_value());
}

}  // namespace
}  // namespace sagapay::app
