#pragma once

#include "adapters/postgres/connection.hpp"
#include "services/provider/provider_store.hpp"

namespace sagapay::provider {

/// ProviderStore over a PostgreSQL transaction (`provider_payments`, `provider_attempts`). Writes
/// whose result nobody reads are deferred: they travel with the next statement or the COMMIT.
/// Cheap to make: one per unit of work.
class PgProviderStore final : public ProviderStore {
public:
    explicit PgProviderStore(postgres::Transaction& tx) noexcept : tx_(tx) {}

    // ProviderStore
    bool InsertAuthorizing(const NewAuthorization& payment, Clock::TimePoint due) override;
    std::optional<ProviderPayment> Lock(const PaymentId& payment_id) override;
    std::vector<ProviderPayment> ClaimDue(
        Clock::TimePoint now, int limit, std::chrono::milliseconds lease
    ) override;
    std::optional<Clock::TimePoint> NextDue() override;
    bool Save(const ProviderPayment& before, const ProviderPayment& after) override;
    void RecordAttempt(const AttemptRecord& attempt) override;
    bool InsertRefund(const ProviderRefund& refund, Clock::TimePoint due) override;
    std::optional<ProviderRefund> LockRefund(const std::string& refund_id) override;
    std::vector<ProviderRefund> ClaimDueRefunds(
        Clock::TimePoint now, int limit, std::chrono::milliseconds lease
    ) override;
    bool SaveRefund(const ProviderRefund& before, const ProviderRefund& after) override;

private:
    postgres::Transaction& tx_;
};

/// ProviderUnitsOfWork over one connection (a PSP worker's own): each Run is one transaction
/// with a PgProviderStore and a TransactionOutbox on it.
class PgProviderUnitsOfWork final : public ProviderUnitsOfWork {
public:
    explicit PgProviderUnitsOfWork(postgres::Connection& conn) noexcept : conn_(conn) {}

    // ProviderUnitsOfWork
    void Run(const Work& work) override;

private:
    postgres::Connection& conn_;
};

}  // namespace sagapay::provider
