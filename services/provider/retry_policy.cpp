#include "services/provider/retry_policy.hpp"

namespace sagapay::provider {

Action AfterAuthorize(
    int attempt, PspOutcome outcome, Clock::TimePoint now, const RetryPolicy& policy
) {
    switch (outcome) {
        case PspOutcome::kAuthorized:
            return {ActionKind::kAuthorized, {}, attempt};
        case PspOutcome::kDeclined:
            return {ActionKind::kDeclined, {}, attempt};
        case PspOutcome::kUnknown:
        case PspOutcome::kNotFound: {
            const auto index = static_cast<std::size_t>(attempt > 0 ? attempt - 1 : 0);
            const auto wait =
                index < policy.backoff.size() ? policy.backoff[index] : policy.backoff.back();
            return {ActionKind::kRetryLater, now + wait, attempt};
        }
    }
    return {ActionKind::kGiveUp, {}, attempt};
}

Action AfterInquiry(
    int attempts, PspOutcome inquiry, Clock::TimePoint now, const RetryPolicy& policy
) {
    switch (inquiry) {
        case PspOutcome::kAuthorized:
            return {ActionKind::kAuthorized, {}, attempts};
        case PspOutcome::kDeclined:
            return {ActionKind::kDeclined, {}, attempts};
        case PspOutcome::kNotFound:
            if (attempts >= static_cast<int>(policy.backoff.size())) {
                return {ActionKind::kGiveUp, {}, attempts};
            }
            return {ActionKind::kAuthorizeNow, {}, attempts + 1};
        case PspOutcome::kUnknown: {
            // The inquiry itself got no answer: ask again, with the same budget as an attempt.
            if (attempts >= static_cast<int>(policy.backoff.size())) {
                return {ActionKind::kGiveUp, {}, attempts};
            }
            return AfterAuthorize(attempts, PspOutcome::kUnknown, now, policy);
        }
    }
    return {ActionKind::kGiveUp, {}, attempts};
}

}  // namespace sagapay::provider
