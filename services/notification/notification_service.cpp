#include "services/notification/notification_service.hpp"

#include "core/ids.hpp"
#include "core/messaging/topics.hpp"
#include "runtime/bootstrap.hpp"
#include "runtime/log.hpp"
#include "services/notification/schema.hpp"

namespace sagapay::notification {

namespace {

constexpr const char* kService = "notification";

}  // namespace

std::string OutcomeOf(std::string_view event_type) {
    if (event_type == topics::kPaymentsSettled) {
        return "SETTLED";
    }
    if (event_type == topics::kPaymentsFailed) {
        return "FAILED";
    }
    if (event_type == topics::kPaymentsReversed) {
        return "REVERSED";
    }
    return "";
}

int RunNotification(const Config& config) {
    auto bus = PrepareService(config, kService, NotificationMigrations());
    postgres::Pool pool(config.DsnFor(kService), 2);
    ServiceHost host(config, kService, config.PortFor(kService));
    AddStandardHealthChecks(host, config, &pool);
    const auto handler = [](postgres::Transaction& tx, const Envelope& event) {
        const std::string outcome = OutcomeOf(event.event_type);
        if (outcome.empty() || !IsUuid(event.aggregate_id)) {
            throw PermanentEventError("not a payment outcome: " + event.event_type);
        }
        const auto inserted = tx.Exec(
            "INSERT INTO notification_logs (payment_id, outcome, message, event_id) VALUES ($1, "
            "$2, $3, $4) "
            "ON CONFLICT ON CONSTRAINT uq_notification_outcome DO NOTHING RETURNING id",
            {event.aggregate_id,
             outcome,
             "Payment " + event.aggregate_id + " event=" + event.event_type,
             event.event_id}
        );
        if (!inserted.Empty()) {
            log::Info("notification recorded", {{"outcome", outcome}, {"channel", "webhook"}});
        }
    };
    host.AddConsumer(*bus, std::string(topics::kPaymentsSettled), "notification-settled", handler);
    host.AddConsumer(*bus, std::string(topics::kPaymentsFailed), "notification-failed", handler);
    host.AddConsumer(
        *bus, std::string(topics::kPaymentsReversed), "notification-reversed", handler
    );
    return host.Run();
}

}  // namespace sagapay::notification
