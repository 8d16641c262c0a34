#pragma once

#include "core/clock.hpp"
#include "core/messaging/envelope.hpp"
#include "core/ports/outbox.hpp"
#include "services/ledger/ledger_book.hpp"

namespace sagapay::ledger {

/// The ledger's event handlers (services/ledger/README.md).
class LedgerHandler {
public:
    explicit LedgerHandler(const Clock& clock) noexcept : clock_(clock) {}

    /// payments.captured: posts the settlement (once per payment) and announces
    /// `payments.settled` with the amount posted — on a redelivery, the first posting's amount.
    /// Throws PermanentEventError for a payload or payment id that cannot be posted.
    void OnCaptured(LedgerBook& book, Outbox& outbox, const Envelope& event);

    /// payments.reversed: posts the reversal of the settlement's amount when the payment settled
    /// (less what its refunds gave back, if any); nothing otherwise. Throws PermanentEventError
    /// for a payload or payment id that is wrong.
    void OnReversed(LedgerBook& book, const Envelope& event);

    /// payments.refunded: posts the refund, `refund:<payment_id>:<refund_id>` (once per refund
    /// id: a redelivery posts nothing). Throws PermanentEventError for a payload, payment id or
    /// refund id that is wrong, and for a refund the ledger cannot take: of a payment with no
    /// settlement, in another currency than the settlement, or bringing what the payment's
    /// refunds give back beyond its settlement.
    void OnRefunded(LedgerBook& book, const Envelope& event);

private:
    const Clock& clock_;
};

}  // namespace sagapay::ledger
