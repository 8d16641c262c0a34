#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace sagapay {

/// An ISO 4217 currency this system accepts, with its number of minor units (USD 2, JPY 0,
/// KWD 3). Amounts are always integers in minor units: never floating point.
struct CurrencyInfo {
    std::string_view code;
    int minor_units;
};

/// The currency for an upper-case ISO 4217 code, or nullopt for anything else.
[[nodiscard]] std::optional<CurrencyInfo> FindCurrency(std::string_view code) noexcept;

/// The largest amount accepted for one payment, in minor units: 10^12 (ten billion USD). Sums
/// of up to ~9.2 million such payments still fit the ledger's int64 balances.
inline constexpr std::int64_t kMaxAmountMinor = 1'000'000'000'000;

/// a + b, or nullopt when it would overflow int64.
[[nodiscard]] constexpr std::optional<std::int64_t> CheckedAdd(
    std::int64_t a, std::int64_t b
) noexcept {
    std::int64_t out = 0;
    if (__builtin_add_overflow(a, b, &out)) {
        return std::nullopt;
    }
    return out;
}

}  // namespace sagapay
