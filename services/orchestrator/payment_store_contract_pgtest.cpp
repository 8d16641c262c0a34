#include "services/orchestrator/payment_store_contract.hpp"

#include <gtest/gtest.h>

#include "adapters/postgres/migrator.hpp"
#include "services/orchestrator/pg_payment_store.hpp"
#include "services/orchestrator/schema.hpp"
#include "testing/test_env.hpp"

namespace sagapay::orchestrator::contract {
namespace {

/// PgPaymentStore over a fresh database: each Run is one transaction.
class PgHarness {
public:
    PgHarness() : conn_(db_.Connect()) {
        postgres::Migrate(conn_, "orchestrator", OrchestratorMigrations());
    }

    void Seed(const PaymentSnapshot& payment) {
        conn_.Exec(
            "INSERT INTO payments (payment_id, customer_id, amount_cents, currency, status, "
            "state_version, idempotency_key, request_fingerprint, trace_id) "
            "VALUES ($1::uuid, $2, $3, $4, $5, $6, 'key-' || $1::text, 'fingerprint', 'trace')",
            {payment.payment_id.Value(),
             payment.customer_id.Value(),
             payment.amount.amount_minor,
             payment.amount.currency.CodeString(),
             ToString(payment.status),
             payment.state_version}
        );
    }

    void Run(const std::function<void(PaymentStore&)>& work) {
        postgres::Transaction tx(conn_);
        PgPaymentStore store(tx);
        work(store);
        tx.Commit();
    }

    std::vector<TimelineEntry> Timeline(const PaymentId& payment) {
        const auto rows = conn_.Exec(
            "SELECT from_state, to_state, reason, coalesce(event_id, '') FROM payment_timeline "
            "WHERE payment_id = $1 ORDER BY timeline_id",
            {payment.Value()}
        );
        std::vector<TimelineEntry> timeline;
        timeline.reserve(static_cast<std::size_t>(rows.Size()));
        for (int i = 0; i < rows.Size(); ++i) {
            timeline.push_back(
                {*ParsePaymentStatus(rows.Get(i, 0)),
                 *ParsePaymentStatus(rows.Get(i, 1)),
                 rows.GetString(i, 2),
                 rows.GetString(i, 3)}
            );
        }
        return timeline;
    }

private:
    testing::TestDatabase db_;
    postgres::Connection conn_;
};

INSTANTIATE_TYPED_TEST_SUITE_P(Postgres, PaymentStoreContract, PgHarness);

}  // namespace
}  // namespace sagapay::orchestrator::contract
