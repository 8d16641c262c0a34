#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "adapters/postgres/connection.hpp"
#include "core/payments/payment_request.hpp"
#include "services/orchestrator/payment_saga.hpp"

namespace sagapay::orchestrator {

enum class CreateOutcome {
    kCreated,    ///< A new payment.
    kReplayed,   ///< Same customer, key and body: the existing payment.
    kKeyReused,  ///< Same customer and key, another body: refused.
};

struct CreateResult {
    CreateOutcome outcome = CreateOutcome::kCreated;
    std::string payment_id;
    PaymentStatus status = PaymentStatus::kCreated;
};

/// SQL over the orchestrator's tables. Every write runs inside the caller's transaction, next to
/// its outbox row.
class PaymentStore {
public:
    /// Inserts the payment, its first timeline row and `payments.requested` in one transaction,
    /// or finds the payment this (customer, key) already created. Concurrent first requests with
    /// the same key: one inserts, the other waits on the unique constraint and replays it.
    static CreateResult Create(
        postgres::Connection& conn,
        const PaymentRequest& request,
        const std::string& trace_id,
        const Clock& clock
    );

    /// Locks the payment row for the rest of `tx` (FOR UPDATE); nullopt when unknown.
    static std::optional<PaymentSnapshot> Lock(
        postgres::Transaction& tx, const std::string& payment_id
    );

    /// Moves the payment one step with a compare-and-swap on (status, state_version) and writes
    /// the timeline row. Throws SqlError(kAborted) when another writer moved it first.
    static void Apply(
        postgres::Transaction& tx,
        PaymentSnapshot& payment,
        const Step& step,
        const std::string& event_id
    );

    /// Seconds since the payment was created (for payment_e2e_seconds).
    static double AgeSeconds(postgres::Transaction& tx, const std::string& payment_id);

    /// The payment with its timeline as the API shows it; nullopt when unknown.
    static std::optional<nlohmann::json> Read(
        postgres::Connection& conn, const std::string& payment_id
    );
};

}  // namespace sagapay::orchestrator
