#include "services/notification/webhook_api.hpp"

#include <charconv>

#include <nlohmann/json.hpp>

#include "core/ids.hpp"
#include "runtime/bootstrap.hpp"

namespace sagapay::notification {

namespace {

constexpr std::int64_t kMaxOverlap = std::int64_t{7} * 24 * 3600;
constexpr std::int64_t kDefaultOverlap = std::int64_t{24} * 3600;

http::Response Json(int status, const nlohmann::json& body) {
    return http::JsonResponse(status, body.dump());
}

http::Response EndpointNotFound() {
    return http::ErrorResponse(
        404, "endpoint_not_found", "webhook endpoint not found", "endpoint_id"
    );
}

http::Response DeliveryNotFound() {
    return http::ErrorResponse(
        404, "delivery_not_found", "webhook delivery not found", "delivery_id"
    );
}

std::optional<std::int64_t> PositiveInt(std::string_view text) {
    std::int64_t value = 0;
    const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || ptr != text.data() + text.size() || value < 1) {
        return std::nullopt;
    }
    return value;
}

}  // namespace

void WebhookApi::AddRoutes(http::Router& router) {
    const auto add = [&](const char* method, const char* path, auto handler) {
        router.Add(method, path, WithDatabaseErrors([this, handler](http::Request& r) {
                       if (!ApiKeyMatches(r, ops_api_key_)) {
                           return http::ErrorResponse(401, "unauthorized", "invalid API key");
                       }
                       return handler(r);
                   }));
    };
    add("POST", "/ops/webhooks/endpoints", [this](http::Request& r) { return CreateEndpoint(r); });
    add("GET", "/ops/webhooks/endpoints", [this](http::Request&) {
        return Json(200, store_.ListEndpoints());
    });
    add("POST", "/ops/webhooks/endpoints/{endpoint_id}/disable", [this](http::Request& r) {
        return SetEnabled(r, false);
    });
    add("POST", "/ops/webhooks/endpoints/{endpoint_id}/enable", [this](http::Request& r) {
        return SetEnabled(r, true);
    });
    add("POST", "/ops/webhooks/endpoints/{endpoint_id}/rotate-secret", [this](http::Request& r) {
        return Rotate(r);
    });
    add("GET", "/ops/webhooks/deliveries", [this](http::Request& r) { return Deliveries(r); });
    add("GET", "/ops/webhooks/deliveries/{delivery_id}", [this](http::Request& r) {
        return Delivery(r);
    });
    add("POST", "/ops/webhooks/deliveries/{delivery_id}/redeliver", [this](http::Request& r) {
        return Redeliver(r);
    });
}

http::Response WebhookApi::CreateEndpoint(const http::Request& request) {
    auto parsed = ParseEndpointRequest(request.body);
    if (const auto* error = std::get_if<RequestError>(&parsed)) {
        if (error->field == "body") {
            return http::ErrorResponse(400, "malformed_json", error->message);
        }
        return http::ErrorResponse(422, "validation_error", error->message, error->field);
    }
    return Json(201, store_.CreateEndpoint(std::get<EndpointRequest>(parsed), NewWebhookSecret()));
}

http::Response WebhookApi::SetEnabled(const http::Request& request, bool enabled) {
    const std::string& id = request.path_params.at(0);
    if (!IsUuid(id)) {
        return EndpointNotFound();
    }
    const auto endpoint = store_.SetEnabled(id, enabled);
    return endpoint ? Json(200, *endpoint) : EndpointNotFound();
}

http::Response WebhookApi::Rotate(const http::Request& request) {
    std::int64_t overlap = kDefaultOverlap;
    if (!request.body.empty()) {
        const auto json = nlohmann::json::parse(request.body, nullptr, false);
        if (json.is_discarded() || !json.is_object()) {
            return http::ErrorResponse(400, "malformed_json", "request body must be a JSON object");
        }
        if (const auto given = json.find("overlap_seconds"); given != json.end()) {
            if (!given->is_number_integer() || given->get<std::int64_t>() < 0 ||
                given->get<std::int64_t>() > kMaxOverlap) {
                return http::ErrorResponse(
                    422,
                    "validation_error",
                    "overlap_seconds must be a whole number from 0 to 604800",
                    "overlap_seconds"
                );
            }
            overlap = given->get<std::int64_t>();
        }
    }
    const std::string& id = request.path_params.at(0);
    if (!IsUuid(id)) {
        return EndpointNotFound();
    }
    const auto endpoint =
        store_.RotateSecret(id, NewWebhookSecret(), std::chrono::seconds(overlap));
    return endpoint ? Json(200, *endpoint) : EndpointNotFound();
}

http::Response WebhookApi::Deliveries(const http::Request& request) {
    std::optional<std::string> endpoint = request.QueryParam("endpoint_id");
    if (endpoint && endpoint->empty()) {
        endpoint.reset();
    }
    if (endpoint && !IsUuid(*endpoint)) {
        return http::ErrorResponse(
            422, "validation_error", "endpoint_id must be a UUID", "endpoint_id"
        );
    }
    std::optional<std::string> status = request.QueryParam("status");
    if (status && status->empty()) {
        status.reset();
    }
    if (status && *status != "PENDING" && *status != "DELIVERED" && *status != "FAILED") {
        return http::ErrorResponse(
            422, "validation_error", "status must be PENDING, DELIVERED or FAILED", "status"
        );
    }
    std::int64_t limit = 50;
    if (const auto text = request.QueryParam("limit"); text && !text->empty()) {
        const auto parsed = PositiveInt(*text);
        if (!parsed || *parsed > 200) {
            return http::ErrorResponse(
                422, "validation_error", "limit must be a whole number from 1 to 200", "limit"
            );
        }
        limit = *parsed;
    }
    return Json(200, store_.ListDeliveries(endpoint, status, limit));
}

http::Response WebhookApi::Delivery(const http::Request& request) {
    const auto id = PositiveInt(request.path_params.at(0));
    if (!id) {
        return DeliveryNotFound();
    }
    const auto delivery = store_.Delivery(*id);
    return delivery ? Json(200, *delivery) : DeliveryNotFound();
}

http::Response WebhookApi::Redeliver(const http::Request& request) {
    const auto id = PositiveInt(request.path_params.at(0));
    if (!id) {
        return DeliveryNotFound();
    }
    const auto delivery = store_.Redeliver(*id, horizon_);
    return delivery ? Json(200, *delivery) : DeliveryNotFound();
}

}  // namespace sagapay::notification
