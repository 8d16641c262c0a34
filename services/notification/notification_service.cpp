#include "services/notification/notification_service.hpp"

#include "core/messaging/topics.hpp"
#include "runtime/bootstrap.hpp"
#include "services/notification/notification_handler.hpp"
#include "services/notification/pg_notification_store.hpp"
#include "services/notification/schema.hpp"

namespace sagapay::notification {

namespace {

constexpr const char* kService = "notification";

}  // namespace

int RunNotification(const Config& config, const Clock& /*clock*/) {
    auto bus = PrepareService(config, kService, NotificationMigrations());
    // Only the health check uses the pool: consumers have their own connections.
    postgres::Pool pool(config.DsnFor(kService), 2);
    NotificationHandler handler;

    ServiceHost host(config, kService, config.PortFor(kService));
    AddStandardHealthChecks(host, config, &pool);
    const auto consume = [&handler](postgres::Transaction& tx, const Envelope& event) {
        PgNotificationStore store(tx);
        handler.Handle(store, event);
    };
    for (const auto& [topic, group] :
         {std::pair{topics::kPaymentsSettled, "notification-settled"},
          std::pair{topics::kPaymentsFailed, "notification-failed"},
          std::pair{topics::kPaymentsReversed, "notification-reversed"}}) {
        host.AddConsumer(
            *bus,
            {.topic = topic,
             .group = group,
             .batch_mode = BatchMode::kOneTransaction,
             .order = HandlingOrder::kByPaymentId},
            consume
        );
    }
    return host.Run();
}

}  // namespace sagapay::notification
