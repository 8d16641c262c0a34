#include "services/provider/psp_worker.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include <gtest/gtest.h>

#include "testing/service_test.hpp"

namespace sagapay::provider {
namespace {

using namespace std::chrono_literals;
using ::sagapay::testing::Eventually;

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

TEST(WakeSignal, WakeUpsBeforeTheWokenWorkerLooksWakeOnlyThatOne) {
    WakeSignal wake;
    std::atomic<int> woken{0};
    std::atomic<int> taken{0};
    // Holds the woken worker before its Take until the test says so (or the thread is stopped).
    std::mutex gate_mutex;
    std::condition_variable_any gate;
    bool may_take = false;
    const auto worker = [&](const std::stop_token& stop) {  // as RunPspWorker: wait, take, claim
        wake.WaitFor(stop, 30s);
        woken.fetch_add(1);
        {
            std::unique_lock lock(gate_mutex);
            if (!gate.wait(lock, stop, [&] { return may_take; })) {
                return;
            }
        }
        wake.Take();
        taken.fetch_add(1);
    };
    std::jthread first(worker);
    std::jthread second(worker);
    ASSERT_TRUE(Eventually([&] { return wake.Waiting() == 2; }));

    // A consumer's batch announces three payments: one worker's claim will see all three.
    wake.Notify();
    wake.Notify();
    wake.Notify();

    ASSERT_TRUE(Eventually([&] { return woken.load() == 1; }));
    // A second worker woken by the same announcements would return within this window.
    EXPECT_FALSE(Eventually([&] { return woken.load() > 1; }, 200ms));
    EXPECT_EQ(wake.Waiting(), 1);

    // The woken worker takes the wake-up and looks: the next payment wakes the other.
    {
        const std::lock_guard lock(gate_mutex);
        may_take = true;
    }
    gate.notify_all();
    ASSERT_TRUE(Eventually([&] { return taken.load() == 1; }));
    wake.Notify();
    EXPECT_TRUE(Eventually([&] { return woken.load() == 2; }));
}

}  // namespace
}  // namespace sagapay::provider
