#include "services/orchestrator/orchestrator_service.hpp"

#include "adapters/postgres/messaging.hpp"
#include "adapters/postgres/pool.hpp"
#include "core/ids.hpp"
#include "core/messaging/topics.hpp"
#include "runtime/bootstrap.hpp"
#include "runtime/log.hpp"
#include "runtime/metrics.hpp"
#include "runtime/service_host.hpp"
#include "runtime/wait.hpp"
#include "services/orchestrator/payment_store.hpp"
#include "services/orchestrator/schema.hpp"
#include "services/orchestrator/sweeper.hpp"

namespace sagapay::orchestrator {

namespace {

constexpr const char* kService = "orchestrator";

class Orchestrator {
public:
    explicit Orchestrator(const Config& config)
        : config_(config),
          pool_(config.DsnFor(kService), static_cast<std::size_t>(config.db_pool_size)),
          service_label_{{"service", config.service_name}} {}

    void HandleEvent(postgres::Transaction& tx, const Envelope& event) {
        auto locked = PaymentStore::Lock(tx, event.aggregate_id);
        if (!locked) {
            log::Warn(
                "event for an unknown payment acknowledged", {{"event_type", event.event_type}}
            );
            CountStale(event.event_type);
            return;
        }
        PaymentSnapshot* payment = &locked->snapshot;
        const Plan plan = PlanFor(*payment, event);
        if (plan.Ignored()) {
            log::Info("event did not fit the payment's state", {{"reason", plan.ignored_because}});
            CountStale(event.event_type);
            return;
        }
        for (const Step& step : plan.steps) {
            PaymentStore::Apply(tx, *payment, step, event.event_id);
        }
        for (const Emit& emit : plan.emits) {
            postgres::AppendOutbox(
                tx,
                MakeEnvelope(emit.topic, payment->payment_id, event.trace_id, emit.payload, clock_)
            );
        }
        if (const auto terminal = plan.Terminal()) {
            const double age = locked->age_seconds;
            const std::string state(ToString(*terminal));
            const std::string service = config_.service_name;
            AfterCommit([age, state, service] {
                auto& m = metrics::Get();
                m.payment_e2e_seconds
                    .Add(
                        {{"service", service}, {"terminal_state", state}}, metrics::LatencyBuckets()
                    )
                    .Observe(age);
                (state == "SETTLED" ? m.payment_success_total : m.payment_failure_total)
                    .Add({{"service", service}})
                    .Increment();
            });
        }
    }

    http::Response Create(http::Request& request) {
        metrics::Get().payment_requests_total.Add(service_label_).Increment();
        const auto started = std::chrono::steady_clock::now();
        auto parsed = ParsePaymentRequest(request.body);
        if (!parsed) {
            const auto& e = parsed.error();
            return http::ErrorResponse(e.status, e.code, e.message, e.field);
        }
        std::string trace(request.Header("x-trace-id"));
        if (trace.empty() || trace.size() > 128 || !IsSafeIdentifier(trace)) {
            trace = NewUuid();
        }
        const log::ScopedContext context(trace, "", "");
        auto lease = pool_.Acquire();
        const CreateResult result = PaymentStore::Create(*lease, *parsed, trace, clock_);
        metrics::Get()
            .payment_latency_seconds.Add(service_label_, metrics::LatencyBuckets())
            .Observe(
                std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count()
            );
        if (result.outcome == CreateOutcome::kKeyReused) {
            return http::ErrorResponse(
                422,
                "idempotency_key_reused",
                "this idempotency_key was already used by this customer with a different request "
                "body; use a new key for a new payment",
                "idempotency_key"
            );
        }
        nlohmann::json body = {
            {"payment_id", result.payment_id}, {"status", std::string(ToString(result.status))}};
        http::Response response = http::JsonResponse(200, body.dump());
        response.headers.emplace_back(
            "idempotent-replayed", result.outcome == CreateOutcome::kReplayed ? "true" : "false"
        );
        return response;
    }

    http::Response Get(http::Request& request) {
        auto lease = pool_.Acquire();
        const auto payment = PaymentStore::Read(*lease, request.path_params.at(0));
        if (!payment) {
            return http::ErrorResponse(404, "payment_not_found", "payment not found", "payment_id");
        }
        return http::JsonResponse(200, payment->dump());
    }

    postgres::Pool& Pool() { return pool_; }
    const Clock& ClockRef() const { return clock_; }

private:
    void CountStale(const std::string& topic) {
        metrics::Get().stale_events_total.Add({{"service", config_.service_name}, {"topic", topic}}
        ).Increment();
    }

    const Config& config_;
    postgres::Pool pool_;
    SystemClock clock_;
    std::map<std::string, std::string> service_label_;
};

}  // namespace

int RunOrchestrator(const Config& config) {
    auto bus = PrepareService(config, kService, OrchestratorMigrations());
    Orchestrator orchestrator(config);
    ServiceHost host(config, kService, config.PortFor(kService));
    AddStandardHealthChecks(host, config, &orchestrator.Pool());

    host.Routes().Add("POST", "/internal/payments", WithDatabaseErrors([&](http::Request& r) {
                          return orchestrator.Create(r);
                      }));
    host.Routes().Add("GET", "/payments/{payment_id}", WithDatabaseErrors([&](http::Request& r) {
                          return orchestrator.Get(r);
                      }));

    const auto handler = [&orchestrator](postgres::Transaction& tx, const Envelope& e) {
        orchestrator.HandleEvent(tx, e);
    };
    // Each consumed batch locks its payments in one statement before the handlers run.
    const BatchPrelude lock_batch = [](postgres::Transaction& tx,
                                       std::span<const Envelope* const> events) {
        std::vector<std::string> ids;
        ids.reserve(events.size());
        for (const Envelope* event : events) {
            ids.push_back(event->aggregate_id);
        }
        PaymentStore::LockAll(tx, ids);
    };
    host.AddConsumer(
        *bus,
        std::string(topics::kRiskApproved),
        "orchestrator-risk-approved",
        handler,
        true,
        true,
        lock_batch
    );
    host.AddConsumer(
        *bus,
        std::string(topics::kRiskDenied),
        "orchestrator-risk-denied",
        handler,
        true,
        true,
        lock_batch
    );
    host.AddConsumer(
        *bus,
        std::string(topics::kPaymentsAuthorized),
        "orchestrator-authorized",
        handler,
        true,
        true,
        lock_batch
    );
    host.AddConsumer(
        *bus,
        std::string(topics::kProviderCaptureCompleted),
        "orchestrator-capture-completed",
        handler,
        true,
        true,
        lock_batch
    );
    host.AddConsumer(
        *bus,
        std::string(topics::kPaymentsFailed),
        "orchestrator-failed",
        handler,
        true,
        true,
        lock_batch
    );
    host.AddConsumer(
        *bus,
        std::string(topics::kPaymentsSettled),
        "orchestrator-settled",
        handler,
        true,
        true,
        lock_batch
    );
    host.AddOutboxRelay(*bus);

    SweeperOptions sweeper;
    sweeper.service = config.service_name;
    sweeper.dsn = config.DsnFor(kService);
    sweeper.stuck_after = config.sweeper_stuck_after;
    sweeper.interval = config.sweeper_interval;
    host.AddWorker("sweeper", [sweeper, &orchestrator](std::stop_token stop) {
        RunSweeper(std::move(stop), sweeper, orchestrator.ClockRef());
    });
    return host.Run();
}

}  // namespace sagapay::orchestrator
