#include "services/provider/provider_handler.hpp"

#include <string>

#include "core/error.hpp"
#include "core/ids.hpp"
#include "runtime/event_consumer.hpp"
#include "runtime/log.hpp"

namespace sagapay::provider {

namespace {

constexpr const char* kDlqSource = "provider-adapter";

}  // namespace

void ProviderHandler::OnAuthorizeRequested(const Envelope& envelope) {
    const auto request = DecodeEvent<AuthorizeRequested>(envelope);
    if (!request) {
        Rejected(envelope, request.error().message, CustomerId());
        return;
    }
    if (!IsUuid(envelope.aggregate_id)) {
        Rejected(envelope, "invalid payment id", request->facts.customer_id);
        return;
    }
    const PaymentId payment_id(envelope.aggregate_id);
    const NewAuthorization payment{
        payment_id,
        request->facts.customer_id,
        request->facts.amount,
        envelope.trace_id,
        "auth-" + payment_id.Value(),
        envelope,
        request->capture_on_authorize};
    if (!store_.InsertAuthorizing(payment, deps_.clock.Now())) {
        Redeliver(payment_id);
        return;
    }
    // Recorded as due now; the workers call the PSP, so no consumer ever waits on it and a slow
    // or timing-out PSP delays no other payment's first attempt.
    WakeWorkersAfterCommit();
}

void ProviderHandler::OnCaptureRequested(const Envelope& envelope) {
    // Nothing of the request is needed (the row has the amount and the key), but a capture
    // request that is not one must not capture.
    const auto request = DecodeEvent<CaptureRequested>(envelope);
    if (!request) {
        throw PermanentEventError(request.error().message);
    }
    const auto row = store_.Lock(PaymentId(envelope.aggregate_id));
    if (!row) {
        throw PermanentEventError("capture requested for a payment the provider never authorized");
    }
    ProviderEvents events(deps_, outbox_);
    switch (row->status) {
        case ProviderStatus::kAuthorized: {
            ProviderPayment due = *row;
            due.status = ProviderStatus::kCapturing;
            // A manual partial capture: what the merchant asked for (the rest is released).
            due.capture_amount_minor = request->capture_amount_minor;
            due.next_attempt_at = deps_.clock.Now();
            due.fresh = true;
            due.retries = 0;
            store_.Save(*row, due);
            WakeWorkersAfterCommit();
            return;
        }
        case ProviderStatus::kCaptured:
        case ProviderStatus::kRefunded:
            events.Captured(*row);  // the first answer was lost: say it again
            return;
        case ProviderStatus::kVoided:
            // Released after the PSP refused the capture (or the saga ended the payment): the
            // saga waits for this answer while it still thinks the payment is authorized.
            events.Failed(*row, FailureCode::kCaptureRefused, {});
            return;
        case ProviderStatus::kCapturing:
            return;  // a worker has it; its answer is on the way
        case ProviderStatus::kAuthorizing:
        case ProviderStatus::kDeclined:
        case ProviderStatus::kTimedOut:
            log::Warn(
                "capture requested for a payment that is not authorized",
                {{"status", std::string(ToString(row->status))}}
            );
            return;
    }
}

void ProviderHandler::OnRefundRequested(const Envelope& envelope) {
    const auto request = DecodeEvent<RefundRequested>(envelope);
    if (!request) {
        throw PermanentEventError(request.error().message);
    }
    if (!IsUuid(request->refund_id) || !IsUuid(envelope.aggregate_id)) {
        throw PermanentEventError("a refund needs a payment id and a refund id that are UUIDs");
    }
    if (const auto known = store_.LockRefund(request->refund_id)) {
        if (known->status != RefundState::kRefunding) {
            // Its answer may have been lost: say it again (the saga ignores a repeat).
            outbox_.Emit(
                RefundCompleted{
                    known->refund_id,
                    known->amount,
                    known->status == RefundState::kSucceeded,
                    known->failure_reason,
                    0},
                known->payment_id,
                known->trace_id,
                deps_.clock
            );
        }
        return;  // refunding: a worker has it
    }
    const PaymentId payment_id(envelope.aggregate_id);
    const auto payment = store_.Lock(payment_id);
    if (!payment || payment->status != ProviderStatus::kCaptured) {
        log::Warn(
            "refund requested for a payment the provider holds no capture of",
            {{"status", payment ? std::string(ToString(payment->status)) : "unknown"}}
        );
        outbox_.Emit(
            RefundCompleted{request->refund_id, request->amount, false, "payment_not_captured", 0},
            payment_id,
            envelope.trace_id,
            deps_.clock
        );
        return;
    }
    ProviderRefund refund;
    refund.refund_id = request->refund_id;
    refund.payment_id = payment_id;
    refund.amount = request->amount;
    refund.reason = request->reason;
    refund.trace_id = envelope.trace_id;
    refund.authorization_key = payment->authorization_key;
    refund.refund_key = "rf-" + request->refund_id;
    store_.InsertRefund(refund, deps_.clock.Now());
    WakeWorkersAfterCommit();
}

void ProviderHandler::OnReleaseRequested(const Envelope& envelope) {
    const auto request = DecodeEvent<ReleaseRequested>(envelope);
    if (!request) {
        throw PermanentEventError(request.error().message);
    }
    const auto row = store_.Lock(PaymentId(envelope.aggregate_id));
    if (!row) {
        // The provider never saw it: no key was ever sent to the PSP, nothing can be held.
        log::Info(
            "release requested for a payment the PSP never saw", {{"reason", request->reason}}
        );
        return;
    }
    ProviderPayment release = *row;
    if (row->status == ProviderStatus::kCaptured) {
        release.status = ProviderStatus::kRefunded;
    } else if (!MustHoldNothing(row->status)) {
        release.status = ProviderStatus::kVoided;
    }
    // The janitor's check, due now: it asks the PSP and voids or refunds what is there. A worker
    // that claimed the payment before finds its claim taken and records nothing.
    release.next_attempt_at = deps_.clock.Now();
    release.fresh = true;
    release.retries = 0;
    release.checks = 0;
    log::Warn(
        "the saga ended the payment: releasing what the PSP holds",
        {{"status", std::string(ToString(row->status))}, {"reason", request->reason}}
    );
    store_.Save(*row, release);
    WakeWorkersAfterCommit();
}

/// A repeated request for a payment the provider already handles: answer with what it knows.
void ProviderHandler::Redeliver(const PaymentId& payment_id) {
    const auto row = store_.Lock(payment_id);
    if (!row) {
        throw Exception(
            ErrorCode::kInternal, "provider payment vanished after its insert conflict"
        );
    }
    ProviderEvents events(deps_, outbox_);
    switch (row->status) {
        case ProviderStatus::kAuthorized:
        case ProviderStatus::kCapturing:
        case ProviderStatus::kCaptured:
            // Only an answer: the payment's state is not touched (it never moves back).
            events.Authorized(*row, {});
            return;
        case ProviderStatus::kDeclined:
            events.Failed(*row, FailureCode::kProviderDecline, {});
            return;
        case ProviderStatus::kTimedOut:
            // Also for a DLQ replay: the saga reversed the payment when it was told; authorizing
            // it now would hold money for a payment the customer was told is reversed.
            events.Failed(*row, FailureCode::kProviderTimeout, {});
            return;
        case ProviderStatus::kVoided:
        case ProviderStatus::kRefunded:
            log::Info("authorization requested for a released payment: nothing to do");
            return;
        case ProviderStatus::kAuthorizing:
            return;  // A worker has it; its answer is on the way.
    }
}

/// A request that can never be authorized: the saga is told it failed, and it is parked.
void ProviderHandler::Rejected(
    const Envelope& envelope, const std::string& reason, const CustomerId& customer
) {
    log::Warn("non-retryable provider request dropped", {{"reason", reason}});
    DlqRecorded dlq;
    dlq.reason = reason;
    dlq.error_type = "NON_RETRYABLE";
    ProviderEvents(deps_, outbox_).Dlq(std::move(dlq), envelope);
    PaymentFailed failed;
    failed.error_code = FailureCode::kProviderInvalidRequest;
    failed.customer_id = customer;
    outbox_.Emit(failed, PaymentId(envelope.aggregate_id), envelope.trace_id, deps_.clock);
}

void ProviderHandler::WakeWorkersAfterCommit() {
    outbox_.AfterCommit([&hooks = deps_.hooks] {
        if (hooks.payment_due) {
            hooks.payment_due();
        }
    });
}

void ProviderEvents::Authorized(const ProviderPayment& row, std::chrono::milliseconds latency) {
    PaymentAuthorized authorized;
    authorized.attempt_number = row.attempts;
    authorized.latency_ms = latency.count();
    authorized.authorization_id = row.authorization_id;
    if (row.capture_on_authorize) {
        authorized.capture_follows = row.status != ProviderStatus::kAuthorized;
        authorized.captured = row.status == ProviderStatus::kCaptured;
    }
    outbox_.Emit(authorized, row.payment_id, row.trace_id, deps_.clock);
    if (authorized.captured) {
        Captured(row);
    }
}

void ProviderEvents::Failed(
    const ProviderPayment& row, FailureCode code, std::chrono::milliseconds latency
) {
    PaymentFailed failed;
    failed.error_code = code;
    failed.customer_id = row.customer_id;
    failed.attempt_number = row.attempts;
    failed.latency_ms = latency.count();
    outbox_.Emit(failed, row.payment_id, row.trace_id, deps_.clock);
}

void ProviderEvents::Captured(const ProviderPayment& row) {
    CaptureCompleted completed;
    completed.authorization_id = row.authorization_id;
    completed.amount = row.ToCapture();
    outbox_.Emit(completed, row.payment_id, row.trace_id, deps_.clock);
}

void ProviderEvents::Exhausted(const ProviderPayment& row) {
    if (!row.source_event) {
        return;  // the stored request no longer decodes: nothing to park
    }
    DlqRecorded dlq;
    dlq.reason = "PROVIDER_TIMEOUT";
    dlq.error_type = "RETRY_EXHAUSTED";
    dlq.retryable = true;
    dlq.replay_topic = std::string(topics::kProviderAuthorizeRequested);
    dlq.failed_event = row.source_event;
    Dlq(std::move(dlq), *row.source_event);
}

void ProviderEvents::Dlq(DlqRecorded dlq, const Envelope& source) {
    dlq.source = kDlqSource;
    dlq.source_event_id = EventId(source.event_id);
    const std::string error_type = dlq.error_type;
    outbox_.Emit(dlq, PaymentId(source.aggregate_id), source.trace_id, deps_.clock);
    outbox_.AfterCommit([&hooks = deps_.hooks, error_type] {
        if (hooks.dlq_published) {
            hooks.dlq_published(error_type);
        }
    });
}

}  // namespace sagapay::provider
