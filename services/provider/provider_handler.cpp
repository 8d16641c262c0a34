#include "services/provider/provider_handler.hpp"

#include <string>

#include "core/error.hpp"
#include "core/ids.hpp"
#include "runtime/event_consumer.hpp"
#include "runtime/log.hpp"

namespace sagapay::provider {

namespace {

constexpr const char* kDlqSource = "provider-adapter";

AttemptResult ResultOf(PspOutcome outcome) noexcept {
    switch (outcome) {
        case PspOutcome::kAuthorized:
            return AttemptResult::kAuthorized;
        case PspOutcome::kDeclined:
            return AttemptResult::kDeclined;
        case PspOutcome::kUnknown:
            return AttemptResult::kTimeout;
        case PspOutcome::kNotFound:
            return AttemptResult::kNotFound;
    }
    return AttemptResult::kTimeout;
}

AttemptResult ResultOf(CaptureOutcome outcome) noexcept {
    switch (outcome) {
        case CaptureOutcome::kCaptured:
            return AttemptResult::kCaptured;
        case CaptureOutcome::kRefused:
            return AttemptResult::kRefused;
        case CaptureOutcome::kUnknown:
            return AttemptResult::kTimeout;
    }
    return AttemptResult::kTimeout;
}

/// The failure an authorization or inquiry answer stands for in the attempt log.
std::optional<FailureCode> ErrorCodeOf(PspOutcome outcome) noexcept {
    switch (outcome) {
        case PspOutcome::kDeclined:
            return FailureCode::kProviderDecline;
        case PspOutcome::kUnknown:
            return FailureCode::kProviderTimeout;
        case PspOutcome::kAuthorized:
        case PspOutcome::kNotFound:
            return std::nullopt;
    }
    return std::nullopt;
}

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
        envelope};
    if (!store_.InsertAuthorizing(payment, deps_.clock.Now())) {
        Redeliver(*request, payment_id);
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
    if (row->status == ProviderStatus::kCaptured) {
        EmitCaptured(*row);
        return;
    }
    if (row->status != ProviderStatus::kAuthorized) {
        log::Warn(
            "capture requested for a payment that is not authorized",
            {{"status", std::string(ToString(row->status))}}
        );
        return;
    }
    Capture(*row);
}

/// Captures an authorized payment under its one capture key, so a repeat never captures twice.
void ProviderHandler::Capture(const ProviderPayment& row) {
    const CaptureAnswer answer =
        deps_.psp.Capture(row.authorization_key, "cap-" + row.payment_id.Value());
    store_.RecordAttempt(
        {row.payment_id,
         row.attempts,
         PspOperation::kCapture,
         ResultOf(answer.outcome),
         answer.latency,
         std::nullopt}
    );
    switch (answer.outcome) {
        case CaptureOutcome::kUnknown:
            CountRetry();
            throw Exception(
                ErrorCode::kDeadlineExceeded,
                "capture outcome unknown; retried with the same capture key"
            );
        case CaptureOutcome::kRefused:
            throw PermanentEventError("the PSP refused the capture of an authorized payment");
        case CaptureOutcome::kCaptured:
            store_.MarkCaptured(row.payment_id);
            EmitCaptured(row);
            return;
    }
}

int ProviderHandler::WorkDue(int limit) {
    const std::vector<ProviderPayment> due = store_.ClaimDue(deps_.clock.Now(), limit);
    for (const ProviderPayment& row : due) {
        Work(row);
    }
    return static_cast<int>(due.size());
}

/// A repeated request for a payment the provider already handles: answer with what it knows.
void ProviderHandler::Redeliver(const AuthorizeRequested& request, const PaymentId& payment_id) {
    const auto row = store_.Lock(payment_id);
    if (!row) {
        throw Exception(
            ErrorCode::kInternal, "provider payment vanished after its insert conflict"
        );
    }
    switch (row->status) {
        case ProviderStatus::kAuthorized:
        case ProviderStatus::kCaptured:
            Authorized(*row, PspAnswer{PspOutcome::kAuthorized, row->authorization_id, "", {}});
            return;
        case ProviderStatus::kDeclined:
            EmitFailed(*row, FailureCode::kProviderDecline, {});
            return;
        case ProviderStatus::kTimedOut:
            if (request.replay) {
                log::Info("replayed authorization request: trying the PSP again");
                store_.ResetForReplay(row->payment_id, deps_.clock.Now());
                WakeWorkersAfterCommit();
            } else {
                // The saga re-requested a payment that already timed out: tell it again.
                EmitFailed(*row, FailureCode::kProviderTimeout, {});
            }
            return;
        case ProviderStatus::kAuthorizing:
            return;  // A worker has it; its answer is on the way.
    }
}

void ProviderHandler::Work(ProviderPayment row) {
    const log::ScopedContext context(row.trace_id, "", row.payment_id.Value());
    if (row.attempts == 0) {
        // The first attempt. Had a crash interrupted it after the call, sending it again under
        // the same idempotency key returns the PSP's first answer: never a second charge.
        const PspAnswer answer = Authorize(row);
        row.attempts = 1;
        Record(row, PspOperation::kAuthorize, answer);
        Act(row, AfterAuthorize(1, answer.outcome, deps_.clock.Now(), deps_.policy), answer);
        return;
    }
    // Never a blind retry: first ask the PSP what became of the last attempt.
    const PspAnswer inquiry = deps_.psp.Inquire(row.authorization_key);
    Record(row, PspOperation::kInquire, inquiry);
    Action action = AfterInquiry(row.attempts, inquiry.outcome, deps_.clock.Now(), deps_.policy);
    PspAnswer answer = inquiry;
    if (action.kind == ActionKind::kAuthorizeNow) {
        CountRetry();
        answer = Authorize(row);
        row.attempts = action.attempt;
        Record(row, PspOperation::kAuthorize, answer);
        action = AfterAuthorize(row.attempts, answer.outcome, deps_.clock.Now(), deps_.policy);
    }
    Act(row, action, answer);
}

void ProviderHandler::Act(
    const ProviderPayment& row, const Action& action, const PspAnswer& answer
) {
    switch (action.kind) {
        case ActionKind::kAuthorized:
            Authorized(row, answer);
            return;
        case ActionKind::kDeclined:
            store_.MarkDeclined(row.payment_id, row.attempts);
            EmitFailed(row, FailureCode::kProviderDecline, answer.latency);
            return;
        case ActionKind::kRetryLater:
        case ActionKind::kAuthorizeNow:
            CountRetry();
            log::Warn("provider timeout", {{"attempt", std::to_string(row.attempts)}});
            store_.Reschedule(
                row.payment_id,
                row.attempts,
                action.kind == ActionKind::kRetryLater ? action.at : deps_.clock.Now()
            );
            return;
        case ActionKind::kGiveUp:
            GiveUp(row, answer);
            return;
    }
}

/// Attempts ran out with the outcome still unknown (or proved never to have happened).
void ProviderHandler::GiveUp(const ProviderPayment& row, const PspAnswer& answer) {
    // Release anything the PSP might still hold before telling the saga it failed.
    const VoidAnswer voided = deps_.psp.Void(row.authorization_key);
    const bool released = voided.outcome == VoidOutcome::kReleased;
    store_.RecordAttempt(
        {row.payment_id,
         row.attempts,
         PspOperation::kVoid,
         released ? AttemptResult::kVoided : AttemptResult::kTimeout,
         voided.latency,
         std::nullopt}
    );
    if (!released) {
        throw Exception(
            ErrorCode::kDeadlineExceeded, "void at the PSP got no answer; will try again"
        );
    }
    store_.MarkTimedOut(row.payment_id);
    EmitFailed(row, FailureCode::kProviderTimeout, answer.latency);
    if (row.source_event) {
        DlqRecorded dlq;
        dlq.reason = "PROVIDER_TIMEOUT";
        dlq.error_type = "RETRY_EXHAUSTED";
        dlq.retryable = true;
        dlq.replay_topic = std::string(topics::kProviderAuthorizeRequested);
        dlq.failed_event = row.source_event;
        EmitDlq(std::move(dlq), *row.source_event);
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
    EmitDlq(std::move(dlq), envelope);
    PaymentFailed failed;
    failed.error_code = FailureCode::kProviderInvalidRequest;
    failed.customer_id = customer;
    outbox_.Emit(failed, PaymentId(envelope.aggregate_id), envelope.trace_id, deps_.clock);
}

PspAnswer ProviderHandler::Authorize(const ProviderPayment& row) {
    return deps_.psp.Authorize({row.authorization_key, row.payment_id, row.customer_id, row.amount}
    );
}

void ProviderHandler::Record(
    const ProviderPayment& row, PspOperation operation, const PspAnswer& answer
) {
    store_.RecordAttempt(
        {row.payment_id,
         row.attempts,
         operation,
         ResultOf(answer.outcome),
         answer.latency,
         ErrorCodeOf(answer.outcome)}
    );
}

void ProviderHandler::Authorized(const ProviderPayment& row, const PspAnswer& answer) {
    store_.MarkAuthorized(row.payment_id, answer.authorization_id, row.attempts);
    PaymentAuthorized authorized;
    authorized.attempt_number = row.attempts;
    authorized.latency_ms = answer.latency.count();
    authorized.authorization_id = answer.authorization_id;
    outbox_.Emit(authorized, row.payment_id, row.trace_id, deps_.clock);
}

void ProviderHandler::EmitFailed(
    const ProviderPayment& row, FailureCode code, std::chrono::milliseconds latency
) {
    PaymentFailed failed;
    failed.error_code = code;
    failed.customer_id = row.customer_id;
    failed.attempt_number = row.attempts;
    failed.latency_ms = latency.count();
    outbox_.Emit(failed, row.payment_id, row.trace_id, deps_.clock);
}

void ProviderHandler::EmitDlq(DlqRecorded dlq, const Envelope& source) {
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

void ProviderHandler::EmitCaptured(const ProviderPayment& row) {
    CaptureCompleted completed;
    completed.authorization_id = row.authorization_id;
    completed.amount = row.amount;
    outbox_.Emit(completed, row.payment_id, row.trace_id, deps_.clock);
}

void ProviderHandler::CountRetry() {
    if (deps_.hooks.retry) {
        deps_.hooks.retry();
    }
}

void ProviderHandler::WakeWorkersAfterCommit() {
    outbox_.AfterCommit([&hooks = deps_.hooks] {
        if (hooks.payment_due) {
            hooks.payment_due();
        }
    });
}

}  // namespace sagapay::provider
