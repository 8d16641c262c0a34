#include "services/notification/notification_service.hpp"

#include "core/messaging/topics.hpp"
#include "runtime/bootstrap.hpp"
#include "services/notification/notification_handler.hpp"
#include "services/notification/pg_notification_store.hpp"
#include "services/notification/schema.hpp"
#include "services/notification/webhook_api.hpp"
#include "services/notification/webhook_dispatcher.hpp"
#include "services/notification/webhook_events.hpp"

namespace sagapay::notification {

namespace {

constexpr const char* kService = "notification";

}  // namespace

int RunNotification(const Config& config, const Clock& clock) {
    auto bus = PrepareService(config, kService, NotificationMigrations());
    // The health check, the webhooks' ops API and their dispatchers use the pool; consumers have
    // their own connections.
    postgres::Pool pool(
        config.DsnFor(kService), 4 + static_cast<std::size_t>(config.webhook_workers)
    );
    NotificationHandler handler;
    PgWebhookStore webhooks(pool);
    HttpWebhookSender sender(config.webhook_timeout);
    WebhookDispatcher dispatcher(
        webhooks,
        sender,
        clock,
        {.batch = 8,
         .retry_base = config.webhook_retry_base,
         .lease = std::chrono::duration_cast<std::chrono::seconds>(config.webhook_timeout) +
                  std::chrono::seconds(30),
         .disable_after = static_cast<int>(config.webhook_disable_after),
         .idle_poll = config.webhook_poll}
    );
    WebhookApi webhook_api(webhooks, config.ops_api_key, config.webhook_retry_horizon);

    ServiceHost host(config, kService, config.PortFor(kService));
    AddStandardHealthChecks(host, config, &pool);
    const auto horizon = config.webhook_retry_horizon;
    // An outcome (a payment's or a refund's) is recorded and its webhook event and deliveries
    // enqueued in one transaction.
    const auto consume = [&handler, horizon](postgres::Transaction& tx, const Envelope& event) {
        PgNotificationStore store(tx);
        handler.Handle(store, event);
        if (const auto type = WebhookTypeOf(event)) {
            PgWebhookStore::Enqueue(tx, event, *type, horizon);
        }
    };
    for (const auto& [topic, group] :
         {std::pair{topics::kPaymentsSettled, "notification-settled"},
          std::pair{topics::kPaymentsFailed, "notification-failed"},
          std::pair{topics::kPaymentsReversed, "notification-reversed"},
          std::pair{topics::kPaymentsRefunded, "notification-refunded"},
          std::pair{topics::kRefundsFailed, "notification-refund-failed"}}) {
        host.AddConsumer(
            *bus,
            {.topic = topic,
             .group = group,
             .batch_mode = BatchMode::kOneTransaction,
             .order = HandlingOrder::kByPaymentId},
            consume
        );
    }
    // Steps that are no outcome but a merchant is told of: payment.authorized, review.required.
    const auto announce = [horizon](postgres::Transaction& tx, const Envelope& event) {
        if (const auto type = WebhookTypeOf(event)) {
            PgWebhookStore::Enqueue(tx, event, *type, horizon);
        }
    };
    for (const auto& [topic, group] :
         {std::pair{topics::kPaymentsAuthorized, "notification-webhooks-authorized"},
          std::pair{topics::kRiskDenied, "notification-webhooks-review"}}) {
        host.AddConsumer(
            *bus,
            {.topic = topic,
             .group = group,
             .batch_mode = BatchMode::kOneTransaction,
             .order = HandlingOrder::kByPaymentId},
            announce
        );
    }
    for (std::int64_t i = 0; i < config.webhook_workers; ++i) {
        host.AddWorker(
            "webhook-dispatcher-" + std::to_string(i),
            [&dispatcher](std::stop_token stop) { dispatcher.Run(stop); }
        );
    }
    webhook_api.AddRoutes(host.Routes());
    return host.Run();
}

}  // namespace sagapay::notification
