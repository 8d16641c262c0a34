#pragma once

#include <string>
#include <string_view>

namespace sagapay {

/// `url` with every password replaced by `***`, safe to log: the userinfo password of a URI
/// (`redis://user:secret@host`, `postgresql://u:secret@h/db`), `password=` query parameters
/// (`postgresql://u@h/db?password=secret`) and `password=` pairs of a libpq keyword/value string
/// (`host=h password=secret`, also quoted).
[[nodiscard]] std::string RedactUrlPassword(std::string_view url);

}  // namespace sagapay
