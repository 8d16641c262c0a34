#pragma once

#include <chrono>
#include <functional>
#include <string_view>

#include "core/ports/psp_client.hpp"
#include "runtime/tracing.hpp"

namespace sagapay::provider {

/// The bounded outcome label of one PSP call, for psp_requests_total: "ok" (it answered and did
/// or knew what was asked, a NOT_FOUND inquiry of an authorization or a refund included),
/// "declined" (an authorization refused),
/// "refused" (a capture or refund refused), "timeout" (no answer within `timeout`) or "error"
/// (no usable answer sooner: a reset, a 5xx).
[[nodiscard]] std::string_view OutcomeLabel(
    PspOperation operation,
    bool answered,
    bool refused,
    std::chrono::milliseconds latency,
    std::chrono::milliseconds timeout
) noexcept;

/// Told of every PSP call once it returned: which, its OutcomeLabel and how long it took.
using PspCallObserver = std::function<
    void(PspOperation operation, std::string_view outcome, std::chrono::milliseconds latency)>;

/// A PspClient that reports every call of the one it wraps to an observer (the provider wires
/// it to Prometheus) and traces it as a client span ("psp authorize", "psp inquire refund", …,
/// with psp.operation and
/// psp.outcome; the HTTP client sends that span's traceparent). Adds no I/O and no lock of its
/// own; thread-safe when both parts are.
class MeteredPspClient final : public PspClient {
public:
    MeteredPspClient(PspClient& inner, std::chrono::milliseconds timeout, PspCallObserver observer)
        : inner_(inner), timeout_(timeout), observer_(std::move(observer)) {}

    // PspClient
    PspAnswer Authorize(const AuthorizeCall& call) override;
    PspAnswer Inquire(const std::string& key) override;
    CaptureAnswer Capture(
        const std::string& authorization_key,
        const std::string& capture_key,
        std::int64_t amount_minor
    ) override;
    VoidAnswer Void(const std::string& authorization_key) override;
    RefundAnswer Refund(
        const std::string& authorization_key,
        const std::string& refund_key,
        std::int64_t amount_minor
    ) override;
    RefundAnswer InquireRefund(const std::string& authorization_key, const std::string& refund_key)
        override;

private:
    void Report(
        tracing::Span& span,
        PspOperation operation,
        bool answered,
        bool refused,
        std::chrono::milliseconds latency
    ) const;

    PspClient& inner_;
    std::chrono::milliseconds timeout_;
    PspCallObserver observer_;
};

}  // namespace sagapay::provider
