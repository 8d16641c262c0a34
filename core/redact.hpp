#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace sagapay {

/// `url` with every password replaced by `***`, safe to log: the userinfo password of a URI
/// (`redis://user:secret@host`, `postgresql://u:secret@h/db`), `password=` query parameters
/// (`postgresql://u@h/db?password=secret`) and `password=` pairs of a libpq keyword/value string
/// (`host=h password=secret`, also quoted).
[[nodiscard]] std::string RedactUrlPassword(std::string_view url);

/// Where a password value is in a text: [begin, end) offsets.
struct TextRange {
    std::size_t begin = 0;
    std::size_t end = 0;
};

/// The password values of `url` that RedactUrlPassword masks, in order: the URI userinfo
/// password and `password=` query parameters, or the `password=` values of a keyword/value
/// string (a quoted value with its quotes).
[[nodiscard]] std::vector<TextRange> PasswordRanges(std::string_view url);

}  // namespace sagapay
