#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "core/clock.hpp"
#include "core/messaging/envelope.hpp"
#include "core/messaging/topics.hpp"
#include "core/money.hpp"
#include "core/result.hpp"
#include "core/strong_id.hpp"

namespace sagapay {

/// Typed payloads, one struct per topic. The codec below is the only code that reads or writes
/// event JSON: handlers get these structs, and a payload that lacks a field its struct needs is
/// refused by the decoder (kInvalidArgument, naming the field) and dead-lettered with that reason.
///
///   auto authorized = DecodeEvent<PaymentAuthorized>(envelope);   // Result<PaymentAuthorized>
///   Envelope out = NewEnvelope(CaptureRequested{…}, payment_id, trace_id, clock);

/// A risk verdict (the seed's `decision` field).
enum class Verdict { kApprove, kReview, kDeny };
[[nodiscard]] std::string_view ToString(Verdict verdict) noexcept;  ///< APPROVE, REVIEW, DENY
[[nodiscard]] std::optional<Verdict> ParseVerdict(std::string_view text) noexcept;

/// Why a payment failed (the seed's `error_code` field).
enum class FailureCode {
    kRiskDenied,
    kManualDeny,
    kProviderDecline,
    kProviderTimeout,
    kProviderInvalidRequest,
    kCaptureRefused,
    kUnknown,  ///< A code this build does not know; kept as text in `error_code_text`.
};
[[nodiscard]] std::string_view ToString(FailureCode code) noexcept;
[[nodiscard]] FailureCode ParseFailureCode(std::string_view text) noexcept;

/// The facts of a payment the saga carries from step to step.
struct PaymentFacts {
    CustomerId customer_id;
    Money amount;

    friend bool operator==(const PaymentFacts&, const PaymentFacts&) = default;
};

/// payments.requested: a new payment for risk (also re-emitted by the sweeper).
struct PaymentRequested {
    static constexpr std::string_view kTopic = topics::kPaymentsRequested;
    PaymentFacts facts;
    bool replay = false;  ///< Published by `sagapay replay-dlq`.
};

/// A manual review's decision, carried by risk.approved and risk.denied.
struct ManualReview {
    std::string reviewed_by;
    std::string reviewed_at;    ///< ISO-8601; empty for an expiry.
    std::string review_status;  ///< APPROVED or DENIED.
};

/// The body of risk.approved and risk.denied.
struct RiskDecided {
    Verdict decision = Verdict::kApprove;
    std::string reason;  ///< rule_passed, high_amount, …, manual_approve, manual_deny
    CustomerId customer_id;
    std::optional<ManualReview> review;
};

/// risk.approved: APPROVE, by the rules or by a person.
struct RiskApproved : RiskDecided {
    static constexpr std::string_view kTopic = topics::kRiskApproved;
};

/// risk.denied: DENY (rules, a person, an expiry) or REVIEW (wait for a person).
struct RiskDenied : RiskDecided {
    static constexpr std::string_view kTopic = topics::kRiskDenied;
};

/// provider.authorize.requested: authorize the payment at the PSP.
struct AuthorizeRequested {
    static constexpr std::string_view kTopic = topics::kProviderAuthorizeRequested;
    PaymentFacts facts;
    bool replay = false;  ///< Published by `sagapay replay-dlq`: try a timed-out payment again.
    /// `capture_on_authorize`: automatic capture. The provider captures as soon as the PSP
    /// authorized, in the same piece of work, and says so on payments.authorized; the saga then
    /// asks for no capture (two bus hops fewer). Absent (false): the provider only authorizes
    /// and the saga sends provider.capture.requested, as before.
    bool capture_on_authorize = false;
};

/// payments.authorized: the PSP holds the amount.
struct PaymentAuthorized {
    static constexpr std::string_view kTopic = topics::kPaymentsAuthorized;
    int attempt_number = 1;
    std::int64_t latency_ms = 0;  ///< Of the PSP call that authorized.
    std::string authorization_id;
    /// `capture_follows`: the provider captures by itself (it was asked to capture on
    /// authorization): the saga asks for no capture.
    bool capture_follows = false;
    /// `captured`: the capture is done, and its provider.capture.completed was emitted in the
    /// same transaction as this event: that event moves the payment (AUTHORIZED and CAPTURED).
    bool captured = false;
};

/// provider.capture.requested: capture the authorized amount, or part of it.
struct CaptureRequested {
    static constexpr std::string_view kTopic = topics::kProviderCaptureRequested;
    PaymentFacts facts;            ///< The authorized amount.
    std::string authorization_id;  ///< Empty when re-driven by the sweeper.
    /// `capture_amount_cents`: what to capture, at most facts.amount (a manual partial capture;
    /// the rest of the authorization is released). 0 (absent on the wire): all of it.
    std::int64_t capture_amount_minor = 0;

    /// What the PSP is to capture.
    [[nodiscard]] Money ToCapture() const {
        return capture_amount_minor > 0 ? Money{capture_amount_minor, facts.amount.currency}
                                        : facts.amount;
    }
};

/// provider.capture.completed: the PSP captured.
struct CaptureCompleted {
    static constexpr std::string_view kTopic = topics::kProviderCaptureCompleted;
    std::string authorization_id;
    Money amount;
};

/// payments.captured: the money moved; the ledger posts it.
struct PaymentCaptured {
    static constexpr std::string_view kTopic = topics::kPaymentsCaptured;
    PaymentFacts facts;
};

/// payments.failed: from the provider (decline, timeout) or from the orchestrator itself (risk).
struct PaymentFailed {
    static constexpr std::string_view kTopic = topics::kPaymentsFailed;
    FailureCode error_code = FailureCode::kUnknown;
    std::string error_code_text;  ///< The wire text (kept for codes this build does not know).
    std::string reason;
    CustomerId customer_id;
    std::optional<Money> amount;     ///< Set by the orchestrator.
    int attempt_number = 0;          ///< Set by the provider.
    std::int64_t latency_ms = 0;     ///< Set by the provider.
    bool from_orchestrator = false;  ///< `source: orchestrator`: the saga's own announcement.
};

/// payments.settled: the ledger posted the settlement.
struct PaymentSettled {
    static constexpr std::string_view kTopic = topics::kPaymentsSettled;
    std::string transaction_id;
    Money amount;
};

/// payments.reversed: the saga compensated a failed payment.
struct PaymentReversed {
    static constexpr std::string_view kTopic = topics::kPaymentsReversed;
    std::string reason;
    EventId source_event_id;
    PaymentFacts facts;
};

/// payments.dlq: a record of a payment step that was given up, optionally replayable.
struct DlqRecorded {
    static constexpr std::string_view kTopic = topics::kPaymentsDlq;
    std::string reason;
    std::string error_type;  ///< NON_RETRYABLE, RETRY_EXHAUSTED
    bool retryable = false;
    std::string source;  ///< The service that parked it.
    EventId source_event_id;
    std::string replay_topic;              ///< Empty when not replayable.
    std::optional<Envelope> failed_event;  ///< What a replay publishes.
};

/// provider.release.requested: the payment ended (FAILED or REVERSED) but the PSP may hold or
/// have taken money for it: void the authorization or refund the capture, whichever is there.
struct ReleaseRequested {
    static constexpr std::string_view kTopic = topics::kProviderReleaseRequested;
    PaymentFacts facts;
    std::string reason;  ///< Why, e.g. "payments.authorized after REVERSED".
};

/// provider.refund.requested: give back `amount` of a settled payment under `refund_id` (the
/// PSP idempotency key is derived from it, so a redelivery never refunds twice).
struct RefundRequested {
    static constexpr std::string_view kTopic = topics::kProviderRefundRequested;
    std::string refund_id;
    Money amount;
    CustomerId customer_id;
    std::string reason;  ///< The merchant's reason (requested_by_customer, duplicate, …).
};

/// provider.refund.completed: what the PSP did with a refund.
struct RefundCompleted {
    static constexpr std::string_view kTopic = topics::kProviderRefundCompleted;
    std::string refund_id;
    Money amount;
    bool succeeded = false;      ///< `status`: SUCCEEDED or FAILED.
    std::string failure_reason;  ///< Why the PSP refused (FAILED only).
    std::int64_t latency_ms = 0;
};

/// payments.refunded: a refund succeeded; the ledger posts it.
struct PaymentRefunded {
    static constexpr std::string_view kTopic = topics::kPaymentsRefunded;
    std::string refund_id;
    Money amount;
    std::int64_t refunded_total_minor = 0;  ///< Every succeeded refund of the payment, this one in.
    std::int64_t captured_minor = 0;        ///< What was captured (and settled).
    CustomerId customer_id;
    std::string reason;
};

/// refunds.failed: the PSP refused a refund; nothing was given back.
struct RefundFailed {
    static constexpr std::string_view kTopic = topics::kRefundsFailed;
    std::string refund_id;
    Money amount;
    CustomerId customer_id;
    std::string reason;
};

/// Any event of the saga, for consumers that read several topics.
using SagaEvent = std::variant<
    PaymentRequested,
    RiskApproved,
    RiskDenied,
    AuthorizeRequested,
    PaymentAuthorized,
    CaptureRequested,
    CaptureCompleted,
    PaymentCaptured,
    PaymentFailed,
    PaymentSettled,
    PaymentReversed,
    DlqRecorded,
    ReleaseRequested,
    RefundRequested,
    RefundCompleted,
    PaymentRefunded,
    RefundFailed>;

/// The payload JSON of an event (the seed's field names).
[[nodiscard]] nlohmann::json EncodePayload(const SagaEvent& event);

/// Decodes the payload of `envelope` as the event its `event_type` names. kInvalidArgument for
/// an unknown topic or a payload that lacks a required field or has one of the wrong type.
[[nodiscard]] Result<SagaEvent> DecodeSagaEvent(const Envelope& envelope);

/// Decodes `envelope` as a T; kInvalidArgument when it is another topic or a malformed payload.
template <class T>
[[nodiscard]] Result<T> DecodeEvent(const Envelope& envelope) {
    if (envelope.event_type != T::kTopic) {
        return Fail(
            ErrorCode::kInvalidArgument,
            "expected a " + std::string(T::kTopic) + " event, got " + envelope.event_type
        );
    }
    auto decoded = DecodeSagaEvent(envelope);
    if (!decoded) {
        return tl::unexpected(decoded.error());
    }
    return std::get<T>(std::move(*decoded));
}

/// The topic of an event.
[[nodiscard]] std::string_view TopicOf(const SagaEvent& event);

/// A new envelope carrying `event` for `payment`: fresh event id, stamped by `clock`.
[[nodiscard]] Envelope NewEnvelope(
    const SagaEvent& event, const PaymentId& payment, std::string trace_id, const Clock& clock
);

}  // namespace sagapay
