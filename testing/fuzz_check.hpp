#pragma once

// For libFuzzer targets (`*_fuzz.cpp`): a property that fails stops the run as a crash, so
// libFuzzer saves the input (scripts/fuzz.sh leaves it in build/fuzz/artifacts/<target>/).

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <utility>

namespace sagapay::fuzz {

/// The fuzzer's bytes as text.
[[nodiscard]] inline std::string_view AsText(const std::uint8_t* data, std::size_t size) noexcept {
    return {reinterpret_cast<const char*>(data), size};
}

/// Aborts with `what` (and the text it is about, escaped) when `ok` is false.
inline void Check(bool ok, std::string_view what, std::string_view about = {}) {
    if (ok) {
        return;
    }
    std::string line = "fuzz property violated: " + std::string(what);
    if (!about.empty()) {
        line += " [";
        for (const char c : about) {
            const auto byte = static_cast<unsigned char>(c);
            if (byte >= 0x20 && byte < 0x7f && c != '\\') {
                line.push_back(c);
            } else {
                char escaped[8];
                std::snprintf(escaped, sizeof escaped, "\\x%02x", byte);
                line += escaped;
            }
        }
        line += "]";
    }
    line += "\n";
    std::fwrite(line.data(), 1, line.size(), stderr);
    std::abort();
}

/// Splits `text` at the first `separator`: {before, after}; {text, ""} when there is none.
[[nodiscard]] inline std::pair<std::string_view, std::string_view> SplitOnce(
    std::string_view text, char separator
) noexcept {
    const std::size_t at = text.find(separator);
    if (at == std::string_view::npos) {
        return {text, {}};
    }
    return {text.substr(0, at), text.substr(at + 1)};
}

}  // namespace sagapay::fuzz
