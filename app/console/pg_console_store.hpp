#pragma once

#include <memory>

#include "adapters/postgres/pool.hpp"
#include "app/console/console_store.hpp"
#include "runtime/config.hpp"

namespace sagapay::console {

/// ConsoleStore over PostgreSQL: every service's database read-only (one small pool each, from
/// the same DSNs the services use) and the console's own database for the audit log. The
/// answers are built as JSON by PostgreSQL (to_jsonb), one row per item, in the order asked.
class PgConsoleStore final : public ConsoleStore {
public:
    /// Pools for orchestrator, risk, provider, ledger, notification and console; throws
    /// std::runtime_error naming a database whose DSN is missing.
    explicit PgConsoleStore(const Config& config);

    nlohmann::json ListReviews(const ReviewFilter& filter) override;
    nlohmann::json ReviewOf(const std::string& payment_id) override;
    nlohmann::json SearchPayments(const PaymentFilter& filter) override;
    std::optional<nlohmann::json> PaymentPage(const std::string& payment_id) override;
    std::map<std::string, std::string> PaymentStatuses(const std::vector<std::string>& payment_ids
    ) override;
    nlohmann::json ListAudit(const Page& page) override;
    void RecordAudit(const AuditEntry& entry) override;

    [[nodiscard]] postgres::Pool& ConsolePool() noexcept { return *console_; }

private:
    std::unique_ptr<postgres::Pool> orchestrator_;
    std::unique_ptr<postgres::Pool> risk_;
    std::unique_ptr<postgres::Pool> provider_;
    std::unique_ptr<postgres::Pool> ledger_;
    std::unique_ptr<postgres::Pool> notification_;
    std::unique_ptr<postgres::Pool> console_;
};

}  // namespace sagapay::console
