#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/money.hpp"
#include "core/result.hpp"
#include "core/strong_id.hpp"

namespace sagapay {

/// A validated `POST /payments` body (the seed's four fields).
struct PaymentRequest {
    CustomerId customer_id;
    Money amount;  ///< `amount_cents` and `currency` on the wire.
    IdempotencyKey idempotency_key;

    /// SHA-256 of the canonical body: what "the same request" means for an idempotency key.
    [[nodiscard]] std::string Fingerprint() const;
};

inline constexpr std::size_t kMaxCustomerIdLength = 64;
inline constexpr std::size_t kMinIdempotencyKeyLength = 5;
inline constexpr std::size_t kMaxIdempotencyKeyLength = 128;

/// Parses and validates a JSON body. Rules: an object with exactly the four fields
/// (unknown fields are refused, so a typo is never silently ignored); `amount_cents` a JSON
/// integer from 1 to kMaxAmountMinor (no strings, fractions or exponents); `currency` three
/// letters naming a currency of the core table (lower case is accepted and upper-cased);
/// `customer_id` 1–64 and `idempotency_key` 5–128 characters from [A-Za-z0-9._:@+-].
/// A refusal is kInvalidArgument with `reason` malformed_json (not JSON, not an object: HTTP 400)
/// or validation_error (a rule broken: HTTP 422) and the `field` at fault.
[[nodiscard]] Result<PaymentRequest> ParsePaymentRequest(std::string_view body);

/// True when every character is allowed in an identifier field.
[[nodiscard]] bool IsSafeIdentifier(std::string_view text) noexcept;

/// The longest trace id accepted from a client (`X-Trace-Id`).
inline constexpr std::size_t kMaxTraceIdLength = 128;

/// `candidate` (a client's X-Trace-Id) when it is 1–128 identifier characters, else `fallback`:
/// a trace id is logged and stored, so it must never carry control characters or unbounded text.
[[nodiscard]] std::string SanitizeTraceId(std::string_view candidate, std::string_view fallback);

}  // namespace sagapay
