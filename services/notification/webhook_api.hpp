#pragma once

#include <chrono>
#include <string>

#include "adapters/http/request.hpp"
#include "adapters/http/response.hpp"
#include "adapters/http/router.hpp"
#include "services/notification/pg_webhook_store.hpp"

namespace sagapay::notification {

/// The webhooks' ops API (docs/webhooks.md, docs/openapi.yaml), ops key in `x-api-key`:
/// endpoints (register, list, disable, enable, rotate the secret with an overlap) and deliveries
/// (list, one with its attempts, redeliver).
class WebhookApi {
public:
    WebhookApi(PgWebhookStore& store, std::string ops_api_key, std::chrono::seconds horizon)
        : store_(store), ops_api_key_(std::move(ops_api_key)), horizon_(horizon) {}

    void AddRoutes(http::Router& router);

    http::Response CreateEndpoint(const http::Request& request);
    http::Response SetEnabled(const http::Request& request, bool enabled);
    http::Response Rotate(const http::Request& request);
    http::Response Deliveries(const http::Request& request);
    http::Response Delivery(const http::Request& request);
    http::Response Redeliver(const http::Request& request);

private:
    PgWebhookStore& store_;
    std::string ops_api_key_;
    std::chrono::seconds horizon_;
};

}  // namespace sagapay::notification
