#include "services/ledger/ledger_handler.hpp"

#include "core/ids.hpp"
#include "runtime/event_consumer.hpp"
#include "runtime/log.hpp"

namespace sagapay::ledger {

namespace {

/// The payment an event is about, or PermanentEventError.
PaymentId PaymentOf(const Envelope& event) {
    if (!IsUuid(event.aggregate_id)) {
        throw PermanentEventError(
            event.event_type + " needs a payment id, got " + event.aggregate_id
        );
    }
    return PaymentId(event.aggregate_id);
}

JournalEntry EntryOrThrow(Purpose purpose, const PaymentId& payment, const Money& amount) {
    auto entry = BuildJournalEntry(
        purpose, payment.Value(), amount.amount_minor, amount.currency.CodeString()
    );
    if (!entry) {
        throw PermanentEventError(entry.error().message);
    }
    return std::move(*entry);
}

}  // namespace

void LedgerHandler::OnCaptured(LedgerBook& book, Outbox& outbox, const Envelope& event) {
    auto captured = DecodeEvent<PaymentCaptured>(event);
    if (!captured) {
        throw PermanentEventError(captured.error().message);
    }
    const PaymentId payment = PaymentOf(event);
    const JournalEntry entry = EntryOrThrow(Purpose::kSettlement, payment, captured->facts.amount);
    Money posted = captured->facts.amount;
    if (!book.Post(payment, entry, EventId(event.event_id))) {
        // Posted before (a redelivery or a re-request): confirm what was posted then.
        log::Info("settlement already posted; confirming it again");
        const auto settled = book.Settlement(payment);
        if (!settled) {
            // The posting that won is not visible yet: try again once it is.
            throw Exception(
                ErrorCode::kAborted, "settlement of " + payment.Value() + " not visible"
            );
        }
        posted = *settled;
    }
    outbox.Emit(PaymentSettled{entry.transaction_id, posted}, payment, event.trace_id, clock_);
}

void LedgerHandler::OnReversed(LedgerBook& book, const Envelope& event) {
    const auto reversed = DecodeEvent<PaymentReversed>(event);
    if (!reversed) {
        throw PermanentEventError(reversed.error().message);
    }
    const PaymentId payment = PaymentOf(event);
    const auto settled = book.Settlement(payment);
    if (!settled) {
        log::Info("reversal of a payment that never settled: nothing to post");
        return;
    }
    // The settlement's amount, not the event's: a reversal undoes exactly what was posted.
    book.Post(
        payment, EntryOrThrow(Purpose::kReversal, payment, *settled), EventId(event.event_id)
    );
}

}  // namespace sagapay::ledger
