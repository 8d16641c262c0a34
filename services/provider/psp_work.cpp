#include "services/provider/psp_work.hpp"

#include <string>

#include "core/error.hpp"
#include "runtime/log.hpp"
#include "runtime/tracing.hpp"

namespace sagapay::provider {

namespace {

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
        case PspOutcome::kCaptured:
            return AttemptResult::kCaptured;
        case PspOutcome::kVoided:
            return AttemptResult::kVoided;
        case PspOutcome::kRefunded:
            return AttemptResult::kRefunded;
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
        case PspOutcome::kCaptured:
        case PspOutcome::kVoided:
        case PspOutcome::kRefunded:
            return std::nullopt;
    }
    return std::nullopt;
}

AttemptRecord Audit(
    const ProviderPayment& row,
    PspOperation operation,
    AttemptResult result,
    std::chrono::milliseconds latency,
    std::optional<FailureCode> error = std::nullopt
) {
    return {row.payment_id, row.attempts, operation, result, latency, error};
}

AttemptRecord Audit(const ProviderPayment& row, PspOperation operation, const PspAnswer& answer) {
    return Audit(
        row, operation, ResultOf(answer.outcome), answer.latency, ErrorCodeOf(answer.outcome)
    );
}

}  // namespace

int PspWork::WorkDue(int limit) {
    std::vector<ProviderPayment> claimed;
    const Clock::TimePoint now = deps_.clock.Now();
    units_.Run([&](ProviderStore& store, Outbox&) {
        claimed = store.ClaimDue(now, limit, deps_.lease);
    });
    if (claimed.empty()) {
        return 0;
    }
    // The claim is committed: the PSP calls run with no transaction open.
    std::vector<Outcome> outcomes;
    outcomes.reserve(claimed.size());
    for (const ProviderPayment& row : claimed) {
        outcomes.push_back(Call(row));
    }
    try {
        units_.Run([&](ProviderStore& store, Outbox& outbox) {
            for (const Outcome& out : outcomes) {
                Record(store, outbox, out);
            }
        });
    } catch (const std::exception& batch_error) {
        // One payment's record failed and took the batch with it: record each on its own, so
        // the others' outcomes stand. A payment whose record fails again is due again when its
        // lease ends and is worked again (every PSP call is keyed: the same answers come back).
        log::Warn(
            "recording a batch of PSP outcomes failed; recording one by one",
            {{"error", batch_error.what()}}
        );
        for (const Outcome& out : outcomes) {
            try {
                units_.Run([&](ProviderStore& store, Outbox& outbox) { Record(store, outbox, out); }
                );
            } catch (const std::exception& e) {
                const log::ScopedContext context(
                    out.claimed.trace_id, "", out.claimed.payment_id.Value()
                );
                log::Error(
                    "recording a PSP outcome failed; retried after the lease", {{"error", e.what()}}
                );
            }
        }
    }
    return static_cast<int>(claimed.size());
}

std::optional<Clock::TimePoint> PspWork::NextDue() {
    std::optional<Clock::TimePoint> next;
    units_.Run([&](ProviderStore& store, Outbox&) { next = store.NextDue(); });
    return next;
}

PspWork::Outcome PspWork::Call(const ProviderPayment& claimed) {
    const log::ScopedContext context(claimed.trace_id, "", claimed.payment_id.Value());
    // Continues the trace of the request the payment was stored from (its source event).
    tracing::Span span(
        "psp work",
        tracing::SpanKind::kInternal,
        claimed.source_event ? ContinueTrace(
                                   claimed.source_event->traceparent,
                                   claimed.source_event->tracestate,
                                   claimed.trace_id
                               )
                             : ContinueTrace("", "", claimed.trace_id)
    );
    span.SetAttribute("payment.id", claimed.payment_id.Value());
    span.SetAttribute("provider.status", std::string(ToString(claimed.status)));
    Outcome out{claimed, claimed, {}, Outcome::Tell::kNothing, {}, span.Context()};
    out.after.fresh = false;
    switch (claimed.status) {
        case ProviderStatus::kAuthorizing:
            Authorizing(out);
            break;
        case ProviderStatus::kCapturing:
            Capturing(out);
            break;
        case ProviderStatus::kDeclined:
        case ProviderStatus::kTimedOut:
        case ProviderStatus::kVoided:
        case ProviderStatus::kRefunded:
            Janitor(out);
            break;
        case ProviderStatus::kAuthorized:
        case ProviderStatus::kCaptured:
            // Nothing is due in these states; a stray due time is cleared.
            out.after.next_attempt_at.reset();
            break;
    }
    return out;
}

void PspWork::Authorizing(Outcome& out) {
    ProviderPayment& row = out.after;
    PspClient& psp = deps_.psp;
    const auto authorize = [&] {
        return psp.Authorize({row.authorization_key, row.payment_id, row.customer_id, row.amount});
    };
    Action action;
    PspAnswer answer;
    if (row.attempts == 0) {
        // The first attempt. Had a crash interrupted it after the call, sending it again under
        // the same idempotency key returns the PSP's first answer: never a second charge.
        answer = authorize();
        row.attempts = 1;
        out.calls.push_back(Audit(row, PspOperation::kAuthorize, answer));
        action = AfterAuthorize(1, answer.outcome, deps_.clock.Now(), deps_.policy);
    } else {
        // Never a blind retry: first ask the PSP what became of the last attempt.
        answer = psp.Inquire(row.authorization_key);
        out.calls.push_back(Audit(row, PspOperation::kInquire, answer));
        action = AfterInquiry(row.attempts, answer.outcome, deps_.clock.Now(), deps_.policy);
        if (action.kind == ActionKind::kAuthorizeNow) {
            CountRetry();
            answer = authorize();
            row.attempts = action.attempt;
            out.calls.push_back(Audit(row, PspOperation::kAuthorize, answer));
            action = AfterAuthorize(row.attempts, answer.outcome, deps_.clock.Now(), deps_.policy);
        }
    }
    out.latency = answer.latency;
    switch (action.kind) {
        case ActionKind::kAuthorized:
            row.status = ProviderStatus::kAuthorized;
            row.authorization_id = answer.authorization_id;
            row.next_attempt_at.reset();
            out.tell = Outcome::Tell::kAuthorized;
            out.authorization_latency = answer.latency;
            if (row.capture_on_authorize) {
                // Automatic capture: now, in this piece of work (no capture request, two bus
                // hops fewer). An unanswered capture leaves it CAPTURING, due again; the saga
                // learns of the authorization either way.
                row.status = ProviderStatus::kCapturing;
                row.retries = 0;
                Capturing(out);
            }
            return;
        case ActionKind::kDeclined:
            row.status = ProviderStatus::kDeclined;
            row.next_attempt_at = NextJanitorCheck(0, deps_.clock.Now(), deps_.policy);
            out.tell = Outcome::Tell::kDeclined;
            return;
        case ActionKind::kRetryLater:
        case ActionKind::kAuthorizeNow:
            CountRetry();
            log::Warn("provider timeout", {{"attempt", std::to_string(row.attempts)}});
            row.next_attempt_at =
                action.kind == ActionKind::kRetryLater ? action.at : deps_.clock.Now();
            return;
        case ActionKind::kGiveUp: {
            // Release anything the PSP might still hold before telling the saga it failed.
            if (!VoidHeld(out)) {
                log::Warn("void at the PSP got no answer; will try again");
                RetryLater(out);
                return;
            }
            row.status = ProviderStatus::kTimedOut;
            row.retries = 0;
            row.next_attempt_at = NextJanitorCheck(0, deps_.clock.Now(), deps_.policy);
            out.tell = Outcome::Tell::kTimedOut;
            return;
        }
    }
}

void PspWork::Capturing(Outcome& out) {
    ProviderPayment& row = out.after;
    PspClient& psp = deps_.psp;
    const CaptureAnswer answer = psp.Capture(
        row.authorization_key, "cap-" + row.payment_id.Value(), row.capture_amount_minor
    );
    out.latency = answer.latency;
    switch (answer.outcome) {
        case CaptureOutcome::kCaptured:
            out.calls.push_back(
                Audit(row, PspOperation::kCapture, AttemptResult::kCaptured, answer.latency)
            );
            break;
        case CaptureOutcome::kUnknown:
            out.calls.push_back(
                Audit(row, PspOperation::kCapture, AttemptResult::kTimeout, answer.latency)
            );
            CountRetry();
            RetryLater(out);  // again under the same capture key
            return;
        case CaptureOutcome::kRefused: {
            out.calls.push_back(
                Audit(row, PspOperation::kCapture, AttemptResult::kRefused, answer.latency)
            );
            // What does the PSP hold? A capture made under this key earlier (its answer lost)
            // is a capture; an authorization still held is released; an expired or voided one
            // holds nothing. The payment is never left waiting on a capture that cannot happen.
            const PspAnswer held = psp.Inquire(row.authorization_key);
            out.calls.push_back(Audit(row, PspOperation::kInquire, held));
            if (held.outcome == PspOutcome::kCaptured) {
                break;
            }
            if (held.outcome == PspOutcome::kUnknown) {
                RetryLater(out);
                return;
            }
            if (held.outcome == PspOutcome::kAuthorized && !VoidHeld(out)) {
                RetryLater(out);
                return;
            }
            log::Warn("the PSP refused the capture; released and failed");
            row.status = ProviderStatus::kVoided;
            row.retries = 0;
            row.next_attempt_at = NextJanitorCheck(0, deps_.clock.Now(), deps_.policy);
            out.tell = Outcome::Tell::kCaptureRefused;
            return;
        }
    }
    row.status = ProviderStatus::kCaptured;
    row.retries = 0;
    row.next_attempt_at.reset();
    out.tell = Outcome::Tell::kCaptured;
}

void PspWork::Janitor(Outcome& out) {
    ProviderPayment& row = out.after;
    PspClient& psp = deps_.psp;
    const PspAnswer held = psp.Inquire(row.authorization_key);
    out.calls.push_back(Audit(row, PspOperation::kInquire, held));
    if (held.outcome == PspOutcome::kUnknown) {
        RetryLater(out);
        return;
    }
    if (held.outcome == PspOutcome::kAuthorized) {
        if (!VoidHeld(out)) {
            RetryLater(out);
            return;
        }
        log::Warn(
            "janitor voided an authorization held for a failed payment",
            {{"status", std::string(ToString(row.status))}}
        );
    } else if (held.outcome == PspOutcome::kCaptured) {
        const RefundAnswer refund =
            psp.Refund(row.authorization_key, "refund-" + row.payment_id.Value(), 0);
        const bool refunded = refund.outcome == RefundOutcome::kRefunded;
        out.calls.push_back(Audit(
            row,
            PspOperation::kRefund,
            refunded ? AttemptResult::kRefunded
                     : (refund.outcome == RefundOutcome::kRefused ? AttemptResult::kRefused
                                                                  : AttemptResult::kTimeout),
            refund.latency
        ));
        if (!refunded) {
            RetryLater(out);
            return;
        }
        log::Warn(
            "janitor refunded a capture taken for a failed payment",
            {{"status", std::string(ToString(row.status))}}
        );
    }
    // Nothing is held now; look again later (a PSP may still process a late request).
    row.retries = 0;
    row.checks += 1;
    row.next_attempt_at = NextJanitorCheck(row.checks, deps_.clock.Now(), deps_.policy);
}

bool PspWork::VoidHeld(Outcome& out) {
    const VoidAnswer voided = deps_.psp.Void(out.after.authorization_key);
    const bool released = voided.outcome == VoidOutcome::kReleased;
    out.calls.push_back(Audit(
        out.after,
        PspOperation::kVoid,
        released ? AttemptResult::kVoided : AttemptResult::kTimeout,
        voided.latency
    ));
    return released;
}

void PspWork::RetryLater(Outcome& out) {
    ProviderPayment& row = out.after;
    row.next_attempt_at = deps_.clock.Now() + StepRetryDelay(row.retries, deps_.policy);
    row.retries += 1;
}

void PspWork::Record(ProviderStore& store, Outbox& outbox, const Outcome& out) {
    const log::ScopedContext context(out.claimed.trace_id, "", out.claimed.payment_id.Value());
    const tracing::ScopedContext trace(out.trace);  // the events emitted here follow the calls
    for (const AttemptRecord& call : out.calls) {
        store.RecordAttempt(call);  // what was sent to the PSP, whatever comes of the rest
    }
    const auto current = store.Lock(out.claimed.payment_id);
    if (!current || current->claim != out.claimed.claim || current->status != out.claimed.status) {
        // Written since the claim (the lease ran out and another worker took it, or the saga
        // asked for a release): that writer's view stands; these keyed calls changed nothing.
        log::Warn("payment changed while its PSP calls ran; outcome not recorded");
        return;
    }
    if (!CanMove(current->status, out.after.status)) {
        throw Exception(
            ErrorCode::kInternal,
            "provider payment cannot move from " + std::string(ToString(current->status)) + " to " +
                std::string(ToString(out.after.status))
        );
    }
    store.Save(*current, out.after);
    ProviderEvents events(deps_, outbox);
    switch (out.tell) {
        case Outcome::Tell::kNothing:
            return;
        case Outcome::Tell::kAuthorized:
            // Also an automatic capture that got no answer yet (CAPTURING): the capture follows.
            events.Authorized(out.after, out.authorization_latency);
            return;
        case Outcome::Tell::kDeclined:
            events.Failed(out.after, FailureCode::kProviderDecline, out.latency);
            return;
        case Outcome::Tell::kTimedOut:
            events.Failed(out.after, FailureCode::kProviderTimeout, out.latency);
            events.Exhausted(out.after);
            return;
        case Outcome::Tell::kCaptured:
            if (out.claimed.status == ProviderStatus::kAuthorizing) {
                // Authorized and captured in this piece of work: both, in this transaction.
                events.Authorized(out.after, out.authorization_latency);
                return;
            }
            events.Captured(out.after);
            return;
        case Outcome::Tell::kCaptureRefused:
            events.Failed(out.after, FailureCode::kCaptureRefused, out.latency);
            return;
    }
}

void PspWork::CountRetry() {
    if (deps_.hooks.retry) {
        deps_.hooks.retry();
    }
}

}  // namespace sagapay::provider
