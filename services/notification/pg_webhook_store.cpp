#include "services/notification/pg_webhook_store.hpp"

#include "adapters/postgres/connection.hpp"
#include "core/ids.hpp"

namespace sagapay::notification {

namespace {

constexpr const char* kEndpointJson =
    "jsonb_build_object('endpoint_id', endpoint_id, 'merchant_id', merchant_id, 'url', url, "
    "'event_types', to_jsonb(event_types), 'status', status, 'disabled_reason', "
    "disabled_reason, 'consecutive_failures', consecutive_failures, "
    "'previous_secret_expires_at', previous_secret_expires_at, 'created_at', created_at, "
    "'updated_at', updated_at)";

constexpr const char* kDeliveryJson =
    "jsonb_build_object('delivery_id', d.delivery_id, 'event_id', d.event_id, 'endpoint_id', "
    "d.endpoint_id, 'event_type', e.event_type, 'payment_id', e.payment_id, 'sequence', "
    "e.sequence, 'status', d.status, 'attempts', d.attempts, 'next_attempt_at', "
    "d.next_attempt_at, 'give_up_at', d.give_up_at, 'delivered_at', d.delivered_at, "
    "'last_status_code', d.last_status_code, 'last_error', d.last_error, 'created_at', "
    "d.created_at)";

std::optional<nlohmann::json> FirstJson(const postgres::Rows& rows) {
    if (rows.Empty()) {
        return std::nullopt;
    }
    return nlohmann::json::parse(rows.Get(0, 0));
}

nlohmann::json AllJson(const postgres::Rows& rows) {
    nlohmann::json list = nlohmann::json::array();
    for (int i = 0; i < rows.Size(); ++i) {
        list.push_back(nlohmann::json::parse(rows.Get(i, 0)));
    }
    return list;
}

/// A text[] literal of event types (known names and "*": nothing to quote).
std::string TextArray(const std::vector<std::string>& items) {
    std::string array = "{";
    for (const auto& item : items) {
        array += (array.size() > 1 ? "," : "") + ("\"" + item + "\"");
    }
    return array + "}";
}

}  // namespace

void PgWebhookStore::Enqueue(
    postgres::Transaction& tx,
    const Envelope& source,
    const std::string& type,
    std::chrono::seconds horizon
) {
    // One payment's events get 1, 2, 3… in the order their transactions commit (the lock
    // serialises the consumers of different topics that announce the same payment), except
    // that an authorization keeps its place before a settlement consumed first
    // (WebhookSequence).
    tx.Exec("SELECT pg_advisory_xact_lock(hashtextextended($1, 7))", {source.aggregate_id});
    const std::string event_id = NewUuid();
    const auto known = tx.Exec(
        "SELECT sequence, event_type, floor(extract(epoch FROM now()))::bigint "
        "FROM webhook_events WHERE payment_id = $1::uuid "
        "UNION ALL SELECT NULL, NULL, floor(extract(epoch FROM now()))::bigint",
        {source.aggregate_id}
    );
    std::vector<Announced> announced;
    for (int i = 0; i < known.Size(); ++i) {
        if (!known.IsNull(i, 0)) {
            announced.push_back({static_cast<int>(known.GetInt(i, 0)), known.GetString(i, 1)});
        }
    }
    const int sequence = WebhookSequence(type, announced);
    const std::string body =
        WebhookBody(event_id, type, known.GetInt(known.Size() - 1, 2), sequence, source);
    const auto inserted = tx.Exec(
        "INSERT INTO webhook_events (event_id, payment_id, event_type, sequence, body, "
        "source_event_id) VALUES ($1::uuid, $2::uuid, $3, $4, $5, $6) "
        "ON CONFLICT (source_event_id, event_type) DO NOTHING",
        {event_id, source.aggregate_id, type, sequence, body, source.event_id}
    );
    if (inserted.Affected() == 0) {
        return;  // announced before
    }
    tx.Exec(
        "INSERT INTO webhook_deliveries (event_id, endpoint_id, status, give_up_at) "
        "SELECT $1::uuid, endpoint_id, 'PENDING', now() + make_interval(secs => $3) "
        "FROM webhook_endpoints WHERE status = 'ENABLED' "
        "AND ($2 = ANY(event_types) OR '*' = ANY(event_types))",
        {event_id, type, static_cast<std::int64_t>(horizon.count())}
    );
}

nlohmann::json PgWebhookStore::CreateEndpoint(
    const EndpointRequest& request, const std::string& secret
) {
    auto conn = pool_.Acquire();
    const auto rows = conn->Exec(
        std::string("INSERT INTO webhook_endpoints (endpoint_id, merchant_id, url, event_types, "
                    "secret, status) VALUES ($1::uuid, $2, $3, $4::text[], $5, 'ENABLED') "
                    "RETURNING ") +
            kEndpointJson + "::text",
        {NewUuid(), request.merchant_id, request.url, TextArray(request.event_types), secret}
    );
    nlohmann::json endpoint = nlohmann::json::parse(rows.Get(0, 0));
    endpoint["secret"] = secret;
    return endpoint;
}

nlohmann::json PgWebhookStore::ListEndpoints() {
    auto conn = pool_.Acquire();
    return AllJson(conn->Exec(
        std::string("SELECT ") + kEndpointJson +
        "::text FROM webhook_endpoints ORDER BY created_at, endpoint_id"
    ));
}

std::optional<nlohmann::json> PgWebhookStore::SetEnabled(
    const std::string& endpoint_id, bool enabled
) {
    auto conn = pool_.Acquire();
    return FirstJson(conn->Exec(
        std::string("UPDATE webhook_endpoints SET status = $2, disabled_reason = CASE WHEN $2 = "
                    "'ENABLED' THEN NULL ELSE 'disabled by an operator' END, "
                    "consecutive_failures = CASE WHEN $2 = 'ENABLED' THEN 0 ELSE "
                    "consecutive_failures END, updated_at = now() "
                    "WHERE endpoint_id = $1::uuid RETURNING ") +
            kEndpointJson + "::text",
        {endpoint_id, enabled ? "ENABLED" : "DISABLED"}
    ));
}

std::optional<nlohmann::json> PgWebhookStore::RotateSecret(
    const std::string& endpoint_id, const std::string& secret, std::chrono::seconds overlap
) {
    auto conn = pool_.Acquire();
    auto endpoint = FirstJson(conn->Exec(
        std::string("UPDATE webhook_endpoints SET previous_secret = secret, "
                    "previous_secret_expires_at = now() + make_interval(secs => $3), "
                    "secret = $2, updated_at = now() WHERE endpoint_id = $1::uuid RETURNING ") +
            kEndpointJson + "::text",
        {endpoint_id, secret, static_cast<std::int64_t>(overlap.count())}
    ));
    if (endpoint) {
        (*endpoint)["secret"] = secret;
    }
    return endpoint;
}

nlohmann::json PgWebhookStore::ListDeliveries(
    const std::optional<std::string>& endpoint_id,
    const std::optional<std::string>& status,
    std::int64_t limit
) {
    auto conn = pool_.Acquire();
    return AllJson(conn->Exec(
        std::string("SELECT ") + kDeliveryJson +
            "::text FROM webhook_deliveries d JOIN webhook_events e USING (event_id) "
            "WHERE ($1::uuid IS NULL OR d.endpoint_id = $1::uuid) "
            "AND ($2::text IS NULL OR d.status = $2) ORDER BY d.delivery_id DESC LIMIT $3",
        {endpoint_id, status, limit}
    ));
}

std::optional<nlohmann::json> PgWebhookStore::Delivery(std::int64_t delivery_id) {
    auto conn = pool_.Acquire();
    auto delivery = FirstJson(conn->Exec(
        std::string("SELECT ") + kDeliveryJson +
            "::text FROM webhook_deliveries d JOIN webhook_events e USING (event_id) "
            "WHERE d.delivery_id = $1",
        {delivery_id}
    ));
    if (delivery) {
        (*delivery)["attempts"] = AllJson(conn->Exec(
            "SELECT (to_jsonb(a) - 'attempt_id' - 'delivery_id')::text FROM webhook_attempts a "
            "WHERE delivery_id = $1 ORDER BY attempt_id",
            {delivery_id}
        ));
    }
    return delivery;
}

std::optional<nlohmann::json> PgWebhookStore::Redeliver(
    std::int64_t delivery_id, std::chrono::seconds horizon
) {
    {
        auto conn = pool_.Acquire();
        const auto updated = conn->Exec(
            "UPDATE webhook_deliveries SET status = 'PENDING', next_attempt_at = now(), "
            "give_up_at = now() + make_interval(secs => $2), delivered_at = NULL "
            "WHERE delivery_id = $1",
            {delivery_id, static_cast<std::int64_t>(horizon.count())}
        );
        if (updated.Affected() == 0) {
            return std::nullopt;
        }
    }
    return Delivery(delivery_id);
}

std::vector<DueDelivery> PgWebhookStore::ClaimDue(int limit, std::chrono::seconds lease) {
    auto conn = pool_.Acquire();
    const auto rows = conn->Exec(
        "WITH due AS (SELECT d.delivery_id FROM webhook_deliveries d "
        "  JOIN webhook_endpoints p USING (endpoint_id) "
        "  WHERE d.status = 'PENDING' AND d.next_attempt_at <= now() AND p.status = 'ENABLED' "
        "  ORDER BY d.next_attempt_at LIMIT $1 FOR UPDATE OF d SKIP LOCKED), "
        "claimed AS (UPDATE webhook_deliveries d SET attempts = d.attempts + 1, "
        "  next_attempt_at = now() + make_interval(secs => $2) FROM due "
        "  WHERE d.delivery_id = due.delivery_id "
        "  RETURNING d.delivery_id, d.attempts, d.endpoint_id, d.event_id, d.give_up_at) "
        "SELECT c.delivery_id, c.attempts, c.endpoint_id::text, p.url, e.event_id::text, "
        "  e.event_type, e.body, p.secret, "
        "  CASE WHEN p.previous_secret_expires_at > now() THEN p.previous_secret END, "
        "  greatest(0, extract(epoch FROM c.give_up_at - now()))::bigint "
        "FROM claimed c JOIN webhook_endpoints p USING (endpoint_id) "
        "JOIN webhook_events e USING (event_id) ORDER BY c.delivery_id",
        {limit, static_cast<std::int64_t>(lease.count())}
    );
    std::vector<DueDelivery> due;
    due.reserve(static_cast<std::size_t>(rows.Size()));
    for (int i = 0; i < rows.Size(); ++i) {
        DueDelivery delivery;
        delivery.delivery_id = rows.GetInt(i, 0);
        delivery.attempt_number = static_cast<int>(rows.GetInt(i, 1));
        delivery.endpoint_id = rows.GetString(i, 2);
        delivery.url = rows.GetString(i, 3);
        delivery.event_id = rows.GetString(i, 4);
        delivery.event_type = rows.GetString(i, 5);
        delivery.body = rows.GetString(i, 6);
        delivery.secrets.push_back(rows.GetString(i, 7));
        if (!rows.IsNull(i, 8)) {
            delivery.secrets.push_back(rows.GetString(i, 8));
        }
        delivery.seconds_left = rows.GetInt(i, 9);
        due.push_back(std::move(delivery));
    }
    return due;
}

bool PgWebhookStore::RecordAttempt(
    const DueDelivery& delivery,
    const AttemptResult& result,
    std::optional<std::chrono::milliseconds> retry_after,
    int disable_after
) {
    auto conn = pool_.Acquire();
    postgres::Transaction tx(*conn);
    const std::optional<std::string> code =
        result.status_code ? std::optional(std::to_string(*result.status_code)) : std::nullopt;
    const std::optional<std::string> error =
        result.error.empty() ? std::nullopt : std::optional(result.error);
    tx.Exec(
        "INSERT INTO webhook_attempts (delivery_id, attempt_number, status_code, latency_ms, "
        "error, response_excerpt) VALUES ($1, $2, $3::integer, $4, $5, $6)",
        {delivery.delivery_id,
         delivery.attempt_number,
         code,
         result.latency_ms,
         error,
         result.response_excerpt}
    );
    bool disabled = false;
    if (result.Delivered()) {
        tx.Exec(
            "UPDATE webhook_deliveries SET status = 'DELIVERED', delivered_at = now(), "
            "last_status_code = $2::integer, last_error = NULL WHERE delivery_id = $1",
            {delivery.delivery_id, code}
        );
        tx.Exec(
            "UPDATE webhook_endpoints SET consecutive_failures = 0 WHERE endpoint_id = $1::uuid",
            {delivery.endpoint_id}
        );
    } else {
        tx.Exec(
            "UPDATE webhook_deliveries SET status = CASE WHEN $3::bigint IS NULL THEN 'FAILED' "
            "ELSE 'PENDING' END, next_attempt_at = CASE WHEN $3::bigint IS NULL THEN "
            "next_attempt_at ELSE now() + make_interval(secs => $3::bigint / 1000.0) END, "
            "last_status_code = $2::integer, last_error = $4 WHERE delivery_id = $1",
            {delivery.delivery_id,
             code,
             retry_after ? std::optional(std::to_string(retry_after->count())) : std::nullopt,
             error}
        );
        const auto endpoint = tx.Exec(
            "UPDATE webhook_endpoints SET consecutive_failures = consecutive_failures + 1, "
            "status = CASE WHEN consecutive_failures + 1 >= $2 THEN 'DISABLED' ELSE status END, "
            "disabled_reason = CASE WHEN consecutive_failures + 1 >= $2 AND status = 'ENABLED' "
            "THEN 'disabled after ' || (consecutive_failures + 1) || ' consecutive failed "
            "attempts' ELSE disabled_reason END, updated_at = now() "
            "WHERE endpoint_id = $1::uuid RETURNING status, consecutive_failures",
            {delivery.endpoint_id, disable_after}
        );
        disabled = !endpoint.Empty() && endpoint.Get(0, 0) == "DISABLED" &&
                   endpoint.GetInt(0, 1) == disable_after;
    }
    tx.Commit();
    return disabled;
}

}  // namespace sagapay::notification
