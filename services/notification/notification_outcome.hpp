#pragma once

#include <optional>
#include <string_view>

namespace sagapay::notification {

/// A payment outcome a customer is told about (the `outcome` column).
enum class Outcome { kSettled, kFailed, kReversed };

[[nodiscard]] std::string_view ToString(Outcome outcome) noexcept;  ///< SETTLED, FAILED, REVERSED

/// The outcome a terminal event announces: payments.settled → SETTLED, payments.failed (provider
/// or risk) → FAILED, payments.reversed → REVERSED; nullopt for any other topic. Pure.
[[nodiscard]] std::optional<Outcome> OutcomeOf(std::string_view event_type) noexcept;

}  // namespace sagapay::notification
