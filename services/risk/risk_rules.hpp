#pragma once

#include <cstdint>
#include <string_view>

#include "core/messaging/events.hpp"

namespace sagapay::risk {

/// The seed's thresholds (RISK_* environment variables).
struct RiskThresholds {
    std::int64_t deny_frequency = 50;     ///< RISK_DENY_FREQUENCY_THRESHOLD
    std::int64_t review_amount = 100000;  ///< RISK_REVIEW_AMOUNT_CENTS
    std::int64_t failed_attempts = 3;     ///< RISK_FAILED_ATTEMPTS_THRESHOLD
    std::int64_t velocity = 20;           ///< RISK_VELOCITY_PER_HOUR
};

struct RiskInput {
    std::int64_t amount_minor = 0;
    std::int64_t payments_last_hour =
        0;  ///< This customer's payments in the sliding hour, this one included.
    std::int64_t failed_attempts = 0;  ///< Provider declines of this customer in the window.
};

struct RiskDecision {
    Verdict verdict = Verdict::kApprove;
    std::string_view reason;  ///< high_frequency, high_amount, multiple_failed_attempts,
                              ///< velocity_threshold, rule_passed
};

/// The seed's rules, first match wins: count > deny_frequency → DENY high_frequency; amount >
/// review_amount → REVIEW high_amount; failed attempts ≥ threshold → REVIEW
/// multiple_failed_attempts; count > velocity → REVIEW velocity_threshold; else APPROVE
/// rule_passed. Pure.
[[nodiscard]] RiskDecision Decide(
    const RiskInput& input, const RiskThresholds& thresholds
) noexcept;

}  // namespace sagapay::risk
