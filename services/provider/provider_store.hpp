#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"
#include "core/messaging/envelope.hpp"
#include "core/messaging/events.hpp"
#include "core/money.hpp"
#include "core/ports/outbox.hpp"
#include "core/ports/psp_client.hpp"
#include "core/strong_id.hpp"

namespace sagapay::provider {

/// Where a payment stands at the PSP, as the provider recorded it (`provider_payments.status`).
/// Moves only forward (CanMove):
///
///   AUTHORIZING → AUTHORIZED → CAPTURING → CAPTURED → REFUNDED
///        ↓             ↓            ↓
///   DECLINED, TIMED_OUT  VOIDED ←───┘
///
/// With capture_on_authorize (automatic capture) the worker that authorizes captures at once:
/// AUTHORIZING → CAPTURED (or CAPTURING, due again, when the capture got no answer; or VOIDED
/// when the PSP refused it) in one recorded outcome.
///
/// DECLINED, TIMED_OUT, VOIDED and REFUNDED are the failed ones: the PSP must hold nothing for
/// them, which the janitor checks (and makes true) on its schedule.
enum class ProviderStatus {
    kAuthorizing,
    kAuthorized,
    kDeclined,
    kTimedOut,
    kCaptured,
    kCapturing,  ///< A worker is to capture (the capture was requested).
    kVoided,     ///< Released: a refused capture, or the saga ended the payment first.
    kRefunded,   ///< Captured, then given back: the saga ended the payment first.
};
[[nodiscard]] std::string_view ToString(ProviderStatus status) noexcept;
[[nodiscard]] std::optional<ProviderStatus> ParseProviderStatus(std::string_view text) noexcept;
/// True when a payment in `from` may be recorded as `to` (the same status included).
[[nodiscard]] bool CanMove(ProviderStatus from, ProviderStatus to) noexcept;
/// DECLINED, TIMED_OUT, VOIDED, REFUNDED: the payment failed, the PSP must hold nothing.
[[nodiscard]] bool MustHoldNothing(ProviderStatus status) noexcept;

/// What one PSP call came to, as `provider_attempts.result` records it.
enum class AttemptResult {
    kAuthorized,
    kDeclined,
    kTimeout,  ///< No answer (or an unclassifiable one): unknown outcome.
    kNotFound,
    kCaptured,
    kRefused,
    kVoided,
    kRefunded,
};
[[nodiscard]] std::string_view ToString(AttemptResult result) noexcept;
[[nodiscard]] std::string_view ToString(PspOperation operation) noexcept;

/// A payment the provider starts to authorize.
struct NewAuthorization {
    PaymentId payment_id;
    CustomerId customer_id;
    Money amount;
    std::string trace_id;
    std::string authorization_key;  ///< The PSP idempotency key of every attempt.
    Envelope source_event;          ///< The request, for a replayable dead letter.
    /// Automatic capture: capture as soon as the PSP authorized, in the same piece of work.
    bool capture_on_authorize = false;
};

/// A payment as the provider keeps it.
struct ProviderPayment {
    PaymentId payment_id;
    CustomerId customer_id;
    Money amount;
    std::string trace_id;
    ProviderStatus status = ProviderStatus::kAuthorizing;
    std::string authorization_key;
    std::string authorization_id;                     ///< Empty until authorized.
    int attempts = 0;                                 ///< Authorization attempts sent so far.
    std::optional<Clock::TimePoint> next_attempt_at;  ///< Set while a worker has work to do.
    std::optional<Envelope> source_event;  ///< nullopt when the stored text is not an envelope.
    /// Bumped by every write: a worker records what it found only if nobody wrote the payment
    /// since its claim (a claim that outlived its lease, a release request meanwhile).
    std::int64_t claim = 0;
    bool fresh = true;  ///< Work nobody tried yet: claimed before retries and janitor checks.
    int retries = 0;    ///< Unanswered captures, voids or refunds in a row (the backoff).
    int checks = 0;     ///< Janitor checks done since the payment failed.
    /// What to capture (a manual partial capture); 0: the whole authorization.
    std::int64_t capture_amount_minor = 0;
    /// Automatic capture: the worker that authorizes captures too (AUTHORIZING → CAPTURING or
    /// CAPTURED in one piece of work), and the saga sends no capture request.
    bool capture_on_authorize = false;

    /// What the capture takes (and took, once CAPTURED).
    [[nodiscard]] Money ToCapture() const {
        return capture_amount_minor > 0 ? Money{capture_amount_minor, amount.currency} : amount;
    }
};

/// Where a refund stands at the PSP (`provider_refunds.status`): REFUNDING until the PSP said
/// it refunded (SUCCEEDED) or refused it (FAILED); an unanswered call is asked about and tried
/// again, never given up (money may have moved).
enum class RefundState { kRefunding, kSucceeded, kFailed };
[[nodiscard]] std::string_view ToString(RefundState state) noexcept;
[[nodiscard]] std::optional<RefundState> ParseRefundState(std::string_view text) noexcept;

/// A refund as the provider keeps it.
struct ProviderRefund {
    std::string refund_id;  ///< The saga's id (a UUID).
    PaymentId payment_id;
    Money amount;
    std::string reason;
    std::string trace_id;
    std::string authorization_key;  ///< The payment's authorization at the PSP.
    std::string refund_key;         ///< The PSP idempotency key of every refund call.
    RefundState status = RefundState::kRefunding;
    int attempts = 0;  ///< Refund calls sent so far.
    int retries = 0;   ///< Unanswered calls in a row (the backoff).
    std::optional<Clock::TimePoint> next_attempt_at;
    std::int64_t claim = 0;  ///< Bumped by every write (a worker's compare-and-swap).
    std::string failure_reason;
};

/// One PSP call for the audit trail (`provider_attempts`).
struct AttemptRecord {
    PaymentId payment_id;
    int attempt_number = 0;
    PspOperation operation = PspOperation::kAuthorize;
    AttemptResult result = AttemptResult::kTimeout;
    std::chrono::milliseconds latency{0};
    std::optional<FailureCode> error_code;
};

/// Port: the provider's payments and its audit trail of PSP calls, within one unit of work (a
/// database transaction). Every time comes from the caller's Clock, never from the database, so
/// what a worker writes as due and what it later compares with are the same clock's readings.
/// Failures throw (sagapay::Exception or postgres::SqlError); the unit of work is then undone.
class ProviderStore {
public:
    virtual ~ProviderStore() = default;

    /// Records `payment` as AUTHORIZING with no attempt yet, due at `due`. False when the
    /// payment was already known: nothing is changed.
    virtual bool InsertAuthorizing(const NewAuthorization& payment, Clock::TimePoint due) = 0;

    /// The payment, locked until the unit of work ends; nullopt when unknown.
    virtual std::optional<ProviderPayment> Lock(const PaymentId& payment_id) = 0;

    /// Claims up to `limit` payments due at `now`, skipping those another unit of work holds:
    /// fresh work before retries, each by due time. The k-th (from 1) is due again at
    /// now + k * `lease`, so a worker that dies mid-call loses nothing and one that works them in
    /// order finishes each before its lease ends; each claim is bumped. Returned as claimed, in
    /// that order. (PgProviderStore also releases at once the claims of workers whose database
    /// session ended: a killed worker's payments do not wait for their leases.)
    virtual std::vector<ProviderPayment> ClaimDue(
        Clock::TimePoint now, int limit, std::chrono::milliseconds lease
    ) = 0;

    /// When the earliest payment or refund falls due; nullopt when none is waiting.
    virtual std::optional<Clock::TimePoint> NextDue() = 0;

    /// Writes `after` (status, authorization id, attempts, due time, fresh, retries, checks,
    /// capture amount) over
    /// the payment if it is still as `before` left it (same status and claim), bumping its claim:
    /// a compare-and-swap. False, changing nothing, when someone wrote it since.
    virtual bool Save(const ProviderPayment& before, const ProviderPayment& after) = 0;
    virtual void RecordAttempt(const AttemptRecord& attempt) = 0;

    /// Records `refund` (REFUNDING, no attempt) due at `due`. False when the refund id was
    /// already known: nothing is changed (one refund per id, whatever is redelivered).
    virtual bool InsertRefund(const ProviderRefund& refund, Clock::TimePoint due) = 0;
    /// The refund, locked until the unit of work ends; nullopt when unknown.
    virtual std::optional<ProviderRefund> LockRefund(const std::string& refund_id) = 0;
    /// Claims up to `limit` refunds due at `now`, as ClaimDue claims payments (the k-th due
    /// again at now + k * `lease`, each claim bumped), by due time.
    virtual std::vector<ProviderRefund> ClaimDueRefunds(
        Clock::TimePoint now, int limit, std::chrono::milliseconds lease
    ) = 0;
    /// Writes `after` (status, attempts, retries, due time, failure reason) over the refund if
    /// it is still as `before` left it (same status and claim), bumping its claim. False,
    /// changing nothing, when someone wrote it since.
    virtual bool SaveRefund(const ProviderRefund& before, const ProviderRefund& after) = 0;
};

/// Port: opens units of work over the provider database. Run() gives `work` a store and an
/// outbox bound to one new transaction, commits it when `work` returns and rolls it back
/// (rethrowing) when `work` throws. Nothing that calls the PSP runs inside one.
class ProviderUnitsOfWork {
public:
    using Work = std::function<void(ProviderStore& store, Outbox& outbox)>;
    virtual ~ProviderUnitsOfWork() = default;
    virtual void Run(const Work& work) = 0;
};

}  // namespace sagapay::provider
