#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "services/provider/retry_policy.hpp"

namespace sagapay::provider {

struct PspAnswer {
    PspOutcome outcome = PspOutcome::kUnknown;
    std::string authorization_id;
    std::string detail;  ///< For the attempt log: status code or error text.
};

enum class CaptureOutcome { kCaptured, kRefused, kUnknown };

/// Port: the payment service provider. Every call carries an idempotency key, so repeating a
/// call is always safe. Thread-safe.
class PspClient {
public:
    virtual ~PspClient() = default;
    virtual PspAnswer Authorize(
        const std::string& key,
        const std::string& payment_id,
        const std::string& customer_id,
        std::int64_t amount_cents,
        const std::string& currency
    ) = 0;
    /// The status of the authorization sent under `key`: kNotFound when it never happened.
    virtual PspAnswer Inquire(const std::string& key) = 0;
    virtual CaptureOutcome Capture(
        const std::string& authorization_key, const std::string& capture_key
    ) = 0;
    /// Releases an uncaptured authorization; true when nothing is held any more (voided, or it
    /// never existed).
    virtual bool Void(const std::string& authorization_key) = 0;
};

/// PspClient over the sandbox PSP's HTTP API (services/psp_sandbox), with a keep-alive pool.
[[nodiscard]] std::unique_ptr<PspClient> MakeHttpPspClient(
    const std::string& base_url, std::chrono::milliseconds timeout
);

}  // namespace sagapay::provider
