#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "adapters/postgres/pool.hpp"
#include "adapters/postgres/transaction.hpp"
#include "core/messaging/envelope.hpp"
#include "services/notification/webhook_events.hpp"

namespace sagapay::notification {

/// One delivery the dispatcher claimed: what to send where, signed with which secrets.
struct DueDelivery {
    std::int64_t delivery_id = 0;
    int attempt_number = 0;  ///< This attempt's number (1 for the first)
    std::string endpoint_id;
    std::string url;
    std::string event_id;
    std::string event_type;
    std::string body;
    std::vector<std::string> secrets;  ///< the current one, then the previous while it lives
    std::int64_t seconds_left = 0;     ///< until the delivery's horizon
};

/// What one attempt got.
struct AttemptResult {
    std::optional<int> status_code;  ///< none: no answer (transport error, timeout)
    std::int64_t latency_ms = 0;
    std::string error;             ///< why there was no answer, or the non-2xx status
    std::string response_excerpt;  ///< at most 512 bytes of the answer
    [[nodiscard]] bool Delivered() const noexcept {
        return status_code && *status_code >= 200 && *status_code < 300;
    }
};

/// The webhooks' tables (schema/0011_webhooks.sql). Enqueue runs inside the transaction that
/// consumes the saga event; the rest take a connection from `pool` and commit on their own.
class PgWebhookStore {
public:
    explicit PgWebhookStore(postgres::Pool& pool) : pool_(pool) {}

    /// Records the webhook event `type` of `source` (its sequence the payment's next, under a
    /// per-payment lock) and one PENDING delivery per ENABLED endpoint subscribed to it, due now
    /// and given up after `horizon`. A redelivered saga event adds nothing (unique source).
    static void Enqueue(
        postgres::Transaction& tx,
        const Envelope& source,
        const std::string& type,
        std::chrono::seconds horizon
    );

    nlohmann::json CreateEndpoint(const EndpointRequest& request, const std::string& secret);
    nlohmann::json ListEndpoints();
    std::optional<nlohmann::json> SetEnabled(const std::string& endpoint_id, bool enabled);
    std::optional<nlohmann::json> RotateSecret(
        const std::string& endpoint_id, const std::string& secret, std::chrono::seconds overlap
    );
    nlohmann::json ListDeliveries(
        const std::optional<std::string>& endpoint_id,
        const std::optional<std::string>& status,
        std::int64_t limit
    );
    /// The delivery with its attempts, or nullopt.
    std::optional<nlohmann::json> Delivery(std::int64_t delivery_id);
    /// PENDING again, due now, with a new horizon.
    std::optional<nlohmann::json> Redeliver(std::int64_t delivery_id, std::chrono::seconds horizon);

    /// Claims up to `limit` due PENDING deliveries of ENABLED endpoints (SKIP LOCKED, so several
    /// instances share the work): each is pushed `lease` into the future and its attempt counted
    /// before the call goes out, so a crash mid-call retries it after the lease.
    std::vector<DueDelivery> ClaimDue(int limit, std::chrono::seconds lease);
    /// Logs the attempt and settles the delivery: DELIVERED; or PENDING again after
    /// `retry_after`; or FAILED when `retry_after` is nullopt. The endpoint's consecutive
    /// failures reset on success, grow on failure, and at `disable_after` the endpoint is
    /// DISABLED (returns true then).
    bool RecordAttempt(
        const DueDelivery& delivery,
        const AttemptResult& result,
        std::optional<std::chrono::milliseconds> retry_after,
        int disable_after
    );

private:
    postgres::Pool& pool_;
};

}  // namespace sagapay::notification
