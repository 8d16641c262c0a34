#include "core/clock.hpp"

#include <charconv>
#include <ctime>

#include <fmt/format.h>

namespace sagapay {

std::string FormatIsoUtc(Clock::TimePoint t) {
    const auto micros =
        std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
    auto seconds = micros / 1'000'000;
    auto fraction = micros % 1'000'000;
    if (fraction < 0) {
        fraction += 1'000'000;
        seconds -= 1;
    }
    const auto as_time = static_cast<std::time_t>(seconds);
    std::tm tm{};
    gmtime_r(&as_time, &tm);
    return fmt::format(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}+00:00",
        tm.tm_year + 1900,
        tm.tm_mon + 1,
        tm.tm_mday,
        tm.tm_hour,
        tm.tm_min,
        tm.tm_sec,
        fraction
    );
}

namespace {

bool ReadInt(const std::string& text, std::size_t pos, std::size_t len, int& out) {
    if (pos + len > text.size()) {
        return false;
    }
    const char* first = text.data() + pos;
    const char* last = first + len;
    auto [ptr, ec] = std::from_chars(first, last, out);
    return ec == std::errc() && ptr == last;
}

}  // namespace

std::optional<Clock::TimePoint> ParseIsoUtc(const std::string& text) {
    // YYYY-MM-DDTHH:MM:SS[.ffffff](+00:00|Z)
    int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
    if (text.size() < 20 || !ReadInt(text, 0, 4, year) || text[4] != '-' ||
        !ReadInt(text, 5, 2, month) || text[7] != '-' || !ReadInt(text, 8, 2, day) ||
        (text[10] != 'T' && text[10] != ' ') || !ReadInt(text, 11, 2, hour) || text[13] != ':' ||
        !ReadInt(text, 14, 2, minute) || text[16] != ':' || !ReadInt(text, 17, 2, second)) {
        return std::nullopt;
    }
    std::size_t pos = 19;
    std::int64_t micros = 0;
    if (pos < text.size() && text[pos] == '.') {
        ++pos;
        int digits = 0;
        while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
            if (digits < 6) {
                micros = micros * 10 + (text[pos] - '0');
                ++digits;
            }
            ++pos;
        }
        for (; digits < 6; ++digits) {
            micros *= 10;
        }
    }
    const std::string rest = text.substr(pos);
    if (rest != "Z" && rest != "+00:00" && rest != "+0000") {
        return std::nullopt;
    }
    std::tm tm{};
    tm.tm_year = year - 1900;
    tm.tm_mon = month - 1;
    tm.tm_mday = day;
    tm.tm_hour = hour;
    tm.tm_min = minute;
    tm.tm_sec = second;
    const std::time_t seconds = timegm(&tm);
    return Clock::TimePoint(std::chrono::seconds(seconds)) + std::chrono::microseconds(micros);
}

}  // namespace sagapay
