#include "services/orchestrator/payment_api.hpp"

#include <chrono>

#include "core/ids.hpp"
#include "core/payments/payment_request.hpp"
#include "runtime/bootstrap.hpp"
#include "runtime/log.hpp"
#include "runtime/metrics.hpp"
#include "runtime/tracing.hpp"
#include "runtime/transaction_outbox.hpp"
#include "services/orchestrator/pg_payment_store.hpp"

namespace sagapay::orchestrator {

PaymentApi::PaymentApi(
    postgres::Pool& pool, const Clock& clock, std::string service_label, AdmissionGate* gate
)
    : pool_(pool), clock_(clock), labels_{{"service", std::move(service_label)}}, gate_(gate) {}

void PaymentApi::AddRoutes(http::Router& router) {
    router.Add("POST", "/internal/payments", WithDatabaseErrors([this](http::Request& r) {
                   return Create(r);
               }));
    router.Add("GET", "/payments/{payment_id}", WithDatabaseErrors([this](http::Request& r) {
                   return Get(r);
               }));
    router.Add(
        "POST",
        "/internal/payments/{payment_id}/capture",
        WithDatabaseErrors([this](http::Request& r) { return Capture(r); })
    );
    router.Add(
        "POST",
        "/internal/payments/{payment_id}/cancel",
        WithDatabaseErrors([this](http::Request& r) { return Cancel(r); })
    );
    router.Add(
        "POST",
        "/internal/payments/{payment_id}/refunds",
        WithDatabaseErrors([this](http::Request& r) { return Refund(r); })
    );
    router.Add(
        "GET",
        "/internal/payments/{payment_id}/refunds",
        WithDatabaseErrors([this](http::Request& r) { return ListRefunds(r); })
    );
}

namespace {

http::Response NotFound() {
    return http::ErrorResponse(404, "payment_not_found", "payment not found", "payment_id");
}

http::Response Refused(const Refusal& refusal) {
    return http::ErrorResponse(refusal.http_status, refusal.code, refusal.message, refusal.field);
}

http::Response BadBody(const Error& e) {
    return http::ErrorResponse(
        e.reason == "malformed_json" ? 400 : 422, e.reason, e.message, e.field
    );
}

http::Response WithReplayed(http::Response response, bool replayed) {
    response.headers.emplace_back("idempotent-replayed", replayed ? "true" : "false");
    return response;
}

/// Applies a command's plan in the transaction `store` and `outbox` write to.
void ApplyPlan(
    PgPaymentStore& store,
    Outbox& outbox,
    PaymentSnapshot& payment,
    const Plan& plan,
    const std::string& trace,
    const Clock& clock
) {
    for (const Step& step : plan.steps) {
        store.Apply(payment, step, EventId());
    }
    store.Record(payment, plan, EventId());
    for (const SagaEvent& emit : plan.emits) {
        outbox.Emit(emit, payment.payment_id, trace, clock);
    }
}

}  // namespace

template <class Decide>
http::Response PaymentApi::RunCommand(const http::Request& request, Decide decide) {
    const PaymentId payment_id(request.path_params.at(0));
    const std::string trace =
        SanitizeTraceId(request.Header("x-trace-id"), tracing::CurrentTraceIdAsUuid());
    const log::ScopedContext context(trace, "", payment_id.Value());
    auto lease = pool_.Acquire();
    bool replayed = false;
    {
        postgres::Transaction tx(*lease);
        PgPaymentStore store(tx);
        auto locked = store.Lock(payment_id);
        if (!locked) {
            return NotFound();
        }
        const CommandPlan command = decide(locked->snapshot);
        if (command.refused) {
            return Refused(*command.refused);
        }
        replayed = command.replay;
        if (!replayed) {
            TransactionOutbox outbox(tx);
            ApplyPlan(store, outbox, locked->snapshot, command.plan, trace, clock_);
            tx.Commit();
        }
    }
    const auto payment = PgPaymentStore::Read(*lease, payment_id);
    if (!payment) {
        return NotFound();
    }
    return WithReplayed(http::JsonResponse(200, payment->dump()), replayed);
}

http::Response PaymentApi::Capture(const http::Request& request) {
    auto parsed = ParseCaptureRequest(request.body);
    if (!parsed) {
        return BadBody(parsed.error());
    }
    return RunCommand(request, [&](const PaymentSnapshot& payment) {
        return PlanCapture(payment, parsed->amount_minor);
    });
}

http::Response PaymentApi::Cancel(const http::Request& request) {
    auto parsed = ParseEmptyRequest(request.body);
    if (!parsed) {
        return BadBody(parsed.error());
    }
    return RunCommand(request, [](const PaymentSnapshot& payment) {
        return PlanCancel(payment, "canceled");
    });
}

http::Response PaymentApi::Refund(const http::Request& request) {
    auto parsed = ParseRefundRequest(request.body);
    if (!parsed) {
        return BadBody(parsed.error());
    }
    const PaymentId payment_id(request.path_params.at(0));
    const std::string trace =
        SanitizeTraceId(request.Header("x-trace-id"), tracing::CurrentTraceIdAsUuid());
    const log::ScopedContext context(trace, "", payment_id.Value());
    auto lease = pool_.Acquire();
    std::string refund_id;
    bool replayed = false;
    {
        postgres::Transaction tx(*lease);
        PgPaymentStore store(tx);
        auto locked = store.Lock(payment_id);
        if (!locked) {
            return NotFound();
        }
        // Under the payment's lock: a concurrent request with the same key waits here and then
        // finds this one's refund.
        if (const auto keyed = store.FindRefundByKey(payment_id, parsed->idempotency_key)) {
            if (keyed->request_fingerprint != parsed->Fingerprint()) {
                return http::ErrorResponse(
                    422,
                    "idempotency_key_reused",
                    "this idempotency_key was already used for another refund of this payment; "
                    "use a new key for a new refund",
                    "idempotency_key"
                );
            }
            refund_id = keyed->refund_id;
            replayed = true;
        } else {
            refund_id = NewUuid();
            const CommandPlan command =
                PlanRefund(locked->snapshot, refund_id, parsed->amount_minor, parsed->reason);
            if (command.refused) {
                return Refused(*command.refused);
            }
            const auto& requested = std::get<RefundRequested>(command.plan.emits.front());
            try {
                store.InsertRefund(payment_id, requested, *parsed, trace);
            } catch (const postgres::SqlError& e) {
                if (e.SqlState() != "23514") {
                    throw;
                }
                // payments_refunds_within_capture: the database's own guard agrees with the plan's.
                return http::ErrorResponse(
                    409,
                    "refund_exceeds_captured",
                    "refunds may total at most the captured amount",
                    "amount_cents"
                );
            }
            TransactionOutbox outbox(tx);
            ApplyPlan(store, outbox, locked->snapshot, command.plan, trace, clock_);
            tx.Commit();
        }
    }
    const auto refund = PgPaymentStore::ReadRefund(*lease, refund_id);
    if (!refund) {
        return NotFound();
    }
    return WithReplayed(http::JsonResponse(200, refund->dump()), replayed);
}

http::Response PaymentApi::ListRefunds(const http::Request& request) {
    auto lease = pool_.Acquire();
    const auto refunds = PgPaymentStore::ReadRefunds(*lease, PaymentId(request.path_params.at(0)));
    if (!refunds) {
        return NotFound();
    }
    return http::JsonResponse(200, refunds->dump());
}

http::Response PaymentApi::Create(const http::Request& request) {
    metrics::Get().payment_requests_total.Add(labels_).Increment();
    const auto started = std::chrono::steady_clock::now();
    auto parsed = ParsePaymentRequest(request.body);
    if (!parsed) {
        const Error& e = parsed.error();
        return http::ErrorResponse(
            e.reason == "malformed_json" ? 400 : 422, e.reason, e.message, e.field
        );
    }
    const std::string trace =
        SanitizeTraceId(request.Header("x-trace-id"), tracing::CurrentTraceIdAsUuid());
    const log::ScopedContext context(trace, "", "");
    if (gate_ != nullptr) {
        const auto waited_from = std::chrono::steady_clock::now();
        const AdmissionGate::Verdict verdict = gate_->Enter();
        if (verdict != AdmissionGate::Verdict::kAdmitted) {
            metrics::Get()
                .admission_wait_seconds.Add(labels_, metrics::LatencyBuckets())
                .Observe(
                    std::chrono::duration<double>(std::chrono::steady_clock::now() - waited_from)
                        .count()
                );
        }
        if (verdict == AdmissionGate::Verdict::kRefused) {
            metrics::Get().admission_refused_total.Add(labels_).Increment();
            return http::RetryLaterResponse(
                503,
                "overloaded",
                "too many payments in flight; retry after retry-after seconds with the same "
                "idempotency_key"
            );
        }
    }
    auto lease = pool_.Acquire();
    const CreateResult result = [&] {
        tracing::Span span("postgresql transaction", tracing::SpanKind::kClient);
        span.SetAttribute("db.system", std::string("postgresql"));
        span.SetAttribute("db.operation.name", std::string("create payment"));
        return PgPaymentStore::Create(*lease, *parsed, trace, clock_);
    }();
    metrics::Get()
        .payment_latency_seconds.Add(labels_, metrics::LatencyBuckets())
        .Observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    if (result.outcome == CreateOutcome::kKeyReused) {
        return http::ErrorResponse(
            422,
            "idempotency_key_reused",
            "this idempotency_key was already used by this customer with a different request "
            "body; use a new key for a new payment",
            "idempotency_key"
        );
    }
    const nlohmann::json body = {
        {"payment_id", result.payment_id.Value()},
        {"status", std::string(ToString(result.status))}};
    http::Response response = http::JsonResponse(200, body.dump());
    response.headers.emplace_back(
        "idempotent-replayed", result.outcome == CreateOutcome::kReplayed ? "true" : "false"
    );
    return response;
}

http::Response PaymentApi::Get(const http::Request& request) {
    auto lease = pool_.Acquire();
    const auto payment = PgPaymentStore::Read(*lease, PaymentId(request.path_params.at(0)));
    if (!payment) {
        return NotFound();
    }
    return http::JsonResponse(200, payment->dump());
}

}  // namespace sagapay::orchestrator
