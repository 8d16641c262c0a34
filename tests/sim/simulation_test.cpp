#include "tests/sim/simulation.hpp"

#include <cstdint>
#include <cstdlib>
#include <map>
#include <string>

#include <gtest/gtest.h>

#include "runtime/log.hpp"

namespace sagapay::sim {
namespace {

/// The services log every step; a simulation of thousands of payments shows only errors.
class QuietLogs : public ::testing::Environment {
public:
    void SetUp() override { log::Init("simulation", "ERROR"); }
};
const auto* const kQuietLogs = ::testing::AddGlobalTestEnvironment(new QuietLogs);

/// SAGAPAY_SIM_SEEDS, or 10,000: what CI runs on every change.
std::int64_t SeedsToRun() {
    const char* text = std::getenv("SAGAPAY_SIM_SEEDS");
    const std::int64_t seeds = text == nullptr ? 0 : std::atoll(text);
    return seeds > 0 ? seeds : 10'000;
}

Options Seed(std::uint64_t seed) {
    Options options;
    options.seed = seed;
    return options;
}

TEST(Simulation, ReplaysASeedExactly) {
    Options options;
    options.seed = 42;
    options.trace = true;
    const Result first = Simulate(options);
    const Result again = Simulate(options);
    EXPECT_EQ(first.trace, again.trace);
    EXPECT_EQ(first.faults, again.faults);
    EXPECT_EQ(first.steps, again.steps);
    EXPECT_FALSE(first.trace.empty());
}

TEST(Simulation, WithoutFaultsEveryPaymentEndsAndEveryPromiseHolds) {
    for (std::uint64_t seed = 1; seed <= 50; ++seed) {
        const Result r =
            Simulate({.seed = seed, .faults = false, .trace = false, .max_payments = 12});
        EXPECT_TRUE(r.Ok()) << r.Summary();
        EXPECT_TRUE(r.faults.empty() || r.faults.size() == r.faults.count("sweeper_redrive"))
            << "seed " << seed;
    }
}

TEST(Simulation, FaultsAreInjectedOfEveryKind) {
    std::map<std::string, std::int64_t> seen;
    for (std::uint64_t seed = 1; seed <= 200; ++seed) {
        for (const auto& [kind, count] : Simulate(Seed(seed)).faults) {
            seen[kind] += count;
        }
    }
    for (const char* kind :
         {"crash_before_commit",
          "crash_before_ack",
          "redelivery",
          "relay_crash_after_publish",
          "duplicate_publish",
          "worker_crash_in_claim",
          "worker_crash_before_record",
          "gateway_crash_before_commit",
          "gateway_answer_lost",
          "duplicate_post",
          "psp_lost_request",
          "psp_lost_response",
          "psp_503",
          "crash_after_psp_call",
          "sweeper_redrive",
          "replay",
          "replay_refused"}) {
        EXPECT_GT(seen[kind], 0) << kind;
    }
}

class SimulationShard : public ::testing::TestWithParam<int> {};

TEST_P(SimulationShard, EverySeedKeepsEveryPromise) {
    const std::int64_t seeds = SeedsToRun();
    const int shard = GetParam();
    int failures = 0;
    for (std::int64_t s = shard; s < seeds; s += SAGAPAY_SIM_SHARDS) {
        const Result r = Simulate(Seed(static_cast<std::uint64_t>(s) + 1));
        if (!r.Ok()) {
            ADD_FAILURE() << r.Summary();
            if (++failures >= 5) {
                break;
            }
        }
    }
}

INSTANTIATE_TEST_SUITE_P(Seeds, SimulationShard, ::testing::Range(0, SAGAPAY_SIM_SHARDS));

}  // namespace
}  // namespace sagapay::sim
