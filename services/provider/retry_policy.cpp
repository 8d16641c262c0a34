#include "services/provider/retry_policy.hpp"

#include <algorithm>

namespace sagapay::provider {

Action AfterAuthorize(
    int attempt, PspOutcome outcome, Clock::TimePoint now, const RetryPolicy& policy
) {
    switch (outcome) {
        case PspOutcome::kAuthorized:
        case PspOutcome::kCaptured:
            return {ActionKind::kAuthorized, {}, attempt};
        case PspOutcome::kDeclined:
            return {ActionKind::kDeclined, {}, attempt};
        case PspOutcome::kVoided:
        case PspOutcome::kRefunded:
            // Released since: this key can never authorize again, so the payment fails.
            return {ActionKind::kGiveUp, {}, attempt};
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

std::chrono::milliseconds StepRetryDelay(int retries, const RetryPolicy& policy) {
    auto delay = policy.backoff.empty() ? std::chrono::milliseconds(1000) : policy.backoff.front();
    for (int i = 0; i < retries && delay < policy.step_retry_cap; ++i) {
        delay *= 2;
    }
    return std::min(delay, policy.step_retry_cap);
}

std::optional<Clock::TimePoint> NextJanitorCheck(
    int checks_done, Clock::TimePoint now, const RetryPolicy& policy
) {
    if (checks_done < 0 || checks_done >= static_cast<int>(policy.janitor_checks.size())) {
        return std::nullopt;
    }
    return now + policy.janitor_checks[static_cast<std::size_t>(checks_done)];
}

Action AfterInquiry(
    int attempts, PspOutcome inquiry, Clock::TimePoint now, const RetryPolicy& policy
) {
    switch (inquiry) {
        case PspOutcome::kAuthorized:
        case PspOutcome::kCaptured:
            return {ActionKind::kAuthorized, {}, attempts};
        case PspOutcome::kDeclined:
            return {ActionKind::kDeclined, {}, attempts};
        case PspOutcome::kVoided:
        case PspOutcome::kRefunded:
            // Voided earlier (say by a give-up whose record was lost): never read as authorized.
            return {ActionKind::kGiveUp, {}, attempts};
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
