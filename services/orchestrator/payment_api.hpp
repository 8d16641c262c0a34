#pragma once

#include <map>
#include <string>

#include "adapters/http/http.hpp"
#include "adapters/postgres/pool.hpp"
#include "core/clock.hpp"
#include "services/orchestrator/admission_gate.hpp"

namespace sagapay::orchestrator {

/// The orchestrator's HTTP API: `POST /internal/payments` (the gateway's create call) and
/// `GET /payments/{payment_id}`. Thread-safe: one instance serves every HTTP thread.
class PaymentApi {
public:
    /// `gate`: admission control for new payments (nullptr: none).
    PaymentApi(
        postgres::Pool& pool,
        const Clock& clock,
        std::string service_label,
        AdmissionGate* gate = nullptr
    );

    /// 200 {payment_id, status} with `idempotent-replayed`; 400/422 for a body the gateway
    /// should have refused; 422 idempotency_key_reused for a key reused with another body;
    /// 503 overloaded with `retry-after` when the admission gate found no room in time.
    http::Response Create(const http::Request& request);

    /// 200 with the payment and its timeline; 404 payment_not_found.
    http::Response Get(const http::Request& request);

    /// `POST /internal/payments/{id}/capture` (PlanCapture): 200 with the payment (replays
    /// too, with `idempotent-replayed: true`); 404; 409/422 with the refusal's code.
    http::Response Capture(const http::Request& request);

    /// `POST /internal/payments/{id}/cancel` (PlanCancel): as Capture.
    http::Response Cancel(const http::Request& request);

    /// `POST /internal/payments/{id}/refunds` (PlanRefund): 200 with the refund (a repeat of
    /// its idempotency_key with the same body: the same refund, `idempotent-replayed: true`);
    /// 422 idempotency_key_reused for another body; 404; 409 with the refusal's code.
    http::Response Refund(const http::Request& request);

    /// `GET /internal/payments/{id}/refunds` (the gateway's `GET /payments/{id}/refunds`): 200
    /// with the payment's refunds and totals; 404.
    http::Response ListRefunds(const http::Request& request);

    /// Adds the routes (with database failures answered 503/500, see WithDatabaseErrors).
    void AddRoutes(http::Router& router);

private:
    /// Locks the payment, asks `decide` what the command does and applies it with its outbox
    /// rows in one transaction; answers with the payment afterwards.
    template <class Decide>
    http::Response RunCommand(const http::Request& request, Decide decide);

    postgres::Pool& pool_;
    const Clock& clock_;
    std::map<std::string, std::string> labels_;
    AdmissionGate* gate_;
};

}  // namespace sagapay::orchestrator
