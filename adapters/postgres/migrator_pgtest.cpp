#include "adapters/postgres/migrator.hpp"

#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "testing/test_env.hpp"

namespace sagapay::postgres {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

const Migration kMigrations[] = {
    {"0001", "create_accounts", "CREATE TABLE accounts (id bigint PRIMARY KEY, owner text);"},
    {"0002",
     "create_entries",
     "CREATE TABLE entries (id bigint PRIMARY KEY, account_id bigint REFERENCES accounts);\n"
     "CREATE INDEX entries_account_idx ON entries (account_id);"},
};

class MigratorTest : public ::testing::Test {
protected:
    MigratorTest() : conn_(db_.Connect()) {}

    bool TableExists(std::string_view table) {
        return conn_.Exec("SELECT to_regclass($1) IS NOT NULL", {table}).GetBool(0, 0);
    }

    ::sagapay::testing::TestDatabase db_;
    Connection conn_;
};

TEST_F(MigratorTest, AppliesOnceAndRecordsEachMigration) {
    const MigrationReport first = Migrate(conn_, "ledger", kMigrations);
    EXPECT_EQ(first.applied, 2);
    EXPECT_EQ(first.already_applied, 0);
    EXPECT_TRUE(TableExists("accounts"));
    EXPECT_TRUE(TableExists("entries"));

    const Rows rows =
        conn_.Exec("SELECT version, name, checksum, applied_at FROM schema_migrations ORDER BY 1");
    ASSERT_EQ(rows.Size(), 2);
    EXPECT_EQ(rows.Get(0, 0), "0001");
    EXPECT_EQ(rows.Get(0, 1), "create_accounts");
    EXPECT_EQ(rows.Get(0, 2).size(), 16U);
    EXPECT_NE(rows.Get(0, 2), rows.Get(1, 2));
    EXPECT_FALSE(rows.IsNull(0, 3));
    EXPECT_EQ(rows.Get(1, 0), "0002");

    const MigrationReport second = Migrate(conn_, "ledger", kMigrations);
    EXPECT_EQ(second.applied, 0);
    EXPECT_EQ(second.already_applied, 2);
    EXPECT_FALSE(conn_.InTransaction());
}

TEST_F(MigratorTest, AppliesOnlyTheNewOnes) {
    Migrate(conn_, "ledger", std::span(kMigrations).first(1));
    EXPECT_FALSE(TableExists("entries"));
    const MigrationReport report = Migrate(conn_, "ledger", kMigrations);
    EXPECT_EQ(report.applied, 1);
    EXPECT_EQ(report.already_applied, 1);
    EXPECT_TRUE(TableExists("entries"));
}

TEST_F(MigratorTest, RefusesAnEditedMigration) {
    Migrate(conn_, "ledger", kMigrations);
    const Migration edited[] = {
        {"0001",
         "create_accounts",
         "CREATE TABLE accounts (id bigint PRIMARY KEY, owner text, x int);"},
        kMigrations[1],
    };
    try {
        Migrate(conn_, "ledger", edited);
        FAIL() << "expected SqlError";
    } catch (const SqlError& error) {
        EXPECT_EQ(error.Code(), ErrorCode::kFailedPrecondition);
        EXPECT_THAT(
            error.what(),
            AllOf(
                HasSubstr("migration ledger/0001_create_accounts was edited after it was applied"),
                HasSubstr("add a new migration instead")
            )
        );
    }
    // The advisory lock was released on the way out: a second connection can still migrate.
    Connection other = db_.Connect();
    EXPECT_EQ(Migrate(other, "ledger", kMigrations).already_applied, 2);
}

TEST_F(MigratorTest, RefusesARenamedMigration) {
    Migrate(conn_, "ledger", kMigrations);
    const Migration renamed[] = {{"0001", "make_accounts", kMigrations[0].sql}};
    try {
        Migrate(conn_, "ledger", renamed);
        FAIL() << "expected SqlError";
    } catch (const SqlError& error) {
        EXPECT_EQ(error.Code(), ErrorCode::kFailedPrecondition);
        EXPECT_THAT(error.what(), HasSubstr("ledger/0001_make_accounts"));
        EXPECT_THAT(error.what(), HasSubstr("0001_create_accounts"));
    }
}

TEST_F(MigratorTest, AFailingMigrationIsRolledBackAndNamed) {
    const Migration broken[] = {
        kMigrations[0],
        {"0002", "half_done", "CREATE TABLE half (id int); SELEC 1;"},
    };
    try {
        Migrate(conn_, "ledger", broken);
        FAIL() << "expected SqlError";
    } catch (const SqlError& error) {
        EXPECT_EQ(error.SqlState(), "42601");
        EXPECT_THAT(error.what(), HasSubstr("migration ledger/0002_half_done"));
    }
    EXPECT_TRUE(TableExists("accounts"));
    EXPECT_FALSE(TableExists("half"));
    EXPECT_FALSE(conn_.InTransaction());
    EXPECT_EQ(conn_.Exec("SELECT count(*) FROM schema_migrations").GetInt(0, 0), 1);
    // The lock is free again.
    EXPECT_TRUE(
        conn_
            .Exec("SELECT count(*) = 0 FROM pg_locks WHERE locktype = 'advisory' AND database = "
                  "(SELECT oid FROM pg_database WHERE datname = current_database())")
            .GetBool(0, 0)
    );
}

TEST_F(MigratorTest, RefusesToRunInsideATransaction) {
    Transaction tx(conn_);
    EXPECT_THROW(Migrate(conn_, "ledger", kMigrations), SqlError);
}

TEST_F(MigratorTest, ConcurrentMigratorsApplyOnce) {
    const Migration slow[] = {
        {"0001", "slow", "SELECT pg_sleep(0.3); CREATE TABLE slow_table (id int);"},
        {"0002", "create_accounts", kMigrations[0].sql},
    };
    constexpr int kThreads = 4;
    std::vector<MigrationReport> reports(kThreads);
    std::vector<std::string> errors(kThreads);
    std::vector<std::thread> threads;
    threads.reserve(kThreads);
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            try {
                Connection conn = db_.Connect();
                reports[static_cast<std::size_t>(t)] = Migrate(conn, "ledger", slow);
            } catch (const std::exception& error) {
                errors[static_cast<std::size_t>(t)] = error.what();
            }
        });
    }
    for (std::thread& thread : threads) {
        thread.join();
    }
    int applied = 0;
    int skipped = 0;
    for (int t = 0; t < kThreads; ++t) {
        EXPECT_EQ(errors[static_cast<std::size_t>(t)], "");
        applied += reports[static_cast<std::size_t>(t)].applied;
        skipped += reports[static_cast<std::size_t>(t)].already_applied;
    }
    EXPECT_EQ(applied, 2);
    EXPECT_EQ(skipped, 2 * (kThreads - 1));
    EXPECT_EQ(conn_.Exec("SELECT count(*) FROM schema_migrations").GetInt(0, 0), 2);
}

TEST_F(MigratorTest, EnsureDatabaseCreatesAMissingDatabaseOnce) {
    const std::string name = db_.Name() + "_ensured";
    std::string dsn = db_.Dsn();
    dsn.replace(dsn.find(db_.Name()), db_.Name().size(), name);
    EXPECT_THROW((void)Connection::Open(dsn), SqlError);

    EnsureDatabase(dsn);
    EXPECT_NO_THROW((void)Connection::Open(dsn));
    EnsureDatabase(dsn);  // already there: nothing to do

    // Concurrent creators: the losers' duplicate_database is not an error.
    conn_.ExecScript("DROP DATABASE " + name + " WITH (FORCE)");
    std::vector<std::thread> threads;
    std::vector<std::string> errors(4);
    threads.reserve(errors.size());
    for (std::string& slot : errors) {
        threads.emplace_back([&dsn, &slot] {
            try {
                EnsureDatabase(dsn);
            } catch (const std::exception& error) {
                slot = error.what();
            }
        });
    }
    for (std::thread& thread : threads) {
        thread.join();
    }
    for (const std::string& error : errors) {
        EXPECT_EQ(error, "");
    }
    EXPECT_NO_THROW((void)Connection::Open(dsn));
    conn_.ExecScript("DROP DATABASE " + name + " WITH (FORCE)");
}

TEST_F(MigratorTest, EnsureDatabaseNeedsADatabaseName) {
    std::string dsn = db_.Dsn();
    dsn.replace(dsn.find("/" + db_.Name()), db_.Name().size() + 1, "");
    EXPECT_THROW(EnsureDatabase(dsn), SqlError);
}

}  // namespace
}  // namespace sagapay::postgres
