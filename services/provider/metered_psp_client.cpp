#include "services/provider/metered_psp_client.hpp"

#include <string>

#include "services/provider/provider_store.hpp"

namespace sagapay::provider {

std::string_view OutcomeLabel(
    PspOperation operation,
    bool answered,
    bool refused,
    std::chrono::milliseconds latency,
    std::chrono::milliseconds timeout
) noexcept {
    if (!answered) {
        return latency >= timeout ? "timeout" : "error";
    }
    if (refused) {
        return operation == PspOperation::kAuthorize || operation == PspOperation::kInquire
                   ? "declined"
                   : "refused";
    }
    return "ok";
}

void MeteredPspClient::Report(
    tracing::Span& span,
    PspOperation operation,
    bool answered,
    bool refused,
    std::chrono::milliseconds latency
) const {
    const std::string_view outcome = OutcomeLabel(operation, answered, refused, latency, timeout_);
    span.SetAttribute("psp.operation", std::string(ToString(operation)));
    span.SetAttribute("psp.outcome", std::string(outcome));
    if (!answered) {
        span.SetError("PSP " + std::string(outcome));
    }
    observer_(operation, outcome, latency);
}

PspAnswer MeteredPspClient::Authorize(const AuthorizeCall& call) {
    tracing::Span span("psp authorize", tracing::SpanKind::kClient);
    PspAnswer answer = inner_.Authorize(call);
    Report(
        span,
        PspOperation::kAuthorize,
        answer.outcome != PspOutcome::kUnknown,
        answer.outcome == PspOutcome::kDeclined,
        answer.latency
    );
    return answer;
}

PspAnswer MeteredPspClient::Inquire(const std::string& key) {
    tracing::Span span("psp inquire", tracing::SpanKind::kClient);
    PspAnswer answer = inner_.Inquire(key);
    Report(
        span,
        PspOperation::kInquire,
        answer.outcome != PspOutcome::kUnknown,
        answer.outcome == PspOutcome::kDeclined,
        answer.latency
    );
    return answer;
}

CaptureAnswer MeteredPspClient::Capture(
    const std::string& authorization_key, const std::string& capture_key, std::int64_t amount_minor
) {
    tracing::Span span("psp capture", tracing::SpanKind::kClient);
    CaptureAnswer answer = inner_.Capture(authorization_key, capture_key, amount_minor);
    Report(
        span,
        PspOperation::kCapture,
        answer.outcome != CaptureOutcome::kUnknown,
        answer.outcome == CaptureOutcome::kRefused,
        answer.latency
    );
    return answer;
}

VoidAnswer MeteredPspClient::Void(const std::string& authorization_key) {
    tracing::Span span("psp void", tracing::SpanKind::kClient);
    VoidAnswer answer = inner_.Void(authorization_key);
    Report(
        span, PspOperation::kVoid, answer.outcome != VoidOutcome::kUnknown, false, answer.latency
    );
    return answer;
}

RefundAnswer MeteredPspClient::Refund(
    const std::string& authorization_key, const std::string& refund_key, std::int64_t amount_minor
) {
    tracing::Span span("psp refund", tracing::SpanKind::kClient);
    RefundAnswer answer = inner_.Refund(authorization_key, refund_key, amount_minor);
    Report(
        span,
        PspOperation::kRefund,
        answer.outcome != RefundOutcome::kUnknown,
        answer.outcome == RefundOutcome::kRefused,
        answer.latency
    );
    return answer;
}

RefundAnswer MeteredPspClient::InquireRefund(
    const std::string& authorization_key, const std::string& refund_key
) {
    tracing::Span span("psp inquire refund", tracing::SpanKind::kClient);
    RefundAnswer answer = inner_.InquireRefund(authorization_key, refund_key);
    Report(
        span,
        PspOperation::kInquireRefund,
        answer.outcome != RefundOutcome::kUnknown,
        false,  // kNotFound is an answer: "ok", as an authorization's NOT_FOUND inquiry
        answer.latency
    );
    return answer;
}

}  // namespace sagapay::provider
