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
    std::optional<Money> settled;
    std::int64_t refunded = 0;
    for (const PostedTransaction& posted : book.Transactions(payment)) {
        if (posted.purpose == Purpose::kSettlement) {
            settled = posted.amount;
        } else if (posted.purpose == Purpose::kRefund) {
            refunded += posted.amount.amount_minor;
        }
    }
    if (!settled) {
        log::Info("reversal of a payment that never settled: nothing to post");
        return;
    }
    // The settlement's amount, not the event's: a reversal undoes exactly what was posted and
    // not given back yet.
    Money remaining = *settled;
    remaining.amount_minor -= refunded;
    if (remaining.amount_minor <= 0) {
        log::Info("reversal of a payment refunded in full: nothing to post");
        return;
    }
    book.Post(
        payment, EntryOrThrow(Purpose::kReversal, payment, remaining), EventId(event.event_id)
    );
}

void LedgerHandler::OnRefunded(LedgerBook& book, const Envelope& event) {
    const auto refunded = DecodeEvent<PaymentRefunded>(event);
    if (!refunded) {
        throw PermanentEventError(refunded.error().message);
    }
    const PaymentId payment = PaymentOf(event);
    auto built = BuildRefundEntry(
        payment.Value(),
        refunded->refund_id,
        refunded->amount.amount_minor,
        refunded->amount.currency.CodeString()
    );
    if (!built) {
        throw PermanentEventError(built.error().message);
    }
    const JournalEntry& entry = *built;
    std::optional<Money> settled;
    std::int64_t given_back = 0;
    for (const PostedTransaction& posted : book.Transactions(payment)) {
        if (posted.transaction_id == entry.transaction_id) {
            log::Info("refund already posted", {{"transaction_id", entry.transaction_id}});
            return;
        }
        if (posted.purpose == Purpose::kSettlement) {
            settled = posted.amount;
        } else {
            given_back += posted.amount.amount_minor;  // refunds and a reversal
        }
    }
    if (!settled) {
        // The orchestrator refunds SETTLED payments only, and a payment is SETTLED once its
        // settlement is committed here: a refund without one can never be posted.
        throw PermanentEventError(
            "refund " + refunded->refund_id + " of payment " + payment.Value() +
            ", which has no settlement"
        );
    }
    if (refunded->amount.currency != settled->currency) {
        throw PermanentEventError(
            "refund " + refunded->refund_id + " is in " + refunded->amount.currency.CodeString() +
            " but payment " + payment.Value() + " settled in " + settled->currency.CodeString()
        );
    }
    if (given_back + refunded->amount.amount_minor > settled->amount_minor) {
        throw PermanentEventError(
            "refund " + refunded->refund_id + " of " +
            std::to_string(refunded->amount.amount_minor) + " would give back " +
            std::to_string(given_back + refunded->amount.amount_minor) + " of payment " +
            payment.Value() + ", more than its settlement of " +
            std::to_string(settled->amount_minor)
        );
    }
    if (refunded->captured_minor != 0 && refunded->captured_minor != settled->amount_minor) {
        log::Warn(
            "payments.refunded names another captured amount than the settlement",
            {{"captured_cents", std::to_string(refunded->captured_minor)},
             {"settled_cents", std::to_string(settled->amount_minor)}}
        );
    }
    if (!book.Post(payment, entry, EventId(event.event_id))) {
        // Posted by a concurrent delivery that committed meanwhile.
        log::Info("refund already posted", {{"transaction_id", entry.transaction_id}});
    }
}

}  // namespace sagapay::ledger
