#include "services/provider/provider_store_contract.hpp"

#include <gtest/gtest.h>

#include "adapters/postgres/migrator.hpp"
#include "services/provider/pg_provider_store.hpp"
#include "services/provider/schema.hpp"
#include "testing/test_env.hpp"

namespace sagapay::provider::contract {
namespace {

/// PgProviderUnitsOfWork over a fresh database, on one connection as a PSP worker has.
class PgHarness {
public:
    PgHarness() : conn_(db_.Connect()), units_(conn_) {
        postgres::Migrate(conn_, "provider", ProviderMigrations());
    }

    ProviderUnitsOfWork& Units() { return units_; }

    std::vector<AttemptRow> Attempts() {
        const auto rows = conn_.Exec(
            "SELECT payment_id::text, attempt_number, operation, result, latency_ms, "
            "coalesce(error_code, '') FROM provider_attempts ORDER BY attempt_id"
        );
        std::vector<AttemptRow> attempts;
        attempts.reserve(static_cast<std::size_t>(rows.Size()));
        for (int i = 0; i < rows.Size(); ++i) {
            attempts.emplace_back(
                rows.GetString(i, 0),
                static_cast<int>(rows.GetInt(i, 1)),
                rows.GetString(i, 2),
                rows.GetString(i, 3),
                rows.GetInt(i, 4),
                rows.GetString(i, 5)
            );
        }
        return attempts;
    }

    std::size_t PublishedEvents() {
        return static_cast<std::size_t>(
            conn_.Exec("SELECT count(*) FROM outbox_events").GetInt(0, 0)
        );
    }

private:
    testing::TestDatabase db_;
    postgres::Connection conn_;
    PgProviderUnitsOfWork units_;
};

INSTANTIATE_TYPED_TEST_SUITE_P(Postgres, ProviderStoreContract, PgHarness);

}  // namespace
}  // namespace sagapay::provider::contract
