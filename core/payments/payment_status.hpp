#pragma once

#include <optional>
#include <span>
#include <string_view>

namespace sagapay {

/// A payment's state in the saga (the seed's eight states and names, and the two of refunds).
enum class PaymentStatus {
    kCreated,
    kRiskReview,
    kApproved,
    kAuthorized,
    kCaptured,
    kSettled,
    kFailed,
    kReversed,
    kPartiallyRefunded,  ///< Settled, and part of the captured amount given back.
    kRefunded,           ///< Settled, and all of the captured amount given back.
};

[[nodiscard]] std::string_view ToString(PaymentStatus status) noexcept;
[[nodiscard]] std::optional<PaymentStatus> ParsePaymentStatus(std::string_view text) noexcept;

/// The seed's ALLOWED_TRANSITIONS: CREATED → RISK_REVIEW|APPROVED|FAILED; RISK_REVIEW →
/// APPROVED|FAILED; APPROVED → AUTHORIZED|FAILED; AUTHORIZED → CAPTURED|FAILED|REVERSED;
/// CAPTURED → SETTLED|FAILED|REVERSED; FAILED → REVERSED; REVERSED is final. Refunds (not in
/// the seed): SETTLED → PARTIALLY_REFUNDED|REFUNDED; PARTIALLY_REFUNDED → REFUNDED; REFUNDED is
/// final. A self-transition is never allowed (a second partial refund changes no status).
[[nodiscard]] bool CanTransition(PaymentStatus from, PaymentStatus to) noexcept;

/// The saga is done with the payment: SETTLED (or refunded since), FAILED, REVERSED. Only
/// compensation (FAILED → REVERSED) and refunds (from SETTLED) lead on from here.
[[nodiscard]] bool IsTerminal(PaymentStatus status) noexcept;

/// Every state, in declaration order (for tables and tests).
[[nodiscard]] std::span<const PaymentStatus> AllPaymentStatuses() noexcept;

}  // namespace sagapay
