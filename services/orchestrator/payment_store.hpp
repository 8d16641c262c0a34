#pragma once

#include <optional>
#include <span>
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

/// A payment locked in a transaction, and its age then (for payment_e2e_seconds).
struct LockedPayment {
    PaymentSnapshot snapshot;
    double age_seconds = 0;
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

    /// Locks the payment row for the rest of `tx` (FOR UPDATE); nullopt when unknown. Served from
    /// what LockAll locked earlier in `tx` when it covered this payment (no statement then).
    static std::optional<LockedPayment> Lock(
        postgres::Transaction& tx, const std::string& payment_id
    );

    /// Locks the payments of a consumed batch in one statement (FOR UPDATE, in payment-id order,
    /// the order every consumer locks in) and keeps them for Lock in this transaction.
    static void LockAll(postgres::Transaction& tx, std::span<const std::string> payment_ids);

    /// Moves the payment one step: checks the transition, updates `payment` (and what Lock
    /// serves in this transaction) and queues the row change and its timeline row. The queued
    /// changes of the transaction are written just before its COMMIT, all payments in one
    /// compare-and-swap UPDATE on (status, state_version) and all timeline rows in one INSERT;
    /// the commit fails with SqlError(kAborted) if another writer moved a payment first.
    static void Apply(
        postgres::Transaction& tx,
        PaymentSnapshot& payment,
        const Step& step,
        const std::string& event_id
    );

    /// The payment with its timeline as the API shows it; nullopt when unknown.
    static std::optional<nlohmann::json> Read(
        postgres::Connection& conn, const std::string& payment_id
    );
};

}  // namespace sagapay::orchestrator
