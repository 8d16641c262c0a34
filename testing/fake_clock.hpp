#pragma once

#include <chrono>
#include <mutex>

#include "core/clock.hpp"

namespace sagapay::testing {

/// A Clock that moves only when a test moves it. Starts at 2026-01-01T00:00:00Z. Thread-safe.
class FakeClock final : public Clock {
public:
    FakeClock() = default;
    explicit FakeClock(TimePoint start) : now_(start) {}

    // Clock
    [[nodiscard]] TimePoint Now() const override {
        const std::lock_guard lock(mutex_);
        return now_;
    }

    void Advance(std::chrono::system_clock::duration by) {
        const std::lock_guard lock(mutex_);
        now_ += by;
    }
    void Set(TimePoint to) {
        const std::lock_guard lock(mutex_);
        now_ = to;
    }

    static constexpr TimePoint kStart =
        TimePoint(std::chrono::seconds(1'767'225'600));  // 2026-01-01T00:00:00Z

private:
    mutable std::mutex mutex_;
    TimePoint now_ = kStart;
};

}  // namespace sagapay::testing
