#include "services/orchestrator/payment_api.hpp"

#include <chrono>

#include "core/ids.hpp"
#include "core/payments/payment_request.hpp"
#include "runtime/bootstrap.hpp"
#include "runtime/log.hpp"
#include "runtime/metrics.hpp"
#include "runtime/tracing.hpp"
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
        return http::ErrorResponse(404, "payment_not_found", "payment not found", "payment_id");
    }
    return http::JsonResponse(200, payment->dump());
}

}  // namespace sagapay::orchestrator
