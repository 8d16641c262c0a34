#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sagapay::postgres {

/// One text-format statement parameter (NULL when empty).
class Param {
public:
    Param(std::nullopt_t) {}                              // NOLINT(google-explicit-constructor)
    Param(std::string_view v) : value_(v) {}              // NOLINT(google-explicit-constructor)
    Param(const std::string& v) : value_(v) {}            // NOLINT(google-explicit-constructor)
    Param(const char* v) : value_(v) {}                   // NOLINT(google-explicit-constructor)
    Param(std::int64_t v) : value_(std::to_string(v)) {}  // NOLINT(google-explicit-constructor)
    Param(int v) : value_(std::to_string(v)) {}           // NOLINT(google-explicit-constructor)
    Param(bool v) : value_(v ? "true" : "false") {}       // NOLINT(google-explicit-constructor)
    // NOLINTNEXTLINE(google-explicit-constructor,modernize-pass-by-value)
    Param(const std::optional<std::string>& v) : value_(v) {}
    [[nodiscard]] const char* Data() const noexcept { return value_ ? value_->c_str() : nullptr; }

private:
    std::optional<std::string> value_;
};

}  // namespace sagapay::postgres
