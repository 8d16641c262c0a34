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
    std::vector<ProviderPayment> ClaimDue(Clock::TimePoint now, int limit) override;
    std::optional<Clock::TimePoint> NextDue() override;
    void MarkAuthorized(
        const PaymentId& payment_id, const std::string& authorization_id, int attempts
    ) override;
    void MarkDeclined(const PaymentId& payment_id, int attempts) override;
    void Reschedule(const PaymentId& payment_id, int attempts, Clock::TimePoint at) override;
    void MarkTimedOut(const PaymentId& payment_id) override;
    void MarkCaptured(const PaymentId& payment_id) override;
    void ResetForReplay(const PaymentId& payment_id, Clock::TimePoint due) override;
    void RecordAttempt(const AttemptRecord& attempt) override;

private:
    postgres::Transaction& tx_;
};

}  // namespace sagapay::provider
