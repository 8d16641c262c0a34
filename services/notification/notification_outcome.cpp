#include "services/notification/notification_outcome.hpp"

#include "core/messaging/topics.hpp"

namespace sagapay::notification {

std::string_view ToString(Outcome outcome) noexcept {
    switch (outcome) {
        case Outcome::kSettled:
            return "SETTLED";
        case Outcome::kFailed:
            return "FAILED";
        case Outcome::kReversed:
            return "REVERSED";
        case Outcome::kPartiallyRefunded:
            return "PARTIALLY_REFUNDED";
        case Outcome::kRefunded:
            return "REFUNDED";
        case Outcome::kRefundFailed:
            return "REFUND_FAILED";
    }
    return "FAILED";
}

bool IsRefundOutcome(Outcome outcome) noexcept {
    return outcome == Outcome::kPartiallyRefunded || outcome == Outcome::kRefunded ||
           outcome == Outcome::kRefundFailed;
}

std::optional<Outcome> OutcomeOf(std::string_view event_type) noexcept {
    if (event_type == topics::kPaymentsSettled) {
        return Outcome::kSettled;
    }
    if (event_type == topics::kPaymentsFailed) {
        return Outcome::kFailed;
    }
    if (event_type == topics::kPaymentsReversed) {
        return Outcome::kReversed;
    }
    return std::nullopt;
}

Outcome RefundOutcomeOf(std::int64_t refunded_total_minor, std::int64_t captured_minor) noexcept {
    return captured_minor > 0 && refunded_total_minor >= captured_minor
               ? Outcome::kRefunded
               : Outcome::kPartiallyRefunded;
}

}  // namespace sagapay::notification
