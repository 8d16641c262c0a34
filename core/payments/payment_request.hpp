#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.hpp"

namespace sagapay {

/// A validated `POST /payments` body (the seed's four fields).
struct PaymentRequest {
    std::string customer_id;
    std::int64_t amount_cents = 0;
    std::string currency;  ///< Upper case, a known ISO 4217 code.
    std::string idempotency_key;

    /// SHA-256 of the canonical body: what "the same request" means for an idempotency key.
    [[nodiscard]] std::string Fingerprint() const;
};

/// A refusal of a request: HTTP status, stable error code, the field at fault.
struct ValidationError {
    int status = 400;
    std::string code;
    std::string message;
    std::string field;
};

inline constexpr std::size_t kMaxCustomerIdLength = 64;
inline constexpr std::size_t kMinIdempotencyKeyLength = 5;
inline constexpr std::size_t kMaxIdempotencyKeyLength = 128;

/// Parses and validates a JSON body. Rules (docs/api.md): an object with exactly the four fields
/// (unknown fields are refused, so a typo is never silently ignored); `amount_cents` a JSON
/// integer from 1 to kMaxAmountMinor (no strings, fractions or exponents); `currency` three
/// letters naming a currency of the core table (lower case is accepted and upper-cased);
/// `customer_id` 1–64 and `idempotency_key` 5–128 characters from [A-Za-z0-9._:@+-].
/// Malformed JSON → 400 `malformed_json`; any rule broken → 422 `validation_error` with the field.
[[nodiscard]] tl::expected<PaymentRequest, ValidationError> ParsePaymentRequest(
    std::string_view body
);

/// True when every character is allowed in an identifier field.
[[nodiscard]] bool IsSafeIdentifier(std::string_view text) noexcept;

}  // namespace sagapay
