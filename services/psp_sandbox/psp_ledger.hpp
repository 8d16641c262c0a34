#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/clock.hpp"

namespace sagapay::psp {

/// What the sandbox does with an authorization request, chosen by the request alone.
enum class Behaviour {
    kApprove,       ///< The default: authorized.
    kRandom,        ///< force-random (or PSP_DEFAULT_BEHAVIOUR=random): seeded draw, 70% success,
                    ///< 20% timeout (not processed), 10% decline: the seed's weights.
    kTimeout,       ///< customer_id starts with force-timeout: never processed, caller times out.
    kDecline,       ///< force-decline: declined.
    kLostResponse,  ///< force-lost-response: authorized, but the answer is lost (caller times out).
    kSlow,          ///< force-slow: authorized after a delay.
    kLate,   ///< force-late: answers a timeout and holds nothing yet, then processes the first
             ///< request `late_delay` later: the authorization appears after the caller has
             ///< asked (NOT_FOUND), perhaps retried and voided (404) — a real PSP's late charge.
    kError,  ///< force-error: authorizations, captures and refunds answer 503 (not processed) or
             ///< 500 (processed, answer lost) on a seeded share of attempts: a failing PSP's 5xx.
};

/// force-* prefixes of customer_id, case-insensitive (the seed's two plus lost, slow, random and
/// late);
/// any other customer gets `fallback`.
[[nodiscard]] Behaviour BehaviourFor(
    const std::string& customer_id, Behaviour fallback = Behaviour::kApprove
) noexcept;

enum class Outcome { kAuthorized, kDeclined, kTimeout };

/// What a force-error call does: answer normally, refuse it unprocessed (503), or process it and
/// answer 500.
enum class ErrorDraw { kNone, kUnprocessed503, kProcessed500 };

/// The seeded draw for the `call`-th `operation` ("authorize", "capture", "refund") under
/// `idempotency_key` of a force-error customer: 35% 503 unprocessed, 35% processed and 500, 30%
/// answered normally. Deterministic for a given seed.
[[nodiscard]] ErrorDraw DrawError(
    std::uint64_t seed, const std::string& idempotency_key, std::string_view operation, int call
) noexcept;

/// The seeded draw for attempt `attempt` of `idempotency_key`: deterministic for a given seed,
/// with the seed's weights (success 0.70, timeout 0.20, decline 0.10).
[[nodiscard]] Outcome Draw(
    std::uint64_t seed, const std::string& idempotency_key, int attempt
) noexcept;

struct AuthorizeRequest {
    std::string idempotency_key;
    std::string payment_id;
    std::string customer_id;
    std::int64_t amount_minor = 0;  ///< `amount_cents` on the wire.
    std::string currency;
};

/// The sandbox PSP's own books: authorizations keyed by idempotency key, with their capture (whole
/// or partial), voids and refunds (several, partial, each under its own key). The same key always
/// returns the same result and never charges twice. Thread-safe.
class PspLedger {
public:
    explicit PspLedger(
        std::uint64_t seed,
        Behaviour fallback = Behaviour::kApprove,
        const Clock& clock = DefaultClock(),
        std::chrono::milliseconds late_delay = std::chrono::seconds(5)
    )
        : seed_(seed), fallback_(fallback), clock_(clock), late_delay_(late_delay) {}

    struct Answer {
        int http_status =
            200;  ///< 200 authorized/captured/voided, 402 declined, 504 timeout, 404, 409, 422
        nlohmann::json body;
    };

    Answer Authorize(const AuthorizeRequest& request);
    Answer Find(const std::string& idempotency_key);
    /// Captures the authorization once: `amount_minor` of it (a partial capture: the rest is
    /// released), or all of it when empty. An amount not in 1 … the authorized amount is 422; the
    /// same capture key replays (for the same amount), another key or another amount gets 409.
    Answer Capture(
        const std::string& authorization_key,
        const std::string& capture_key,
        std::optional<std::int64_t> amount_minor = std::nullopt
    );
    /// Voids an authorization that was not captured; voiding what never existed is 404.
    Answer Void(const std::string& authorization_key);
    /// Refunds `amount_minor` of a captured authorization, or all that is not refunded yet when
    /// empty. Several refunds under distinct refund keys; their sum never exceeds the capture
    /// (409 `refund_exceeds_captured`). A refund key replays its refund (the same call again
    /// answers the same; with another amount 409 `idempotency_key_reused`). An amount below 1 is
    /// 422, what is not captured 409, what never existed 404. The record stays CAPTURED until
    /// refunded in full, then REFUNDED.
    Answer Refund(
        const std::string& authorization_key,
        const std::string& refund_key,
        std::optional<std::int64_t> amount_minor = std::nullopt
    );
    /// The refund made under `refund_key`: 200 {refund_key, amount_cents, status: SUCCEEDED}, or
    /// 404 when there is none (never refunded under that key, or no such authorization).
    Answer FindRefund(const std::string& authorization_key, const std::string& refund_key);
    /// Every record, for tests and `GET /v1/records`.
    nlohmann::json Records();

private:
    struct RefundEntry {
        std::string refund_key;
        std::int64_t amount_minor = 0;
    };
    struct Record {
        AuthorizeRequest request;
        std::string authorization_id;
        std::string status;  ///< AUTHORIZED, DECLINED, CAPTURED, VOIDED, REFUNDED
        std::string capture_key;
        std::int64_t captured_minor = 0;   ///< Set once captured.
        std::int64_t refunded_minor = 0;   ///< The sum of `refunds`.
        std::vector<RefundEntry> refunds;  ///< In the order made.
        int captures = 0;
        int authorizations = 0;
    };
    static nlohmann::json ToJson(const Record& record);
    static const Clock& DefaultClock();
    /// Processes the force-late requests whose time has come (called under the lock).
    void ProcessLate();
    Record NewRecord(const AuthorizeRequest& request, bool authorized);
    /// The draw for the next force-error `operation` call under `key` (called under the lock).
    ErrorDraw NextError(const std::string& key, std::string_view operation);

    std::uint64_t seed_;
    Behaviour fallback_;
    const Clock& clock_;
    std::chrono::milliseconds late_delay_;
    std::map<std::string, std::pair<Clock::TimePoint, AuthorizeRequest>> late_;
    mutable std::mutex mutex_;
    std::map<std::string, Record> records_;
    std::map<std::string, int> unprocessed_attempts_;
    /// force-error calls so far, per operation and key (the draw's counter).
    std::map<std::string, int> error_calls_;
};

}  // namespace sagapay::psp
