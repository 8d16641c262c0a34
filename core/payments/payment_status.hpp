#pragma once

#include <optional>
#include <span>
#include <string_view>

namespace sagapay {

/// A payment's state in the saga (the seed's eight states and names).
enum class PaymentStatus {
    kCreated,
    kRiskReview,
    kApproved,
    kAuthorized,
    kCaptured,
    kSettled,
    kFailed,
    kReversed,
};

[[nodiscard]] std::string_view ToString(PaymentStatus status) noexcept;
[[nodiscard]] std::optional<PaymentStatus> ParsePaymentStatus(std::string_view text) noexcept;

/// The seed's ALLOWED_TRANSITIONS: CREATED → RISK_REVIEW|APPROVED|FAILED; RISK_REVIEW →
/// APPROVED|FAILED; APPROVED → AUTHORIZED|FAILED; AUTHORIZED → CAPTURED|FAILED|REVERSED;
/// CAPTURED → SETTLED|FAILED|REVERSED; FAILED → REVERSED; SETTLED and REVERSED are final.
/// A self-transition is never allowed.
[[nodiscard]] bool CanTransition(PaymentStatus from, PaymentStatus to) noexcept;

/// No transition leads anywhere from here except FAILED → REVERSED (compensation).
[[nodiscard]] bool IsTerminal(PaymentStatus status) noexcept;

/// Every state, in declaration order (for tables and tests).
[[nodiscard]] std::span<const PaymentStatus> AllPaymentStatuses() noexcept;

}  // namespace sagapay
