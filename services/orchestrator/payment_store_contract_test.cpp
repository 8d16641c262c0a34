#include "services/orchestrator/payment_store_contract.hpp"

#include <gtest/gtest.h>

#include "services/orchestrator/in_memory_payment_store.hpp"

namespace sagapay::orchestrator::contract {
namespace {

/// InMemoryPaymentStore with PgPaymentStore's unit of work: a throwing unit leaves the store as
/// it was (as the transaction's rollback would).
class InMemoryHarness {
public:
    void Seed(const PaymentSnapshot& payment) { store_.Add(payment); }

    void Run(const std::function<void(PaymentStore&)>& work) {
        const InMemoryPaymentStore before = store_;
        try {
            work(store_);
        } catch (...) {
            store_ = before;
            throw;
        }
    }

    [[nodiscard]] std::vector<TimelineEntry> Timeline(const PaymentId& payment) const {
        std::vector<TimelineEntry> rows;
        for (const auto& row : store_.Timeline()) {
            if (row.payment_id == payment) {
                rows.push_back({row.from, row.to, row.reason, row.event_id.Value()});
            }
        }
        return rows;
    }

private:
    InMemoryPaymentStore store_;
};

INSTANTIATE_TYPED_TEST_SUITE_P(InMemory, PaymentStoreContract, InMemoryHarness);

}  // namespace
}  // namespace sagapay::orchestrator::contract
