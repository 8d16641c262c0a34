#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/money.hpp"
#include "core/result.hpp"
#include "core/strong_id.hpp"

namespace sagapay {

/// When the authorized amount is captured: right after the authorization (the seed's flow), or
/// when the merchant asks (`POST /payments/{id}/capture`), within the capture window.
enum class CaptureMethod { kAutomatic, kManual };
[[nodiscard]] std::string_view ToString(CaptureMethod method) noexcept;  ///< automatic, manual
[[nodiscard]] std::optional<CaptureMethod> ParseCaptureMethod(std::string_view text) noexcept;

/// A validated `POST /payments` body (the seed's four fields, and `capture_method`).
struct PaymentRequest {
    CustomerId customer_id;
    Money amount;  ///< `amount_cents` and `currency` on the wire.
    IdempotencyKey idempotency_key;
    CaptureMethod capture_method = CaptureMethod::kAutomatic;

    /// SHA-256 of the canonical body: what "the same request" means for an idempotency key.
    [[nodiscard]] std::string Fingerprint() const;
};

inline constexpr std::size_t kMaxCustomerIdLength = 64;
inline constexpr std::size_t kMinIdempotencyKeyLength = 5;
inline constexpr std::size_t kMaxIdempotencyKeyLength = 128;

/// Parses and validates a JSON body. Rules: an object with the four fields and optionally
/// `capture_method` ("automatic" or "manual") (unknown fields are refused, so a typo is never
/// silently ignored); `amount_cents` a JSON integer from 1 to kMaxAmountMinor (no strings,
/// fractions or exponents); `currency` three letters naming a currency of the core table (lower
/// case is accepted and upper-cased); `customer_id` 1–64 and `idempotency_key` 5–128 characters
/// from [A-Za-z0-9._:@+-]. A refusal is kInvalidArgument with `reason` malformed_json (not JSON,
/// not an object: HTTP 400) or validation_error (a rule broken: HTTP 422) and the `field` at fault.
[[nodiscard]] Result<PaymentRequest> ParsePaymentRequest(std::string_view body);

/// A validated `POST /payments/{id}/capture` body: empty, `{}`, or `{"amount_cents": N}` with N
/// from 1 to kMaxAmountMinor (whether N fits the authorization is the saga's question).
struct CaptureRequest {
    std::optional<std::int64_t> amount_minor;  ///< Nullopt: capture all that is authorized.
};
[[nodiscard]] Result<CaptureRequest> ParseCaptureRequest(std::string_view body);

/// Refusals the API answers with 422 validation_error when `body` is anything but empty or `{}`
/// (`POST /payments/{id}/cancel` takes no fields).
[[nodiscard]] Result<void> ParseEmptyRequest(std::string_view body);

inline constexpr std::size_t kMaxRefundReasonLength = 200;

/// A validated `POST /payments/{id}/refunds` body: `idempotency_key` (required, as for a
/// payment), `amount_cents` (optional: all that is left to refund) and `reason` (optional, 1–200
/// characters of [A-Za-z0-9 ._:@+-], default "requested_by_customer").
struct RefundRequest {
    IdempotencyKey idempotency_key;
    std::optional<std::int64_t> amount_minor;
    std::string reason = "requested_by_customer";

    /// What "the same refund request" means for its idempotency key.
    [[nodiscard]] std::string Fingerprint() const;
};
[[nodiscard]] Result<RefundRequest> ParseRefundRequest(std::string_view body);

/// True when every character is allowed in an identifier field.
[[nodiscard]] bool IsSafeIdentifier(std::string_view text) noexcept;

/// The longest trace id accepted from a client (`X-Trace-Id`).
inline constexpr std::size_t kMaxTraceIdLength = 128;

/// `candidate` (a client's X-Trace-Id) when it is 1–128 identifier characters, else `fallback`:
/// a trace id is logged and stored, so it must never carry control characters or unbounded text.
[[nodiscard]] std::string SanitizeTraceId(std::string_view candidate, std::string_view fallback);

}  // namespace sagapay
