#include "core/ports/event_bus.hpp"

#include <charconv>
#include <cstdint>
#include <utility>

namespace sagapay {
namespace {

/// `ms-seq` as a pair; (0, 0) for anything else.
std::pair<std::uint64_t, std::uint64_t> Split(std::string_view position) {
    const std::size_t dash = position.find('-');
    if (dash == std::string_view::npos) {
        return {0, 0};
    }
    std::uint64_t ms = 0;
    std::uint64_t seq = 0;
    const char* begin = position.data();
    const char* middle = begin + dash;
    const char* end = begin + position.size();
    const auto first = std::from_chars(begin, middle, ms);
    const auto second = std::from_chars(middle + 1, end, seq);
    if (first.ec != std::errc() || first.ptr != middle || second.ec != std::errc() ||
        second.ptr != end) {
        return {0, 0};
    }
    return {ms, seq};
}

}  // namespace

int CompareBusPositions(std::string_view a, std::string_view b) noexcept {
    const auto left = Split(a);
    const auto right = Split(b);
    if (left == right) {
        return 0;
    }
    return left < right ? -1 : 1;
}

}  // namespace sagapay
