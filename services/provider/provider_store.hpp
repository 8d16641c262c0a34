#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"
#include "core/messaging/envelope.hpp"
#include "core/messaging/events.hpp"
#include "core/money.hpp"
#include "core/ports/psp_client.hpp"
#include "core/strong_id.hpp"

namespace sagapay::provider {

/// Where a payment stands at the PSP, as the provider recorded it (`provider_payments.status`).
enum class ProviderStatus { kAuthorizing, kAuthorized, kDeclined, kTimedOut, kCaptured };
[[nodiscard]] std::string_view ToString(ProviderStatus status) noexcept;
[[nodiscard]] std::optional<ProviderStatus> ParseProviderStatus(std::string_view text) noexcept;

/// What one PSP call came to, as `provider_attempts.result` records it.
enum class AttemptResult {
    kAuthorized,
    kDeclined,
    kTimeout,  ///< No answer (or an unclassifiable one): unknown outcome.
    kNotFound,
    kCaptured,
    kRefused,
    kVoided,
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

    /// Up to `limit` payments due at `now`, locked, skipping those another unit of work holds:
    /// first attempts before retries, each by due time.
    virtual std::vector<ProviderPayment> ClaimDue(Clock::TimePoint now, int limit) = 0;

    /// When the earliest payment falls due; nullopt when none is waiting.
    virtual std::optional<Clock::TimePoint> NextDue() = 0;

    /// AUTHORIZED by the PSP as `authorization_id` after `attempts` attempts; no longer due.
    virtual void MarkAuthorized(
        const PaymentId& payment_id, const std::string& authorization_id, int attempts
    ) = 0;
    /// DECLINED after `attempts` attempts; no longer due.
    virtual void MarkDeclined(const PaymentId& payment_id, int attempts) = 0;
    /// Still AUTHORIZING after `attempts` attempts; due again at `at`.
    virtual void Reschedule(const PaymentId& payment_id, int attempts, Clock::TimePoint at) = 0;
    /// TIMED_OUT (attempts exhausted and voided); no longer due.
    virtual void MarkTimedOut(const PaymentId& payment_id) = 0;
    virtual void MarkCaptured(const PaymentId& payment_id) = 0;
    /// AUTHORIZING again with no attempt, due at `due`: a replay of a timed-out payment.
    virtual void ResetForReplay(const PaymentId& payment_id, Clock::TimePoint due) = 0;

    virtual void RecordAttempt(const AttemptRecord& attempt) = 0;
};

}  // namespace sagapay::provider
