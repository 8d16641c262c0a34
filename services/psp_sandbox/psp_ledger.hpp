#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

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
};

/// force-* prefixes of customer_id, case-insensitive (the seed's two plus lost, slow and random);
/// any other customer gets `fallback`.
[[nodiscard]] Behaviour BehaviourFor(
    const std::string& customer_id, Behaviour fallback = Behaviour::kApprove
) noexcept;

enum class Outcome { kAuthorized, kDeclined, kTimeout };

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

/// The sandbox PSP's own books: authorizations keyed by idempotency key, with their captures and
/// voids. The same key always returns the same result and never charges twice. Thread-safe.
class PspLedger {
public:
    explicit PspLedger(std::uint64_t seed, Behaviour fallback = Behaviour::kApprove)
        : seed_(seed), fallback_(fallback) {}

    struct Answer {
        int http_status =
            200;  ///< 200 authorized/captured/voided, 402 declined, 504 timeout, 404, 409
        nlohmann::json body;
    };

    Answer Authorize(const AuthorizeRequest& request);
    Answer Find(const std::string& idempotency_key) const;
    /// Captures the authorization once; the same capture key replays, another key gets 409.
    Answer Capture(const std::string& authorization_key, const std::string& capture_key);
    /// Voids an authorization that was not captured; voiding what never existed is 404.
    Answer Void(const std::string& authorization_key);
    /// Every record, for tests and `GET /v1/records`.
    nlohmann::json Records() const;

private:
    struct Record {
        AuthorizeRequest request;
        std::string authorization_id;
        std::string status;  ///< AUTHORIZED, DECLINED, CAPTURED, VOIDED
        std::string capture_key;
        int captures = 0;
        int authorizations = 0;
    };
    static nlohmann::json ToJson(const Record& record);

    std::uint64_t seed_;
    Behaviour fallback_;
    mutable std::mutex mutex_;
    std::map<std::string, Record> records_;
    std::map<std::string, int> unprocessed_attempts_;
};

}  // namespace sagapay::psp
