#pragma once

#include <cstdint>
#include <optional>
#include <string>
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

/// A currency this system accepts. Made only by Parse (or from a CurrencyInfo of the table), so
/// a Currency in hand is always a known ISO 4217 code; the default one is empty (unset).
class Currency {
public:
    Currency() = default;
    explicit Currency(CurrencyInfo info) noexcept : info_(info) {}

    /// The currency for an upper-case ISO 4217 code of the table; nullopt for anything else.
    [[nodiscard]] static std::optional<Currency> Parse(std::string_view code) noexcept;

    [[nodiscard]] std::string_view Code() const noexcept { return info_.code; }
    [[nodiscard]] std::string CodeString() const { return std::string(info_.code); }
    [[nodiscard]] int MinorUnits() const noexcept { return info_.minor_units; }
    [[nodiscard]] bool Empty() const noexcept { return info_.code.empty(); }

    friend bool operator==(const Currency& a, const Currency& b) noexcept {
        return a.info_.code == b.info_.code;
    }

private:
    CurrencyInfo info_{"", 0};
};

/// An amount of money: an integer number of minor units (cents for USD, yen for JPY) and its
/// currency. On the wire the amount keeps the seed's name, `amount_cents`.
struct Money {
    std::int64_t amount_minor = 0;
    Currency currency;

    friend bool operator==(const Money&, const Money&) = default;
};

/// An amount a payment may carry: from 1 to kMaxAmountMinor minor units in a known currency.
[[nodiscard]] constexpr bool IsPayableAmount(std::int64_t amount_minor) noexcept {
    return amount_minor >= 1 && amount_minor <= kMaxAmountMinor;
}

}  // namespace sagapay
