#include "services/orchestrator/admission_gate.hpp"

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace sagapay::orchestrator {
namespace {

using namespace std::chrono_literals;
using Verdict = AdmissionGate::Verdict;

TEST(AdmissionGate, NoLimitAdmitsEverything) {
    AdmissionGate gate({.limit = 0, .max_wait = 0ms, .max_waiting = 4});
    for (int i = 0; i < 10'000; ++i) {
        ASSERT_EQ(gate.Enter(), Verdict::kAdmitted);
    }
    EXPECT_EQ(gate.Estimate(), 10'000);
}

TEST(AdmissionGate, AdmitsUpToTheLimitThenRefusesWithoutWaitingLongerThanMaxWait) {
    AdmissionGate gate({.limit = 3, .max_wait = 20ms, .max_waiting = 4});
    EXPECT_EQ(gate.Enter(), Verdict::kAdmitted);
    EXPECT_EQ(gate.Enter(), Verdict::kAdmitted);
    EXPECT_EQ(gate.Enter(), Verdict::kAdmitted);
    const auto started = std::chrono::steady_clock::now();
    EXPECT_EQ(gate.Enter(), Verdict::kRefused);
    const auto waited = std::chrono::steady_clock::now() - started;
    EXPECT_GE(waited, 20ms);
    EXPECT_LT(waited, 2s);
    EXPECT_EQ(gate.Estimate(), 3);
    EXPECT_EQ(gate.Waiting(), 0);
}

TEST(AdmissionGate, ARefreshReplacesTheEstimateWithTheDatabaseCount) {
    AdmissionGate gate({.limit = 2, .max_wait = 0ms, .max_waiting = 4});
    ASSERT_EQ(gate.Enter(), Verdict::kAdmitted);
    ASSERT_EQ(gate.Enter(), Verdict::kAdmitted);
    ASSERT_EQ(gate.Enter(), Verdict::kRefused);
    // Both payments finished: the database counts none in flight.
    gate.Refresh(0, gate.BeginRefresh());
    EXPECT_EQ(gate.Estimate(), 0);
    EXPECT_EQ(gate.Enter(), Verdict::kAdmitted);
}

TEST(AdmissionGate, AdmissionsDuringTheCountAreAddedOnTop) {
    AdmissionGate gate({.limit = 100, .max_wait = 0ms, .max_waiting = 4});
    const std::int64_t begun = gate.BeginRefresh();
    // Two payments are admitted while the count query runs; it sees five others.
    ASSERT_EQ(gate.Enter(), Verdict::kAdmitted);
    ASSERT_EQ(gate.Enter(), Verdict::kAdmitted);
    gate.Refresh(5, begun);
    EXPECT_EQ(gate.Estimate(), 7);
}

TEST(AdmissionGate, AWaitingRequestIsAdmittedAsSoonAsARefreshMakesRoom) {
    AdmissionGate gate({.limit = 1, .max_wait = 10s, .max_waiting = 4});
    ASSERT_EQ(gate.Enter(), Verdict::kAdmitted);
    std::atomic<bool> admitted{false};
    std::jthread waiter([&] { admitted = gate.Enter() == Verdict::kAdmittedAfterWaiting; });
    while (gate.Waiting() == 0) {
        std::this_thread::yield();
    }
    EXPECT_FALSE(admitted.load());
    const auto started = std::chrono::steady_clock::now();
    gate.Refresh(0, gate.BeginRefresh());
    waiter.join();
    EXPECT_TRUE(admitted.load());
    EXPECT_LT(std::chrono::steady_clock::now() - started, 5s);
    EXPECT_EQ(gate.Estimate(), 1);
}

TEST(AdmissionGate, ARefreshThatLeavesNoRoomKeepsWaitersWaiting) {
    AdmissionGate gate({.limit = 1, .max_wait = 50ms, .max_waiting = 4});
    ASSERT_EQ(gate.Enter(), Verdict::kAdmitted);
    std::atomic<int> verdict{-1};
    std::jthread waiter([&] { verdict = static_cast<int>(gate.Enter()); });
    while (gate.Waiting() == 0) {
        std::this_thread::yield();
    }
    gate.Refresh(1, gate.BeginRefresh());
    waiter.join();
    EXPECT_EQ(verdict.load(), static_cast<int>(Verdict::kRefused));
}

TEST(AdmissionGate, PastMaxWaitingAFullGateRefusesAtOnce) {
    AdmissionGate gate({.limit = 1, .max_wait = 10s, .max_waiting = 1});
    ASSERT_EQ(gate.Enter(), Verdict::kAdmitted);
    std::atomic<int> verdict{-1};
    std::jthread waiter([&] { verdict = static_cast<int>(gate.Enter()); });
    while (gate.Waiting() == 0) {
        std::this_thread::yield();
    }
    const auto started = std::chrono::steady_clock::now();
    EXPECT_EQ(gate.Enter(), Verdict::kRefused);
    EXPECT_LT(std::chrono::steady_clock::now() - started, 5s);  // not after max_wait
    EXPECT_EQ(gate.Waiting(), 1);
    gate.Refresh(0, gate.BeginRefresh());
    waiter.join();
    EXPECT_EQ(verdict.load(), static_cast<int>(Verdict::kAdmittedAfterWaiting));
    EXPECT_EQ(gate.Estimate(), 1);
}

TEST(AdmissionGate, ConcurrentEntriesNeverAdmitMoreThanTheLimitBetweenRefreshes) {
    AdmissionGate gate({.limit = 50, .max_wait = 0ms, .max_waiting = 4});
    std::atomic<int> admitted{0};
    {
        std::vector<std::jthread> threads;
        threads.reserve(8);
        for (int t = 0; t < 8; ++t) {
            threads.emplace_back([&] {
                for (int i = 0; i < 100; ++i) {
                    admitted += gate.Enter() == Verdict::kAdmitted ? 1 : 0;
                }
            });
        }
    }
    EXPECT_EQ(admitted.load(), 50);
    EXPECT_EQ(gate.Estimate(), 50);
}

}  // namespace
}  // namespace sagapay::orchestrator
