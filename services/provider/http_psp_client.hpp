#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "core/ports/psp_client.hpp"

namespace sagapay::provider {

/// What the PSP's HTTP API answered: a status and a body, or nothing (no answer in time, a broken
/// connection). The classifiers below are what HttpPspClient makes of it, kept pure so that the
/// deterministic simulation reads the sandbox's answers exactly as the service does.
struct PspReply {
    std::optional<int> status;  ///< Empty: no answer.
    std::string body;
    std::string error;  ///< Why there was no answer.
};

/// An authorization or a status inquiry: 404 not found, 402 or DECLINED declined, 200 with
/// AUTHORIZED, CAPTURED, VOIDED or REFUNDED that state; anything else (no answer, a 5xx, an
/// unreadable body) unknown.
[[nodiscard]] PspAnswer ClassifyAuthorization(const PspReply& reply);
/// A keyed capture: 2xx captured (with the record's `captured_amount_cents` as captured_minor
/// when it has one), another 4xx (409, 422, …) refused, no answer or a 5xx unknown. The latency
/// is left at 0.
[[nodiscard]] CaptureAnswer ClassifyCapture(const PspReply& reply);
/// A void: 200 or 404 (never processed: nothing held) released, anything else unknown.
[[nodiscard]] VoidOutcome ClassifyVoid(const PspReply& reply) noexcept;
/// A keyed refund: 2xx refunded, another 4xx (409, 422, …) refused, no answer or a 5xx unknown.
[[nodiscard]] RefundOutcome ClassifyRefund(const PspReply& reply) noexcept;
/// A refund inquiry: 2xx refunded, 404 not found (never made under that refund key), anything
/// else unknown.
[[nodiscard]] RefundOutcome ClassifyRefundInquiry(const PspReply& reply) noexcept;

/// PspClient over the sandbox PSP's HTTP API (services/psp_sandbox), with a keep-alive pool.
/// Each answer carries the call's latency on the steady clock.
[[nodiscard]] std::unique_ptr<PspClient> MakeHttpPspClient(
    const std::string& base_url, std::chrono::milliseconds timeout
);

}  // namespace sagapay::provider
