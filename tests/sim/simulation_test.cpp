#include "tests/sim/simulation.hpp"

#include <cstdint>
#include <cstdio>
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

TEST(Simulation, FaultsAreInjectedOfEveryKindAndTheMerchantTakesEveryPath) {
    std::map<std::string, std::int64_t> seen;
    std::map<std::string, std::int64_t> did;
    for (std::uint64_t seed = 1; seed <= 200; ++seed) {
        const Result r = Simulate(Seed(seed));
        for (const auto& [kind, count] : r.faults) {
            seen[kind] += count;
        }
        for (const auto& [what, count] : r.activity) {
            did[what] += count;
        }
    }
    for (const auto& [what, count] : did) {
        std::printf("activity %-40s %lld\n", what.c_str(), static_cast<long long>(count));
    }
    // Manual capture (all, part, another amount refused), cancel (and its replay), the capture
    // window's void; refunds made, replayed, refused (more than is left, a key reused), and
    // ended by the PSP.
    for (const char* what :
         {"manual_captured_all",
          "manual_captured_part",
          "manual_capture_other_amount_409",
          "manual_canceled",
          "manual_cancel_replayed",
          "manual_voided_at_window_end",
          "refund_made",
          "refund_replayed",
          "refund_key_reused_422",
          "refund_refused_refund_exceeds_captured",
          "refund_succeeded",
          "refund_failed"}) {
        EXPECT_GT(did[what], 0) << what;
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
          "replay_refused",
          "merchant_call_crash_before_commit",
          "merchant_answer_lost",
          "merchant_sent_again",
          "refund_worker_crash_in_claim",
          "refund_worker_crash_before_record",
          "psp_refund_declined"}) {
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
