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
    }
    return "FAILED";
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

}  // namespace sagapay::notification
