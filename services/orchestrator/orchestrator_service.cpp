#include "services/orchestrator/orchestrator_service.hpp"

#include <algorithm>
#include <array>
#include <cstdint>

#include "adapters/postgres/pool.hpp"
#include "runtime/bootstrap.hpp"
#include "runtime/metrics.hpp"
#include "runtime/service_host.hpp"
#include "runtime/transaction_outbox.hpp"
#include "services/orchestrator/admission_gate.hpp"
#include "services/orchestrator/admission_refresher.hpp"
#include "services/orchestrator/payment_api.hpp"
#include "services/orchestrator/pg_payment_store.hpp"
#include "services/orchestrator/saga_handler.hpp"
#include "services/orchestrator/schema.hpp"
#include "services/orchestrator/sweeper.hpp"

namespace sagapay::orchestrator {

namespace {

constexpr const char* kService = "orchestrator";

/// The topics the saga consumes, with the seed's group ids.
struct SagaConsumer {
    std::string_view topic;
    const char* group;
};
constexpr std::array<SagaConsumer, 7> kSagaConsumers = {{
    {topics::kRiskApproved, "orchestrator-risk-approved"},
    {topics::kRiskDenied, "orchestrator-risk-denied"},
    {topics::kPaymentsAuthorized, "orchestrator-authorized"},
    {topics::kProviderCaptureCompleted, "orchestrator-capture-completed"},
    {topics::kPaymentsFailed, "orchestrator-failed"},
    {topics::kPaymentsSettled, "orchestrator-settled"},
    {topics::kProviderRefundCompleted, "orchestrator-refund-completed"},
}};

/// SagaObserver on the process's Prometheus registry.
class SagaMetrics final : public SagaObserver {
public:
    /// Creates every series at 0, so the first payment to settle or fail shows as a rate: a
    /// counter that appears at 1 looks unchanged to rate().
    explicit SagaMetrics(std::string service) : service_(std::move(service)) {
        auto& m = metrics::Get();
        m.payment_success_total.Add({{"service", service_}});
        for (int code = 0; code <= static_cast<int>(FailureCode::kUnknown); ++code) {
            m.payment_failure_total.Add(
                {{"service", service_},
                 {"reason", std::string(ToString(static_cast<FailureCode>(code)))}}
            );
        }
        m.payment_failure_total.Add({{"service", service_}, {"reason", "REVERSED"}});
        for (const PaymentStatus terminal :
             {PaymentStatus::kSettled, PaymentStatus::kFailed, PaymentStatus::kReversed}) {
            m.payment_e2e_seconds.Add(
                {{"service", service_}, {"terminal_state", std::string(ToString(terminal))}},
                metrics::LatencyBuckets()
            );
        }
    }

    // SagaObserver
    void Ignored(std::string_view topic) override {
        metrics::Get()
            .stale_events_total.Add({{"service", service_}, {"topic", std::string(topic)}})
            .Increment();
    }
    void Finished(PaymentStatus terminal, double age_seconds, std::string_view reason) override {
        auto& m = metrics::Get();
        const std::string state(ToString(terminal));
        m.payment_e2e_seconds
            .Add({{"service", service_}, {"terminal_state", state}}, metrics::LatencyBuckets())
            .Observe(age_seconds);
        if (terminal == PaymentStatus::kSettled) {
            m.payment_success_total.Add({{"service", service_}}).Increment();
        } else {
            // The seed's counter, by the bounded failure code (Plan::FailureReason).
            m.payment_failure_total.Add({{"service", service_}, {"reason", std::string(reason)}}
            ).Increment();
        }
    }

private:
    std::string service_;
};

}  // namespace

int RunOrchestrator(const Config& config, const Clock& clock) {
    auto bus = PrepareService(config, kService, OrchestratorMigrations());
    postgres::Pool pool(config.DsnFor(kService), static_cast<std::size_t>(config.db_pool_size));
    SagaMetrics saga_metrics(config.service_name);
    const SagaHandler saga(clock, saga_metrics);
    // Half the HTTP threads may wait for room; the others answer (refusals, reads, health).
    AdmissionGate gate({
        .limit = config.max_payments_in_flight,
        .max_wait = config.admission_max_wait,
        .max_waiting = std::max<std::int64_t>(1, config.http_threads / 2),
    });
    PaymentApi api(pool, clock, config.service_name, &gate);

    ServiceHost host(config, kService, config.PortFor(kService));
    AddStandardHealthChecks(host, config, &pool);
    api.AddRoutes(host.Routes());

    const auto handler = [&saga](postgres::Transaction& tx, const Envelope& event) {
        PgPaymentStore store(tx);
        TransactionOutbox outbox(tx);
        saga.Handle(store, outbox, event);
    };
    // Each consumed batch locks its payments in one statement before the handlers run.
    const BatchPrelude lock_batch = [](postgres::Transaction& tx,
                                       std::span<const Envelope* const> events) {
        std::vector<PaymentId> ids;
        ids.reserve(events.size());
        for (const Envelope* event : events) {
            ids.emplace_back(event->aggregate_id);
        }
        PgPaymentStore(tx).LockAll(ids);
    };
    for (const SagaConsumer& consumer : kSagaConsumers) {
        host.AddConsumer(
            *bus, {.topic = consumer.topic, .group = consumer.group, .prelude = lock_batch}, handler
        );
    }
    host.AddOutboxRelay(*bus);

    SweeperOptions sweeper;
    sweeper.service = config.service_name;
    sweeper.dsn = config.DsnFor(kService);
    sweeper.stuck_after = config.sweeper_stuck_after;
    sweeper.interval = config.sweeper_interval;
    sweeper.capture_window = config.capture_window;
    host.AddWorker("sweeper", [sweeper, &clock](std::stop_token stop) {
        RunSweeper(std::move(stop), sweeper, clock);
    });
    if (config.max_payments_in_flight > 0) {
        AdmissionRefresherOptions admission;
        admission.service = config.service_name;
        admission.dsn = config.DsnFor(kService);
        admission.interval = config.admission_refresh;
        host.AddWorker("admission", [admission, &gate](std::stop_token stop) {
            RunAdmissionRefresher(std::move(stop), admission, gate);
        });
    }
    return host.Run();
}

}  // namespace sagapay::orchestrator
