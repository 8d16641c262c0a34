#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/messaging/envelope.hpp"

namespace sagapay::notification {

/// The webhook event types SagaPay sends.
inline constexpr std::string_view kWebhookEventTypes[] = {
    "payment.authorized",
    "payment.settled",
    "payment.failed",
    "payment.reversed",
    "review.required",
    "payment.refunded",
    "refund.failed"};

/// The webhook event a saga event announces: payments.authorized → payment.authorized,
/// payments.settled/failed/reversed → payment.settled/failed/reversed, risk.denied with decision
/// REVIEW → review.required, payments.refunded → payment.refunded, refunds.failed →
/// refund.failed; nullopt for anything else (a risk.denied DENY is announced by the
/// payments.failed that follows). Pure.
[[nodiscard]] std::optional<std::string> WebhookTypeOf(const Envelope& event);

/// A webhook event already recorded for a payment: its place and its type.
struct Announced {
    int sequence = 0;
    std::string type;
};

/// The `sequence` of a payment's next webhook event of `type`, given those `announced` so far:
/// one past the highest, except that the authorization keeps its place before the settlement.
/// Every settled payment was authorized, but payment.authorized comes from the provider on its
/// own topic while payment.settled comes three hops later (automatic capture follows the
/// authorization at once), so the settlement can be consumed first: then it takes one past the
/// highest plus one, keeping a place free, and the authorization that arrives afterwards takes
/// that place (the one just before the settlement, if still free). A payment whose
/// authorization never comes shows a gap there, as an endpoint subscribed to some types does.
/// Pure.
[[nodiscard]] int WebhookSequence(std::string_view type, const std::vector<Announced>& announced);

/// `data.object` of a webhook event: the saga event's payload; for payment.refunded with
/// "status" added, REFUNDED when refunded_total_cents reaches captured_cents, else
/// PARTIALLY_REFUNDED (the payment's status after the refund). Pure.
[[nodiscard]] nlohmann::json WebhookObject(const std::string& type, const Envelope& source);

/// The body of a webhook event, the exact bytes signed and sent:
/// {"created", "data": {"object": WebhookObject(…), "payment_id"}, "id", "sequence", "type"}
/// (keys sorted). Pure.
[[nodiscard]] std::string WebhookBody(
    const std::string& event_id,
    const std::string& type,
    std::int64_t created_unix,
    int sequence,
    const Envelope& source
);

/// Wait before attempt `attempt + 1` after `attempt` failed attempts (1-based): base·2^(n−1),
/// at most one hour. Pure.
[[nodiscard]] std::chrono::milliseconds RetryDelay(int attempt, std::chrono::milliseconds base);

/// POST /ops/webhooks/endpoints, validated.
struct EndpointRequest {
    std::string url;
    std::vector<std::string> event_types;
    std::string merchant_id = "default";
};

struct RequestError {
    std::string field;
    std::string message;
};

/// Parses and validates an endpoint registration body: an http:// URL with a host (at most
/// 2048 characters, no control characters or spaces), 1–16 known event types or "*", an
/// optional merchant id of 1–64 printable characters. RequestError{"body", …} for a body that is
/// not a JSON object.
[[nodiscard]] std::variant<EndpointRequest, RequestError> ParseEndpointRequest(std::string_view body
);

/// The origin ("http://host:port") and target ("/path?query", "/" when empty) of an http:// URL
/// accepted by ParseEndpointRequest.
struct UrlParts {
    std::string origin;
    std::string target;
};
[[nodiscard]] std::optional<UrlParts> SplitHttpUrl(std::string_view url);

/// A new signing secret: "whsec_" and 64 hex characters (256 random bits).
[[nodiscard]] std::string NewWebhookSecret();

}  // namespace sagapay::notification
