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

    /// Adds both routes (with database failures answered 503/500, see WithDatabaseErrors).
    void AddRoutes(http::Router& router);

private:
    postgres::Pool& pool_;
    const Clock& clock_;
    std::map<std::string, std::string> labels_;
    AdmissionGate* gate_;
};

}  // namespace sagapay::orchestrator
