#pragma once

#include <chrono>
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
    /// How long a worker's claim lasts per payment: longer than the PSP calls of one payment
    /// take (the k-th payment of a batch is leased k times this). A worker that dies mid-call
    /// leaves its payments due again when their leases end; one that outlives a lease only
    /// repeats keyed calls (its outcome is then not recorded over the other worker's).
    std::chrono::milliseconds lease{std::chrono::seconds(8)};
};

/// The provider's consumers, over one unit of work (`store` and `outbox` belong to it; a throw
/// undoes it). Cheap to make: one per consumed event. None of them calls the PSP: each records
/// what is to be done as due, and the workers (PspWork) make the calls outside any transaction.
///
/// The provider's state of a payment only moves forward (CanMove): a repeated or late request is
/// answered with what is already known and never moves a payment back.
class ProviderHandler {
public:
    ProviderHandler(const ProviderDeps& deps, ProviderStore& store, Outbox& outbox) noexcept
        : deps_(deps), store_(store), outbox_(outbox) {}

    /// provider.authorize.requested: records the payment as due now. A request that does not
    /// decode fails the payment (PROVIDER_INVALID_REQUEST) and is dead-lettered NON_RETRYABLE; a
    /// repeated request (a redelivery, the sweeper, a DLQ replay) is answered with what is
    /// already known and never authorizes a payment again.
    void OnAuthorizeRequested(const Envelope& envelope);
    /// provider.capture.requested: an authorized payment becomes due for capture now. Throws
    /// PermanentEventError when the request does not decode or the payment is unknown.
    void OnCaptureRequested(const Envelope& envelope);
    /// provider.release.requested: the saga ended the payment unpaid; whatever the PSP holds or
    /// took for it is voided or refunded by a worker (the janitor's check, due now).
    void OnReleaseRequested(const Envelope& envelope);
    /// provider.refund.requested: records the refund (one per refund id) as due now, against
    /// the payment's capture; a worker (RefundWork) calls the PSP. A payment the provider never
    /// captured cannot be refunded: the saga is told the refund FAILED at once.
    void OnRefundRequested(const Envelope& envelope);

private:
    void Redeliver(const PaymentId& payment_id);
    void Rejected(const Envelope& envelope, const std::string& reason, const CustomerId& customer);
    void WakeWorkersAfterCommit();

    const ProviderDeps& deps_;
    ProviderStore& store_;
    Outbox& outbox_;
};

/// Emits what the provider tells the saga about `row` (shared by the consumers and the workers).
class ProviderEvents {
public:
    ProviderEvents(const ProviderDeps& deps, Outbox& outbox) noexcept
        : deps_(deps), outbox_(outbox) {}

    /// payments.authorized. For a payment captured on authorization its flags say so: the
    /// capture follows (`capture_follows`, unless the row still waits for a capture request),
    /// or it is done (`captured`), and then provider.capture.completed is emitted with it, in
    /// the same transaction (the saga relies on that).
    void Authorized(const ProviderPayment& row, std::chrono::milliseconds latency);
    void Failed(const ProviderPayment& row, FailureCode code, std::chrono::milliseconds latency);
    void Captured(const ProviderPayment& row);
    /// Attempts ran out: the request is parked as the seed's RETRY_EXHAUSTED dead letter. Its
    /// replay is refused by `sagapay replay-dlq` (the saga reversed the payment) and answered
    /// with the timeout again by OnAuthorizeRequested: it never authorizes the payment.
    void Exhausted(const ProviderPayment& row);
    void Dlq(DlqRecorded dlq, const Envelope& source);

private:
    const ProviderDeps& deps_;
    Outbox& outbox_;
};

}  // namespace sagapay::provider
