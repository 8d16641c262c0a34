#pragma once

#include <optional>
#include <span>
#include <string>

#include <nlohmann/json.hpp>

#include "adapters/postgres/connection.hpp"
#include "core/clock.hpp"
#include "core/payments/payment_request.hpp"
#include "services/orchestrator/payment_store.hpp"

namespace sagapay::orchestrator {

enum class CreateOutcome {
    kCreated,    ///< A new payment.
    kReplayed,   ///< Same customer, key and body: the existing payment.
    kKeyReused,  ///< Same customer and key, another body: refused.
};

struct CreateResult {
    CreateOutcome outcome = CreateOutcome::kCreated;
    PaymentId payment_id;
    PaymentStatus status = PaymentStatus::kCreated;
};

/// PaymentStore over the orchestrator's tables, inside the caller's transaction, next to its
/// outbox rows. Locks are FOR UPDATE; what LockAll locked is served to Lock from the
/// transaction's memory. Apply queues the change: all payments of the transaction are written in
/// one compare-and-swap `UPDATE … FROM unnest` on (status, state_version) and all timeline rows
/// in one INSERT just before COMMIT; a lost swap fails the commit with SqlError(kAborted).
class PgPaymentStore final : public PaymentStore {
public:
    explicit PgPaymentStore(postgres::Transaction& tx) noexcept : tx_(tx) {}

    // PaymentStore
    [[nodiscard]] std::optional<LockedPayment> Lock(const PaymentId& payment_id) override;
    void LockAll(std::span<const PaymentId> payment_ids) override;
    void Apply(PaymentSnapshot& payment, const Step& step, const EventId& event_id) override;

    /// Inserts the payment, its first timeline row and `payments.requested` in one transaction,
    /// or finds the payment this (customer, key) already created. Concurrent first requests with
    /// the same key: one inserts, the other waits on the unique constraint and replays it.
    static CreateResult Create(
        postgres::Connection& conn,
        const PaymentRequest& request,
        const std::string& trace_id,
        const Clock& clock
    );

    /// Payments created and not final that wait on a service (RISK_REVIEW, which waits on a
    /// person, is not counted): what admission control bounds. Served by ix_payments_waiting.
    static std::int64_t CountInFlight(postgres::Connection& conn);

    /// The payment with its timeline as the API shows it; nullopt when unknown.
    static std::optional<nlohmann::json> Read(
        postgres::Connection& conn, const PaymentId& payment_id
    );

private:
    postgres::Transaction& tx_;
};

}  // namespace sagapay::orchestrator
