#include "services/provider/provider_service.hpp"

#include "adapters/postgres/pool.hpp"
#include "core/messaging/topics.hpp"
#include "runtime/bootstrap.hpp"
#include "runtime/metrics.hpp"
#include "runtime/transaction_outbox.hpp"
#include "services/provider/http_psp_client.hpp"
#include "services/provider/pg_provider_store.hpp"
#include "services/provider/provider_handler.hpp"
#include "services/provider/provider_options.hpp"
#include "services/provider/psp_worker.hpp"
#include "services/provider/schema.hpp"

namespace sagapay::provider {

namespace {

constexpr const char* kService = "provider";

/// The handlers' hooks into this process: the metrics and the workers' wake-up.
ProviderHooks ProcessHooks(const Config& config, WakeSignal& wake) {
    prometheus::Counter& retries = metrics::Get().retries_total.Add(
        {{"service", config.service_name}, {"dependency", "provider"}}
    );
    return {
        .retry = [&retries] { retries.Increment(); },
        .dlq_published =
            [service = config.service_name](std::string_view error_type) {
                metrics::Get()
                    .dlq_published_total
                    .Add(
                        {{"service", service},
                         {"topic", "payments.dlq"},
                         {"error_type", std::string(error_type)}}
                    )
                    .Increment();
            },
        .payment_due = [&wake] { wake.Notify(); },
    };
}

/// Runs `on_event` of a ProviderHandler over the consumer's transaction.
EventHandler Consume(const ProviderDeps& deps, void (ProviderHandler::*on_event)(const Envelope&)) {
    return [&deps, on_event](postgres::Transaction& tx, const Envelope& envelope) {
        PgProviderStore store(tx);
        TransactionOutbox outbox(tx);
        ProviderHandler handler(deps, store, outbox);
        (handler.*on_event)(envelope);
    };
}

}  // namespace

int RunProvider(const Config& config, const Clock& clock) {
    const ProviderOptions options = ProviderOptionsFromEnv();
    auto bus = PrepareService(config, kService, ProviderMigrations());
    postgres::Pool pool(config.DsnFor(kService), static_cast<std::size_t>(config.db_pool_size));
    constexpr std::chrono::milliseconds kPspTimeout(2000);
    const auto psp = MakeHttpPspClient(config.psp_url, kPspTimeout);
    WakeSignal wake;
    // A claim outlasts one payment's calls: up to three (inquiry, attempt, void), plus slack.
    const ProviderDeps deps{
        clock,
        *psp,
        options.policy,
        ProcessHooks(config, wake),
        kPspTimeout * 3 + std::chrono::seconds(2)};

    ServiceHost host(config, kService, config.PortFor(kService));
    AddStandardHealthChecks(host, config, &pool);
    host.AddConsumer(
        *bus,
        {.topic = topics::kProviderAuthorizeRequested,
         .group = "provider-authorize-requested",
         .batch_mode = BatchMode::kOneTransaction,
         .order = HandlingOrder::kByPaymentId,
         .prelude = {}},
        Consume(deps, &ProviderHandler::OnAuthorizeRequested)
    );
    host.AddConsumer(
        *bus,
        {.topic = topics::kProviderCaptureRequested,
         .group = "provider-capture-requested",
         .batch_mode = BatchMode::kOneTransaction,
         .order = HandlingOrder::kByPaymentId,
         .prelude = {}},
        Consume(deps, &ProviderHandler::OnCaptureRequested)
    );
    host.AddConsumer(
        *bus,
        {.topic = topics::kProviderReleaseRequested,
         .group = "provider-release-requested",
         .batch_mode = BatchMode::kOneTransaction,
         .order = HandlingOrder::kByPaymentId,
         .prelude = {}},
        Consume(deps, &ProviderHandler::OnReleaseRequested)
    );
    host.AddOutboxRelay(*bus);
    const std::string dsn = config.DsnFor(kService);
    for (int i = 0; i < options.workers; ++i) {
        host.AddWorker("psp worker", [&deps, &wake, dsn](std::stop_token stop) {
            RunPspWorker(std::move(stop), dsn, deps, wake);
        });
    }
    return host.Run();
}

}  // namespace sagapay::provider
