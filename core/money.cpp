#include "core/money.hpp"

#include <algorithm>
#include <array>

namespace sagapay {

namespace {

// Active ISO 4217 codes with their minor units, sorted by code for binary search.
constexpr std::array<CurrencyInfo, 64> kCurrencies = {{
    {"AED", 2}, {"ARS", 2}, {"AUD", 2}, {"BGN", 2}, {"BHD", 3}, {"BRL", 2}, {"CAD", 2}, {"CHF", 2},
    {"CLP", 0}, {"CNY", 2}, {"COP", 2}, {"CZK", 2}, {"DKK", 2}, {"EGP", 2}, {"EUR", 2}, {"GBP", 2},
    {"GHS", 2}, {"HKD", 2}, {"HUF", 2}, {"IDR", 2}, {"ILS", 2}, {"INR", 2}, {"IQD", 3}, {"ISK", 0},
    {"JOD", 3}, {"JPY", 0}, {"KES", 2}, {"KRW", 0}, {"KWD", 3}, {"KZT", 2}, {"LKR", 2}, {"LYD", 3},
    {"MAD", 2}, {"MXN", 2}, {"MYR", 2}, {"NGN", 2}, {"NOK", 2}, {"NZD", 2}, {"OMR", 3}, {"PEN", 2},
    {"PHP", 2}, {"PKR", 2}, {"PLN", 2}, {"PYG", 0}, {"QAR", 2}, {"RON", 2}, {"RSD", 2}, {"SAR", 2},
    {"SEK", 2}, {"SGD", 2}, {"THB", 2}, {"TND", 3}, {"TRY", 2}, {"TWD", 2}, {"UAH", 2}, {"UGX", 0},
    {"USD", 2}, {"UYU", 2}, {"VND", 0}, {"XAF", 0}, {"XOF", 0}, {"ZAR", 2}, {"ZMW", 2}, {"ZWL", 2},
}};

static_assert(std::is_sorted(
    kCurrencies.begin(),
    kCurrencies.end(),
    [](const auto& a, const auto& b) { return a.code < b.code; }
));

}  // namespace

std::optional<CurrencyInfo> FindCurrency(std::string_view code) noexcept {
    const auto it = std::lower_bound(
        kCurrencies.begin(),
        kCurrencies.end(),
        code,
        [](const CurrencyInfo& info, std::string_view c) { return info.code < c; }
    );
    if (it == kCurrencies.end() || it->code != code) {
        return std::nullopt;
    }
    return *it;
}

std::optional<Currency> Currency::Parse(std::string_view code) noexcept {
    const auto info = FindCurrency(code);
    if (!info) {
        return std::nullopt;
    }
    return Currency(*info);
}

}  // namespace sagapay
