#include "services/risk/risk_rules.hpp"

namespace sagapay::risk {

RiskDecision Decide(const RiskInput& input, const RiskThresholds& t) noexcept {
    if (input.payments_last_hour > t.deny_frequency) {
        return {Verdict::kDeny, "high_frequency"};
    }
    if (input.amount_minor > t.review_amount) {
        return {Verdict::kReview, "high_amount"};
    }
    if (input.failed_attempts >= t.failed_attempts) {
        return {Verdict::kReview, "multiple_failed_attempts"};
    }
    if (input.payments_last_hour > t.velocity) {
        return {Verdict::kReview, "velocity_threshold"};
    }
    return {Verdict::kApprove, "rule_passed"};
}

}  // namespace sagapay::risk
