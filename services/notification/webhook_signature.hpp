#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace sagapay::notification {

/// The header a webhook delivery carries (Stripe's scheme): `t=<unix seconds>,v1=<hex>` with one
/// `v1` per signing secret (two while a rotated secret's overlap lasts). Each `v1` is
/// HMAC-SHA256 under that secret of `<t>.<raw body>`.
inline constexpr std::string_view kSignatureHeader = "SagaPay-Signature";

/// The signature header of `body` sent at `timestamp` under every secret of `secrets`.
[[nodiscard]] std::string SignatureHeader(
    std::int64_t timestamp, std::string_view body, std::span<const std::string> secrets
);

/// A parsed signature header: its timestamp and every `v1` (other schemes are ignored, so a
/// receiver keeps working when a scheme is added).
struct ParsedSignature {
    std::int64_t timestamp = 0;
    std::vector<std::string> v1;
};

/// nullopt when the header has no `t=` number or no `v1=`.
[[nodiscard]] std::optional<ParsedSignature> ParseSignatureHeader(std::string_view header);

enum class Verification {
    kValid,
    kMalformed,  ///< not a signature header
    kMismatch,   ///< no v1 is the body's signature under the secret
    kTooOld,     ///< the timestamp is outside the tolerance (a replayed delivery)
};

[[nodiscard]] std::string_view ToString(Verification verification) noexcept;

/// Checks `header` against `body` with `secret`: a v1 must match (constant-time) and the
/// timestamp be within `tolerance` of `now` (either way). Default tolerance: 5 minutes.
[[nodiscard]] Verification VerifySignature(
    std::string_view header,
    std::string_view body,
    std::string_view secret,
    std::int64_t now,
    std::chrono::seconds tolerance = std::chrono::minutes(5)
);

}  // namespace sagapay::notification
