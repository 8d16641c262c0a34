#pragma once

#include "core/clock.hpp"
#include "core/messaging/envelope.hpp"
#include "core/ports/outbox.hpp"
#include "services/risk/risk_rules.hpp"
#include "services/risk/risk_store.hpp"
#include "services/risk/velocity_counter.hpp"

namespace sagapay::risk {

/// The risk service's event handlers. One decision per payment: the first delivery of
/// `payments.requested` counts the payment, applies the rules and records the decision (and a
/// review for REVIEW); every delivery, first or not, announces the recorded decision again, on
/// `risk.approved` (APPROVE) or `risk.denied` (REVIEW and DENY, as in the seed).
/// Provider declines (`payments.failed` with PROVIDER_DECLINE) feed the failed-attempts rule.
class RiskHandler {
public:
    RiskHandler(const Clock& clock, VelocityCounter& velocity, RiskThresholds thresholds) noexcept
        : clock_(clock), velocity_(velocity), thresholds_(thresholds) {}

    /// payments.requested. Throws PermanentEventError for a payload that is not a payment request
    /// or an aggregate id that is not a payment id.
    void OnPaymentRequested(RiskStore& store, Outbox& outbox, const Envelope& event);

    /// payments.failed. Throws PermanentEventError for a payload that does not decode.
    void OnPaymentFailed(const Envelope& event);

private:
    void AnnounceManualOutcome(
        Outbox& outbox,
        const Envelope& request,
        const PaymentId& payment,
        const PaymentFacts& facts,
        const ManualOutcome& manual
    ) const;

    const Clock& clock_;
    VelocityCounter& velocity_;
    RiskThresholds thresholds_;
};

}  // namespace sagapay::risk
