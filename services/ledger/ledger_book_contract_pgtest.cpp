#include "services/ledger/ledger_book_contract.hpp"

#include <gtest/gtest.h>

#include "adapters/postgres/migrator.hpp"
#include "services/ledger/pg_ledger_book.hpp"
#include "services/ledger/schema.hpp"
#include "testing/test_env.hpp"

namespace sagapay::ledger::contract {
namespace {

/// PgLedgerBook over a fresh database: each Run is one transaction.
class PgHarness {
public:
    PgHarness() : conn_(db_.Connect()) { postgres::Migrate(conn_, "ledger", LedgerMigrations()); }

    void Run(const std::function<void(LedgerBook&)>& work) {
        postgres::Transaction tx(conn_);
        PgLedgerBook book(tx);
        work(book);
        tx.Commit();
    }

private:
    testing::TestDatabase db_;
    postgres::Connection conn_;
};

INSTANTIATE_TYPED_TEST_SUITE_P(Postgres, LedgerBookContract, PgHarness);

}  // namespace
}  // namespace sagapay::ledger::contract
