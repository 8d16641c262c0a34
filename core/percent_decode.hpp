#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace sagapay {

/// The value of one hexadecimal digit, -1 for anything else.
[[nodiscard]] int HexDigitValue(char c) noexcept;

/// `text` with every `%XX` escape decoded (`%40` is `@`); nullopt when an escape is broken (a
/// `%` not followed by two hexadecimal digits). `+` stays `+` (this is not form decoding).
[[nodiscard]] std::optional<std::string> PercentDecode(std::string_view text);

}  // namespace sagapay
