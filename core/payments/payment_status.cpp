#include "core/payments/payment_status.hpp"

#include <array>

namespace sagapay {

namespace {

constexpr std::array<PaymentStatus, 10> kAll = {
    PaymentStatus::kCreated,
    PaymentStatus::kRiskReview,
    PaymentStatus::kApproved,
    PaymentStatus::kAuthorized,
    PaymentStatus::kCaptured,
    PaymentStatus::kSettled,
    PaymentStatus::kFailed,
    PaymentStatus::kReversed,
    PaymentStatus::kPartiallyRefunded,
    PaymentStatus::kRefunded,
};

constexpr std::array<std::string_view, 10> kNames = {
    "CREATED",
    "RISK_REVIEW",
    "APPROVED",
    "AUTHORIZED",
    "CAPTURED",
    "SETTLED",
    "FAILED",
    "REVERSED",
    "PARTIALLY_REFUNDED",
    "REFUNDED",
};

}  // namespace

std::string_view ToString(PaymentStatus status) noexcept {
    return kNames[static_cast<std::size_t>(status)];
}

std::optional<PaymentStatus> ParsePaymentStatus(std::string_view text) noexcept {
    for (std::size_t i = 0; i < kNames.size(); ++i) {
        if (kNames[i] == text) {
            return kAll[i];
        }
    }
    return std::nullopt;
}

bool CanTransition(PaymentStatus from, PaymentStatus to) noexcept {
    using S = PaymentStatus;
    switch (from) {
        case S::kCreated:
            return to == S::kRiskReview || to == S::kApproved || to == S::kFailed;
        case S::kRiskReview:
            return to == S::kApproved || to == S::kFailed;
        case S::kApproved:
            return to == S::kAuthorized || to == S::kFailed;
        case S::kAuthorized:
        case S::kCaptured:
            return to == (from == S::kAuthorized ? S::kCaptured : S::kSettled) ||
                   to == S::kFailed || to == S::kReversed;
        case S::kFailed:
            return to == S::kReversed;
        case S::kSettled:
            return to == S::kPartiallyRefunded || to == S::kRefunded;
        case S::kPartiallyRefunded:
            return to == S::kRefunded;
        case S::kReversed:
        case S::kRefunded:
            return false;
    }
    return false;
}

bool IsTerminal(PaymentStatus status) noexcept {
    return status == PaymentStatus::kSettled || status == PaymentStatus::kFailed ||
           status == PaymentStatus::kReversed || status == PaymentStatus::kPartiallyRefunded ||
           status == PaymentStatus::kRefunded;
}

std::span<const PaymentStatus> AllPaymentStatuses() noexcept {
    return kAll;
}

}  // namespace sagapay
