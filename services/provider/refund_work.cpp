#include "services/provider/refund_work.hpp"

#include <string>

#include "runtime/log.hpp"
#include "runtime/tracing.hpp"

namespace sagapay::provider {

RefundAction AfterRefundInquiry(RefundOutcome answer) noexcept {
    switch (answer) {
        case RefundOutcome::kRefunded:
            return RefundAction::kSucceeded;
        case RefundOutcome::kNotFound:
        case RefundOutcome::kRefused:
            // Never processed under this key (a refusal of the inquiry says as much): send it.
            return RefundAction::kSend;
        case RefundOutcome::kUnknown:
            return RefundAction::kRetryLater;
    }
    return RefundAction::kRetryLater;
}

RefundAction AfterRefundCall(RefundOutcome answer) noexcept {
    switch (answer) {
        case RefundOutcome::kRefunded:
            return RefundAction::kSucceeded;
        case RefundOutcome::kRefused:
            return RefundAction::kFailed;
        case RefundOutcome::kUnknown:
        case RefundOutcome::kNotFound:
            return RefundAction::kRetryLater;
    }
    return RefundAction::kRetryLater;
}

namespace {

AttemptResult ResultOf(RefundOutcome answer) noexcept {
    switch (answer) {
        case RefundOutcome::kRefunded:
            return AttemptResult::kRefunded;
        case RefundOutcome::kRefused:
            return AttemptResult::kRefused;
        case RefundOutcome::kNotFound:
            return AttemptResult::kNotFound;
        case RefundOutcome::kUnknown:
            return AttemptResult::kTimeout;
    }
    return AttemptResult::kTimeout;
}

}  // namespace

int RefundWork::WorkDue(int limit) {
    std::vector<ProviderRefund> claimed;
    const Clock::TimePoint now = deps_.clock.Now();
    units_.Run([&](ProviderStore& store, Outbox&) {
        claimed = store.ClaimDueRefunds(now, limit, deps_.lease);
    });
    if (claimed.empty()) {
        return 0;
    }
    // The claims are committed: the PSP calls run with no transaction open.
    std::vector<Outcome> outcomes;
    outcomes.reserve(claimed.size());
    for (const ProviderRefund& refund : claimed) {
        outcomes.push_back(Call(refund));
    }
    for (const Outcome& out : outcomes) {
        // One unit of work each: one refund's failed record never undoes another's.
        try {
            units_.Run([&](ProviderStore& store, Outbox& outbox) { Record(store, outbox, out); });
        } catch (const std::exception& e) {
            const log::ScopedContext context(
                out.claimed.trace_id, "", out.claimed.payment_id.Value()
            );
            log::Error(
                "recording a refund outcome failed; retried after the lease", {{"error", e.what()}}
            );
        }
    }
    return static_cast<int>(claimed.size());
}

RefundWork::Outcome RefundWork::Call(const ProviderRefund& claimed) {
    const log::ScopedContext context(claimed.trace_id, "", claimed.payment_id.Value());
    tracing::Span span(
        "psp refund", tracing::SpanKind::kInternal, ContinueTrace("", "", claimed.trace_id)
    );
    span.SetAttribute("payment.id", claimed.payment_id.Value());
    span.SetAttribute("refund.id", claimed.refund_id);
    Outcome out{claimed, claimed, {}, false, {}, span.Context()};
    ProviderRefund& row = out.after;
    PspClient& psp = deps_.psp;
    const auto audit = [&](PspOperation operation, const RefundAnswer& answer) {
        out.calls.push_back(AttemptRecord{
            row.payment_id, row.attempts, operation, ResultOf(answer.outcome), answer.latency, {}});
        out.latency = answer.latency;
    };
    RefundAction action = RefundAction::kSend;
    if (row.attempts > 0) {
        const RefundAnswer asked = psp.InquireRefund(row.authorization_key, row.refund_key);
        audit(PspOperation::kInquireRefund, asked);
        action = AfterRefundInquiry(asked.outcome);
    }
    if (action == RefundAction::kSend) {
        row.attempts += 1;
        const RefundAnswer answer =
            psp.Refund(row.authorization_key, row.refund_key, row.amount.amount_minor);
        audit(PspOperation::kRefund, answer);
        action = AfterRefundCall(answer.outcome);
    }
    switch (action) {
        case RefundAction::kSucceeded:
            row.status = RefundState::kSucceeded;
            row.next_attempt_at.reset();
            out.tell = true;
            break;
        case RefundAction::kFailed:
            log::Warn("the PSP refused a refund", {{"refund_id", row.refund_id}});
            row.status = RefundState::kFailed;
            row.failure_reason = "refused_by_psp";
            row.next_attempt_at.reset();
            out.tell = true;
            break;
        case RefundAction::kSend:
        case RefundAction::kRetryLater:
            if (deps_.hooks.retry) {
                deps_.hooks.retry();
            }
            row.next_attempt_at = deps_.clock.Now() + StepRetryDelay(row.retries, deps_.policy);
            row.retries += 1;
            break;
    }
    return out;
}

void RefundWork::Record(ProviderStore& store, Outbox& outbox, const Outcome& out) {
    const log::ScopedContext context(out.claimed.trace_id, "", out.claimed.payment_id.Value());
    const tracing::ScopedContext trace(out.trace);
    for (const AttemptRecord& call : out.calls) {
        store.RecordAttempt(call);
    }
    if (!store.SaveRefund(out.claimed, out.after)) {
        // Written since the claim (its lease ran out and another worker took it): that
        // writer's view stands; these keyed calls changed nothing twice. This relies on the PSP
        // answering one refund key the same way every time (a decline stays declined), as
        // idempotency keys do; the simulation's PSP keeps declines per key for that reason.
        log::Warn("refund changed while its PSP calls ran; outcome not recorded");
        return;
    }
    if (!out.tell) {
        return;
    }
    outbox.Emit(
        RefundCompleted{
            out.after.refund_id,
            out.after.amount,
            out.after.status == RefundState::kSucceeded,
            out.after.failure_reason,
            out.latency.count()},
        out.after.payment_id,
        out.after.trace_id,
        deps_.clock
    );
}

}  // namespace sagapay::provider
