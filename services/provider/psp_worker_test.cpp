#include "services/provider/psp_worker.hpp"

#include <chrono>
#include <thread>

#include <gtest/gtest.h>

namespace sagapay::provider {
namespace {

using namespace std::chrono_literals;

TEST(WakeSignal, ANotifyAfterTheReadGenerationEndsTheWait) {
    WakeSignal wake;
    const auto seen = wake.Generation();
    std::jthread notifier([&] {
        std::this_thread::sleep_for(20ms);
        wake.Notify();
    });
    const auto started = std::chrono::steady_clock::now();

    wake.WaitFor(std::stop_token(), 10s, seen);

    EXPECT_LT(std::chrono::steady_clock::now() - started, 5s);
    EXPECT_EQ(wake.Generation(), seen + 1);
}

TEST(WakeSignal, ANotifyBeforeTheWaitIsNotLost) {
    WakeSignal wake;
    const auto seen = wake.Generation();
    wake.Notify();
    const auto started = std::chrono::steady_clock::now();

    wake.WaitFor(std::stop_token(), 10s, seen);

    EXPECT_LT(std::chrono::steady_clock::now() - started, 5s);
}

TEST(WakeSignal, WithoutANotifyTheWaitTimesOutOrStops) {
    WakeSignal wake;
    const auto started = std::chrono::steady_clock::now();
    wake.WaitFor(std::stop_token(), 20ms, wake.Generation());
    EXPECT_GE(std::chrono::steady_clock::now() - started, 20ms);

    std::stop_source stop;
    stop.request_stop();
    wake.WaitFor(stop.get_token(), 10s, wake.Generation());  // returns at once
}

}  // namespace
}  // namespace sagapay::provider
