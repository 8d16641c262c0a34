#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "core/money.hpp"
#include "core/strong_id.hpp"

namespace sagapay {

/// What the PSP said about an authorization, as the adapter classifies it.
enum class PspOutcome {
    kAuthorized,  ///< Authorized (now, or earlier under this key).
    kDeclined,
    kUnknown,   ///< Timed out or broke: it may or may not have happened.
    kNotFound,  ///< Status inquiry: the PSP never processed this key.
    kCaptured,  ///< Authorized and captured under this key: money taken.
    kVoided,    ///< Authorized once, released since: nothing held, never authorized again.
    kRefunded,  ///< Captured once, refunded since: nothing taken.
};

/// True when the PSP holds or took money under the key (an authorization or a capture).
[[nodiscard]] constexpr bool HoldsMoney(PspOutcome outcome) noexcept {
    return outcome == PspOutcome::kAuthorized || outcome == PspOutcome::kCaptured;
}

/// The six calls of the port, for logs, audit rows and test doubles.
enum class PspOperation { kAuthorize, kInquire, kCapture, kVoid, kRefund, kInquireRefund };

/// The answer to an authorization or a status inquiry.
struct PspAnswer {
    PspOutcome outcome = PspOutcome::kUnknown;
    std::string authorization_id;
    std::string detail;                    ///< Status code or error text, for diagnostics.
    std::chrono::milliseconds latency{0};  ///< How long the call took, timeouts included.
};

/// One authorization. `key` is the idempotency key: the same key never authorizes twice.
struct AuthorizeCall {
    std::string key;
    PaymentId payment_id;
    CustomerId customer_id;
    Money amount;
};

enum class CaptureOutcome {
    kCaptured,  ///< Captured (now, or earlier under this capture key).
    kRefused,   ///< The PSP answered and will not capture (e.g. 409).
    kUnknown,   ///< No answer, or a server error: it may or may not have happened.
};

struct CaptureAnswer {
    CaptureOutcome outcome = CaptureOutcome::kUnknown;
    std::chrono::milliseconds latency{0};
    std::int64_t captured_minor = 0;  ///< What the PSP says it captured; 0 when it did not say.
};

enum class VoidOutcome {
    kReleased,  ///< Nothing is held any more: voided, or it never existed.
    kUnknown,   ///< No answer, or one that does not say it is released: try again.
};

struct VoidAnswer {
    VoidOutcome outcome = VoidOutcome::kUnknown;
    std::chrono::milliseconds latency{0};
};

enum class RefundOutcome {
    kRefunded,  ///< Refunded (now, or earlier under this refund key).
    kRefused,   ///< The PSP answered and will not refund: nothing captured under the key, more
                ///< than is left of the capture, or this refund key used for another amount.
    kUnknown,   ///< No answer, or a server error: try again under the same refund key.
    kNotFound,  ///< Refund inquiry: the PSP never processed this refund key.
};

struct RefundAnswer {
    RefundOutcome outcome = RefundOutcome::kUnknown;
    std::chrono::milliseconds latency{0};
};

/// Port: the payment service provider. Every call carries an idempotency key, so repeating a
/// call is always safe. A call across the process boundary: it answers with a value (an unknown
/// outcome is an answer), never throws for what the PSP or the network did. Thread-safe.
class PspClient {
public:
    virtual ~PspClient() = default;

    virtual PspAnswer Authorize(const AuthorizeCall& call) = 0;
    /// The status of the authorization sent under `key`: kNotFound when it never happened.
    virtual PspAnswer Inquire(const std::string& key) = 0;
    /// Captures the authorization sent under `authorization_key`, once: `amount_minor` 0 takes
    /// the whole authorized amount; a positive amount up to it is a partial capture (the PSP
    /// releases the rest). The same `capture_key` again answers the same; another is refused.
    virtual CaptureAnswer Capture(
        const std::string& authorization_key,
        const std::string& capture_key,
        std::int64_t amount_minor
    ) = 0;
    /// Releases an uncaptured authorization.
    virtual VoidAnswer Void(const std::string& authorization_key) = 0;
    /// Gives back `amount_minor` of what was captured under `authorization_key`; 0 gives back
    /// everything captured and not refunded yet. Several refunds under different refund keys may
    /// be made against one capture; past the captured amount the PSP refuses. The same
    /// `refund_key` again answers the same (with another amount it is refused).
    virtual RefundAnswer Refund(
        const std::string& authorization_key,
        const std::string& refund_key,
        std::int64_t amount_minor
    ) = 0;
    /// Whether the PSP made the refund sent under `refund_key`: kRefunded, kNotFound when it
    /// never processed that key, kUnknown when it did not answer.
    virtual RefundAnswer InquireRefund(
        const std::string& authorization_key, const std::string& refund_key
    ) = 0;
};

}  // namespace sagapay
