#pragma once

#include <functional>
#include <string_view>

#include "core/clock.hpp"
#include "core/messaging/envelope.hpp"
#include "core/ports/outbox.hpp"
#include "core/ports/psp_client.hpp"
#include "services/provider/provider_store.hpp"
#include "services/provider/retry_policy.hpp"

namespace sagapay::provider {

/// What the handlers tell the rest of the process. Every member may be left empty.
struct ProviderHooks {
    /// A PSP call is to be repeated (an unknown outcome): counted at once, committed or not.
    std::function<void()> retry;
    /// A `payments.dlq` event committed, with its error_type.
    std::function<void(std::string_view error_type)> dlq_published;
    /// A payment committed as due now: a worker should look.
    std::function<void()> payment_due;
};

/// What every provider unit of work shares: long-lived, read-only.
struct ProviderDeps {
    const Clock& clock;
    PspClient& psp;
    RetryPolicy policy;
    ProviderHooks hooks;
};

/// The provider's decisions, over one unit of work (`store` and `outbox` belong to it; a throw
/// undoes it). Cheap to make: one per consumed event or worker batch.
///
/// Authorization is split in two so that no consumer ever waits on the PSP: the consumer records
/// the request as due (OnAuthorizeRequested), and workers make the calls (WorkDue): the first
/// attempt, then on the backoff schedule a status inquiry before any further attempt, and a void
/// when attempts run out. Every PSP call is keyed (`auth-<payment_id>`, `cap-<payment_id>`), so a
/// unit of work that is undone and redone gets the PSP's first answers again.
class ProviderHandler {
public:
    ProviderHandler(const ProviderDeps& deps, ProviderStore& store, Outbox& outbox) noexcept
        : deps_(deps), store_(store), outbox_(outbox) {}

    /// provider.authorize.requested: records the payment as due now. A request that does not
    /// decode fails the payment (PROVIDER_INVALID_REQUEST) and is dead-lettered NON_RETRYABLE; a
    /// repeated request is answered with what is already known (or, for a replay of a timed-out
    /// payment, makes it due again).
    void OnAuthorizeRequested(const Envelope& envelope);

    /// provider.capture.requested: captures an authorized payment with its capture key. Throws
    /// PermanentEventError when the request does not decode, the payment is unknown or the PSP
    /// refuses; Exception(kDeadlineExceeded) when the outcome is unknown (the event is redelivered
    /// and captured again under the same key).
    void OnCaptureRequested(const Envelope& envelope);

    /// Claims up to `limit` payments due at the clock's now and works each (its next PSP step).
    /// Returns how many it claimed. Throws Exception(kDeadlineExceeded) when a void gets no
    /// answer: the whole unit of work is undone and redone later.
    int WorkDue(int limit);

private:
    void Redeliver(const AuthorizeRequested& request, const PaymentId& payment_id);
    void Work(ProviderPayment row);
    void Act(const ProviderPayment& row, const Action& action, const PspAnswer& answer);
    void Capture(const ProviderPayment& row);
    void GiveUp(const ProviderPayment& row, const PspAnswer& answer);
    void Rejected(const Envelope& envelope, const std::string& reason, const CustomerId& customer);

    [[nodiscard]] PspAnswer Authorize(const ProviderPayment& row);
    void Record(const ProviderPayment& row, PspOperation operation, const PspAnswer& answer);
    void Authorized(const ProviderPayment& row, const PspAnswer& answer);
    void EmitFailed(
        const ProviderPayment& row, FailureCode code, std::chrono::milliseconds latency
    );
    void EmitDlq(DlqRecorded dlq, const Envelope& source);
    void EmitCaptured(const ProviderPayment& row);
    void CountRetry();
    void WakeWorkersAfterCommit();

    const ProviderDeps& deps_;
    ProviderStore& store_;
    Outbox& outbox_;
};

}  // namespace sagapay::provider
