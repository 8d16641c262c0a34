#include "services/risk/risk_rules.hpp"

namespace sagapay::risk {

std::string_view ToString(RiskVerdict verdict) noexcept {
    switch (verdict) {
        case RiskVerdict::kApprove:
            return "APPROVE";
        case RiskVerdict::kReview:
            return "REVIEW";
        case RiskVerdict::kDeny:
            return "DENY";
    }
    return "DENY";
}

RiskDecision Decide(const RiskInput& input, const RiskThresholds& t) noexcept {
    if (input.payments_last_hour > t.deny_frequency) {
        return {RiskVerdict::kDeny, "high_frequency"};
    }
    if (input.amount_cents > t.review_amount) {
        return {RiskVerdict::kReview, "high_amount"};
    }
    if (input.failed_attempts >= t.failed_attempts) {
        return {RiskVerdict::kReview, "multiple_failed_attempts"};
    }
    if (input.payments_last_hour > t.velocity) {
        return {RiskVerdict::kReview, "velocity_threshold"};
    }
    return {RiskVerdict::kApprove, "rule_passed"};
}

}  // namespace sagapay::risk
