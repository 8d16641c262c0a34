#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace sagapay::notification {

/// An outcome a customer is told about (the `outcome` column): a payment's (SETTLED, FAILED,
/// REVERSED), or a refund's (PARTIALLY_REFUNDED or REFUNDED: the refund succeeded and left part
/// or none of the capture; REFUND_FAILED: the PSP refused it).
enum class Outcome { kSettled, kFailed, kReversed, kPartiallyRefunded, kRefunded, kRefundFailed };

/// SETTLED, FAILED, REVERSED, PARTIALLY_REFUNDED, REFUNDED, REFUND_FAILED
[[nodiscard]] std::string_view ToString(Outcome outcome) noexcept;

/// True for the outcomes of a refund (recorded once per refund, not once per payment).
[[nodiscard]] bool IsRefundOutcome(Outcome outcome) noexcept;

/// The outcome a terminal event announces: payments.settled → SETTLED, payments.failed (provider
/// or risk) → FAILED, payments.reversed → REVERSED; nullopt for any other topic (refund topics
/// included: their outcome needs the payload, RefundOutcomeOf). Pure.
[[nodiscard]] std::optional<Outcome> OutcomeOf(std::string_view event_type) noexcept;

/// The outcome of a refund that succeeded: REFUNDED when the payment's refunds now add up to
/// what was captured (`refunded_total_minor` >= `captured_minor` > 0), else PARTIALLY_REFUNDED
/// (the payment's status after it). Pure.
[[nodiscard]] Outcome RefundOutcomeOf(
    std::int64_t refunded_total_minor, std::int64_t captured_minor
) noexcept;

}  // namespace sagapay::notification
