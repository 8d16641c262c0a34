#pragma once

#include <chrono>
#include <optional>
#include <string>

namespace sagapay {

/// Port: the wall clock. Saga code takes a Clock& so tests can move time by hand.
class Clock {
public:
    using TimePoint = std::chrono::system_clock::time_point;
    virtual ~Clock() = default;
    [[nodiscard]] virtual TimePoint Now() const = 0;
};

class SystemClock final : public Clock {
public:
    [[nodiscard]] TimePoint Now() const override { return std::chrono::system_clock::now(); }
};

/// `2026-02-18T12:00:00.123456+00:00`, the seed's `occurred_at` format.
[[nodiscard]] std::string FormatIsoUtc(Clock::TimePoint t);

/// Parses the seed's format and a trailing `Z`; nullopt for anything else.
[[nodiscard]] std::optional<Clock::TimePoint> ParseIsoUtc(const std::string& text);

}  // namespace sagapay
