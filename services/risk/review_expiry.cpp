#include "services/risk/review_expiry.hpp"

#include "runtime/log.hpp"
#include "runtime/wait.hpp"

namespace sagapay::risk {

std::int64_t ReviewExpiry::RunOnce() {
    std::int64_t denied = 0;
    units_.Run([&](RiskStore& store, Outbox& outbox) {
        const auto expired = store.ExpireReviews(options_.expire_after, options_.batch);
        for (const ExpiredReview& review : expired) {
            RiskDenied event;
            event.decision = Verdict::kDeny;
            event.reason = "manual_deny";
            event.customer_id = review.customer_id;
            // No reviewed_at: the seed's expiry event never carried one.
            event.review =
                ManualReview{"system:expiry", "", std::string(ToString(ReviewStatus::kDenied))};
            Envelope envelope = NewEnvelope(event, review.payment_id, review.trace_id, clock_);
            // The review row names the event that announced it.
            envelope.event_id = review.decision_event_id.Value();
            outbox.Append(std::move(envelope));
        }
        denied = static_cast<std::int64_t>(expired.size());
    });
    return denied;
}

void ReviewExpiry::Run(const std::stop_token& stop) {
    if (!Enabled()) {
        return;
    }
    while (!WaitFor(stop, options_.interval)) {
        try {
            RunOnce();
        } catch (const std::exception& e) {
            log::Error("review expiry failed", {{"error", e.what()}});
        }
    }
}

}  // namespace sagapay::risk
