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
    [[nodiscard]] std::optional<RefundSnapshot> FindRefund(
        const PaymentId& payment, const std::string& refund_id
    ) override;
    void Record(PaymentSnapshot& payment, const Plan& plan, const EventId& event_id) override;

    /// A refund found by its payment and idempotency key (the payment locked).
    struct KeyedRefund {
        std::string refund_id;
        std::string request_fingerprint;
    };
    [[nodiscard]] std::optional<KeyedRefund> FindRefundByKey(
        const PaymentId& payment, const IdempotencyKey& key
    );

    /// Inserts a PENDING refund (the database reserves its amount on the payment and refuses,
    /// with a check_violation, a refund beyond what is captured and not yet refunded).
    void InsertRefund(
        const PaymentId& payment,
        const RefundRequested& refund,
        const RefundRequest& request,
        const std::string& trace_id
    );

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
    /// person, and a manual-capture authorization, which waits on the merchant, are not counted):
    /// what admission control bounds. Served by ix_payments_waiting.
    static std::int64_t CountInFlight(postgres::Connection& conn);

    /// The payment with its timeline as the API shows it; nullopt when unknown.
    static std::optional<nlohmann::json> Read(
        postgres::Connection& conn, const PaymentId& payment_id
    );

    /// The payment's refunds, oldest first, as GET /payments/{id}/refunds shows them (with the
    /// payment's captured and refunded totals); nullopt when the payment is unknown.
    static std::optional<nlohmann::json> ReadRefunds(
        postgres::Connection& conn, const PaymentId& payment_id
    );

    /// One refund as the API shows it; nullopt when unknown.
    static std::optional<nlohmann::json> ReadRefund(
        postgres::Connection& conn, const std::string& refund_id
    );

private:
    postgres::Transaction& tx_;
};

}  // namespace sagapay::orchestrator
