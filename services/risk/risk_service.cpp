#include "services/risk/risk_service.hpp"

#include "core/messaging/topics.hpp"
#include "runtime/bootstrap.hpp"
#include "runtime/transaction_outbox.hpp"
#include "services/risk/pg_risk_store.hpp"
#include "services/risk/review_api.hpp"
#include "services/risk/review_expiry.hpp"
#include "services/risk/risk_handler.hpp"
#include "services/risk/schema.hpp"
#include "services/risk/velocity_store.hpp"

namespace sagapay::risk {

namespace {

constexpr const char* kService = "risk";

}  // namespace

int RunRisk(const Config& config, const Clock& clock) {
    auto bus = PrepareService(config, kService, RiskMigrations());
    postgres::Pool pool(config.DsnFor(kService), static_cast<std::size_t>(config.db_pool_size));
    VelocityStore velocity(
        redis::ParseRedisUrl(config.redis_url), std::chrono::hours(1), std::chrono::hours(24)
    );
    RiskHandler handler(
        clock,
        velocity,
        {.deny_frequency = config.risk_deny_frequency_threshold,
         .review_amount = config.risk_review_amount_cents,
         .failed_attempts = config.risk_failed_attempts_threshold,
         .velocity = config.risk_velocity_per_hour}
    );
    PgRiskUnitsOfWork units(pool);
    ReviewApi reviews(units, clock, config.ops_api_key);
    ReviewExpiry expiry(
        units, clock, {.expire_after = std::chrono::seconds(config.risk_review_expiry_seconds)}
    );

    ServiceHost host(config, kService, config.PortFor(kService));
    AddStandardHealthChecks(host, config, &pool);
    reviews.AddRoutes(host.Routes());
    host.AddConsumer(
        *bus,
        // Arrival order: the velocity rules count payments in the order they were requested.
        {.topic = topics::kPaymentsRequested,
         .group = "risk-payments-requested",
         .batch_mode = BatchMode::kOneTransaction,
         .order = HandlingOrder::kArrival},
        [&handler](postgres::Transaction& tx, const Envelope& event) {
            PgRiskStore store(tx);
            TransactionOutbox outbox(tx);
            handler.OnPaymentRequested(store, outbox, event);
        }
    );
    host.AddConsumer(
        *bus,
        {.topic = topics::kPaymentsFailed,
         .group = "risk-payments-failed",
         .batch_mode = BatchMode::kOneTransaction,
         .order = HandlingOrder::kByPaymentId},
        [&handler](postgres::Transaction&, const Envelope& event) {
            handler.OnPaymentFailed(event);
        }
    );
    host.AddOutboxRelay(*bus);
    host.AddWorker("review expiry", [&expiry](const std::stop_token& stop) { expiry.Run(stop); });
    return host.Run();
}

}  // namespace sagapay::risk
