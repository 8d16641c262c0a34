#include "services/provider/psp_worker.hpp"

#include <atomic>
#include <chrono>
#include <functional>
#include <thread>

#include <gtest/gtest.h>

namespace sagapay::provider {
namespace {

using namespace std::chrono_literals;

TEST(WakeSignal, ANotifyEndsTheWait) {
    WakeSignal wake;
    std::jthread notifier([&] {
        std::this_thread::sleep_for(20ms);
        wake.Notify();
    });
    const auto started = std::chrono::steady_clock::now();

    wake.WaitFor(std::stop_token(), 10s);

    EXPECT_LT(std::chrono::steady_clock::now() - started, 5s);
}

TEST(WakeSignal, ANotifyBeforeTheWaitIsNotLost) {
    WakeSignal wake;
    wake.Notify();
    const auto started = std::chrono::steady_clock::now();

    wake.WaitFor(std::stop_token(), 10s);

    EXPECT_LT(std::chrono::steady_clock::now() - started, 5s);
}

TEST(WakeSignal, ATakenWakeUpNoLongerEndsAWait) {
    WakeSignal wake;
    wake.Notify();
    wake.Take();  // another worker looks for the payment
    const auto started = std::chrono::steady_clock::now();

    wake.WaitFor(std::stop_token(), 50ms);

    EXPECT_GE(std::chrono::steady_clock::now() - started, 50ms);
}

TEST(WakeSignal, WithoutANotifyTheWaitTimesOutOrStops) {
    WakeSignal wake;
    const auto started = std::chrono::steady_clock::now();
    wake.WaitFor(std::stop_token(), 20ms);
    EXPECT_GE(std::chrono::steady_clock::now() - started, 20ms);

    std::stop_source stop;
    stop.request_stop();
    wake.WaitFor(stop.get_token(), 10s);  // returns at once
}

/// Polls `done` for up to 5 s.
bool Within5s(const std::function<bool()>& done) {
    const auto until = std::chrono::steady_clock::now() + 5s;
    while (!done()) {
        if (std::chrono::steady_clock::now() > until) {
            return false;
        }
        std::this_thread::sleep_for(1ms);
    }
    return true;
}

TEST(WakeSignal, WakeUpsBeforeTheWokenWorkerLooksWakeOnlyThatOne) {
    WakeSignal wake;
    std::atomic<int> woken{0};
    const auto worker = [&](const std::stop_token& stop) {  // as RunPspWorker: wait, take, claim
        wake.WaitFor(stop, 30s);
        wake.Take();
        woken.fetch_add(1);
    };
    std::jthread first(worker);
    std::jthread second(worker);
    ASSERT_TRUE(Within5s([&] { return wake.Waiting() == 2; }));

    // A consumer's batch announces three payments: one worker's claim will see all three.
    wake.Notify();
    wake.Notify();
    wake.Notify();

    ASSERT_TRUE(Within5s([&] { return woken.load() == 1; }));
    std::this_thread::sleep_for(100ms);
    EXPECT_EQ(woken.load(), 1);
    EXPECT_EQ(wake.Waiting(), 1);

    // The woken worker took the wake-up and looks: the next payment wakes the other.
    wake.Notify();
    EXPECT_TRUE(Within5s([&] { return woken.load() == 2; }));
}

}  // namespace
}  // namespace sagapay::provider
