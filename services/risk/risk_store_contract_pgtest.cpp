#include "services/risk/risk_store_contract.hpp"

#include <gtest/gtest.h>

#include "adapters/postgres/migrator.hpp"
#include "services/risk/pg_risk_store.hpp"
#include "services/risk/schema.hpp"
#include "testing/test_env.hpp"

namespace sagapay::risk::contract {
namespace {

/// PgRiskUnitsOfWork over a fresh database. The database's now() cannot be moved, so Age moves
/// every stored timestamp back instead.
class PgHarness {
public:
    PgHarness() : conn_(db_.Connect()), pool_(db_.Dsn(), 1), units_(pool_) {
        postgres::Migrate(conn_, "risk", RiskMigrations());
    }

    RiskUnitsOfWork& Units() { return units_; }

    void Age(std::chrono::seconds by) {
        const std::int64_t seconds = by.count();
        conn_.Exec(
            "UPDATE risk_reviews SET created_at = created_at - make_interval(secs => $1), "
            "reviewed_at = reviewed_at - make_interval(secs => $1)",
            {seconds}
        );
        conn_.Exec(
            "UPDATE risk_decisions SET created_at = created_at - make_interval(secs => $1)",
            {seconds}
        );
    }

    std::size_t PublishedEvents() {
        return static_cast<std::size_t>(
            conn_.Exec("SELECT count(*) FROM outbox_events").GetInt(0, 0)
        );
    }

private:
    testing::TestDatabase db_;
    postgres::Connection conn_;
    postgres::Pool pool_;
    PgRiskUnitsOfWork units_;
};

INSTANTIATE_TYPED_TEST_SUITE_P(Postgres, RiskStoreContract, PgHarness);

}  // namespace
}  // namespace sagapay::risk::contract
