#include "services/provider/provider_service.hpp"

#include "adapters/postgres/pool.hpp"
#include "core/messaging/topics.hpp"
#include "runtime/bootstrap.hpp"
#include "runtime/metrics.hpp"
#include "runtime/transaction_outbox.hpp"
#include "services/provider/http_psp_client.hpp"
#include "services/provider/metered_psp_client.hpp"
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
    // Both dead-letter kinds at 0 from the start, so the first one shows as a rate.
    for (const char* error_type : {"NON_RETRYABLE", "RETRY_EXHAUSTED"}) {
        metrics::Get().dlq_published_total.Add(
            {{"service", config.service_name},
             {"topic", "payments.dlq"},
             {"error_type", error_type}}
        );
    }
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

/// Every PSP call into psp_requests_total{operation,outcome} and psp_request_duration_seconds.
PspCallObserver PspMetrics(const std::string& service) {
    // Every series at 0 from the start, so the first timeout shows as a rate.
    constexpr std::chrono::milliseconds kNoTimeout(1);
    auto& families = metrics::Get();
    for (const PspOperation operation :
         {PspOperation::kAuthorize,
          PspOperation::kInquire,
          PspOperation::kCapture,
          PspOperation::kVoid,
          PspOperation::kRefund,
          PspOperation::kInquireRefund}) {
        const std::string op(ToString(operation));
        const std::string_view refused =
            OutcomeLabel(operation, true, true, std::chrono::milliseconds(0), kNoTimeout);
        for (const std::string_view outcome :
             {std::string_view("ok"),
              refused,
              std::string_view("timeout"),
              std::string_view("error")}) {
            families.psp_requests_total.Add(
                {{"service", service}, {"operation", op}, {"outcome", std::string(outcome)}}
            );
        }
    }
    return [service](
               PspOperation operation, std::string_view outcome, std::chrono::milliseconds latency
           ) {
        auto& m = metrics::Get();
        const std::string op(ToString(operation));
        m.psp_requests_total
            .Add({{"service", service}, {"operation", op}, {"outcome", std::string(outcome)}})
            .Increment();
        m.psp_request_duration_seconds
            .Add({{"service", service}, {"operation", op}}, metrics::LatencyBuckets())
            .Observe(std::chrono::duration<double>(latency).count());
    };
}

}  // namespace

int RunProvider(const Config& config, const Clock& clock) {
    const ProviderOptions options = ProviderOptionsFromEnv();
    auto bus = PrepareService(config, kService, ProviderMigrations());
    postgres::Pool pool(config.DsnFor(kService), static_cast<std::size_t>(config.db_pool_size));
    constexpr std::chrono::milliseconds kPspTimeout(2000);
    const auto http_psp = MakeHttpPspClient(config.psp_url, kPspTimeout);
    const auto psp =
        std::make_unique<MeteredPspClient>(*http_psp, kPspTimeout, PspMetrics(config.service_name));
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
    host.AddConsumer(
        *bus,
        {.topic = topics::kProviderRefundRequested,
         .group = "provider-refund-requested",
         .batch_mode = BatchMode::kOneTransaction,
         .order = HandlingOrder::kByPaymentId,
         .prelude = {}},
        Consume(deps, &ProviderHandler::OnRefundRequested)
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
