#include "adapters/postgres/connection.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <future>
#include <limits>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "adapters/postgres/pool.hpp"
#include "testing/test_env.hpp"

namespace sagapay::postgres {
namespace {

using ::testing::HasSubstr;
using namespace std::chrono_literals;

class ConnectionTest : public ::testing::Test {
protected:
    ConnectionTest() : conn_(db_.Connect()) {
        conn_.ExecScript("CREATE TABLE items (id bigint PRIMARY KEY, note text)");
    }

    std::int64_t CountItems() { return conn_.Exec("SELECT count(*) FROM items").GetInt(0, 0); }

    std::int64_t BackendPid(Connection& conn) {
        return conn.Exec("SELECT pg_backend_pid()").GetInt(0, 0);
    }

    /// Terminates `pid` from another session and waits until it is gone.
    void Terminate(std::int64_t pid) {
        Connection killer = db_.Connect();
        ASSERT_TRUE(killer.Exec("SELECT pg_terminate_backend($1::int, 5000)", {pid}).GetBool(0, 0));
    }

    ::sagapay::testing::TestDatabase db_;
    Connection conn_;
};

TEST_F(ConnectionTest, ParametersRoundTripIncludingNullAndInt64Extremes) {
    constexpr std::int64_t kMin = std::numeric_limits<std::int64_t>::min();
    constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
    const Rows rows = conn_.Exec(
        "SELECT $1::text, $2::bigint, $3::bigint, $4::text, $5::bool, $6::int, $7::text",
        {"héllo 'quoted' \\ \"x\"", kMin, kMax, std::nullopt, true, 42, std::string()}
    );
    ASSERT_EQ(rows.Size(), 1);
    EXPECT_EQ(rows.Get(0, 0), "héllo 'quoted' \\ \"x\"");
    EXPECT_EQ(rows.GetInt(0, 1), kMin);
    EXPECT_EQ(rows.GetInt(0, 2), kMax);
    EXPECT_TRUE(rows.IsNull(0, 3));
    EXPECT_EQ(rows.GetOptional(0, 3), std::nullopt);
    EXPECT_TRUE(rows.GetBool(0, 4));
    EXPECT_EQ(rows.GetInt(0, 5), 42);
    EXPECT_FALSE(rows.IsNull(0, 6));  // an empty string is not NULL
    EXPECT_EQ(rows.GetOptional(0, 6), std::optional<std::string>(""));
}

TEST_F(ConnectionTest, NullParameterIsStoredAsNull) {
    conn_.Exec("INSERT INTO items (id, note) VALUES ($1, $2)", {1, std::nullopt});
    conn_.Exec(
        "INSERT INTO items (id, note) VALUES ($1, $2)", {2, std::optional<std::string>("x")}
    );
    const Rows rows = conn_.Exec("SELECT id, note FROM items ORDER BY id");
    ASSERT_EQ(rows.Size(), 2);
    EXPECT_TRUE(rows.IsNull(0, rows.Column("note")));
    EXPECT_EQ(rows.GetString(1, rows.Column("note")), "x");
    EXPECT_EQ(rows.GetInt(1, rows.Column("id")), 2);
}

TEST_F(ConnectionTest, AffectedCountsChangedRows) {
    EXPECT_EQ(conn_.Exec("INSERT INTO items (id) VALUES (1), (2), (3)").Affected(), 3);
    EXPECT_EQ(conn_.Exec("UPDATE items SET note = 'n' WHERE id > $1", {1}).Affected(), 2);
    EXPECT_EQ(conn_.Exec("DELETE FROM items").Affected(), 3);
}

TEST_F(ConnectionTest, StatementIsPreparedOnceAndReused) {
    const std::string sql = "SELECT $1::bigint + 1";
    for (int i = 0; i < 3; ++i) {
        EXPECT_EQ(conn_.Exec(sql, {i}).GetInt(0, 0), i + 1);
    }
    const Rows prepared = conn_.Exec(
        "SELECT count(*), min(name) FROM pg_prepared_statements WHERE statement = $1", {sql}
    );
    EXPECT_EQ(prepared.GetInt(0, 0), 1);
    EXPECT_THAT(prepared.GetString(0, 1), ::testing::StartsWith("s"));
}

TEST_F(ConnectionTest, GetIntRefusesNonIntegers) {
    const Rows rows = conn_.Exec("SELECT 'abc', '12x', NULL::int, '1.5'");
    for (int col = 0; col < 4; ++col) {
        try {
            (void)rows.GetInt(0, col);
            ADD_FAILURE() << "column " << col;
        } catch (const SqlError& error) {
            EXPECT_EQ(error.Code(), ErrorCode::kInternal);
        }
    }
}

TEST_F(ConnectionTest, UniqueViolationIsAlreadyExists) {
    conn_.Exec("INSERT INTO items (id) VALUES ($1)", {7});
    try {
        conn_.Exec("INSERT INTO items (id) VALUES ($1)", {7});
        FAIL() << "expected SqlError";
    } catch (const SqlError& error) {
        EXPECT_EQ(error.Code(), ErrorCode::kAlreadyExists);
        EXPECT_EQ(error.SqlState(), "23505");
        EXPECT_THAT(error.what(), HasSubstr("INSERT INTO items (id) VALUES ($1): "));
        EXPECT_THAT(error.what(), HasSubstr("duplicate key"));
    }
    EXPECT_TRUE(conn_.IsHealthy());
}

TEST_F(ConnectionTest, ErrorsCarryTheSqlStateAndTheStartOfTheStatement) {
    try {
        conn_.Exec("SELECT * FROM no_such_table WHERE id = $1", {1});
        FAIL() << "expected SqlError";
    } catch (const SqlError& error) {
        EXPECT_EQ(error.SqlState(), "42P01");
        EXPECT_EQ(error.Code(), ErrorCode::kInternal);
        EXPECT_THAT(error.what(), HasSubstr("SELECT * FROM no_such_table"));
    }
    try {
        conn_.Exec("SELECT $1::int", {"not a number"});
        FAIL() << "expected SqlError";
    } catch (const SqlError& error) {
        EXPECT_EQ(error.Code(), ErrorCode::kInvalidArgument);
    }
    // The statement that failed to prepare is not cached: it works once the table exists.
    conn_.ExecScript("CREATE TABLE no_such_table (id int)");
    EXPECT_TRUE(conn_.Exec("SELECT * FROM no_such_table WHERE id = $1", {1}).Empty());
}

TEST_F(ConnectionTest, ExecScriptRunsSeveralStatements) {
    conn_.ExecScript("INSERT INTO items (id) VALUES (1); INSERT INTO items (id) VALUES (2);");
    EXPECT_EQ(CountItems(), 2);
    EXPECT_THROW(conn_.ExecScript("INSERT INTO items (id) VALUES (3); SELEC 1;"), SqlError);
    EXPECT_EQ(CountItems(), 2);  // one implicit transaction for the whole script
}

TEST_F(ConnectionTest, TransactionRollsBackOnDestruction) {
    {
        Transaction tx(conn_);
        tx.Exec("INSERT INTO items (id) VALUES ($1)", {1});
        EXPECT_TRUE(conn_.InTransaction());
    }
    EXPECT_FALSE(conn_.InTransaction());
    EXPECT_EQ(CountItems(), 0);
}

TEST_F(ConnectionTest, TransactionCommitAndExplicitRollback) {
    {
        Transaction tx(conn_);
        tx.Exec("INSERT INTO items (id) VALUES ($1)", {1});
        tx.Commit();
    }
    {
        Transaction tx(conn_);
        tx.Exec("INSERT INTO items (id) VALUES ($1)", {2});
        tx.Rollback();
        EXPECT_FALSE(conn_.InTransaction());
    }
    EXPECT_EQ(CountItems(), 1);
}

TEST_F(ConnectionTest, TransactionDestructorSurvivesAnAbortedTransaction) {
    {
        Transaction tx(conn_);
        EXPECT_THROW(tx.Exec("SELECT 1/0"), SqlError);
    }
    EXPECT_FALSE(conn_.InTransaction());
    EXPECT_EQ(CountItems(), 0);
}

TEST_F(ConnectionTest, CommitOfAnAbortedTransactionThrows) {
    Transaction tx(conn_);
    tx.Exec("INSERT INTO items (id) VALUES ($1)", {1});
    EXPECT_THROW(tx.Exec("INSERT INTO items (id) VALUES ($1)", {1}), SqlError);
    EXPECT_THROW(tx.Commit(), SqlError);
    EXPECT_FALSE(conn_.InTransaction());
    EXPECT_EQ(CountItems(), 0);
}

TEST_F(ConnectionTest, DeferredWritesGoWithTheNextStatementInOnePipeline) {
    Transaction tx(conn_);
    EXPECT_TRUE(conn_.InTransaction());  // BEGIN is queued, not sent
    tx.ExecDeferred("INSERT INTO items (id, note) VALUES ($1, $2)", {1, "first"});
    tx.ExecDeferred("INSERT INTO items (id, note) VALUES ($1, $2)", {2, std::nullopt});
    tx.ExecDeferred("INSERT INTO items (id, note) VALUES ($1, $2)", {3, "with \"quotes\""});
    // The same new statement three times in one pipeline is prepared once, then reused.
    EXPECT_EQ(tx.Exec("SELECT count(*) FROM items").GetInt(0, 0), 3);
    tx.ExecDeferred("INSERT INTO items (id, note) VALUES ($1, $2)", {4, "at commit"});
    tx.Commit();
    EXPECT_FALSE(conn_.InTransaction());
    EXPECT_EQ(CountItems(), 4);
    EXPECT_TRUE(conn_.Exec("SELECT note IS NULL FROM items WHERE id = 2").GetBool(0, 0));
    EXPECT_EQ(conn_.Exec("SELECT note FROM items WHERE id = 3").GetString(0, 0), "with \"quotes\"");
}

TEST_F(ConnectionTest, AFailingDeferredWriteFailsTheCommitAndWritesNothing) {
    {
        Transaction tx(conn_);
        tx.ExecDeferred("INSERT INTO items (id) VALUES ($1)", {1});
        tx.ExecDeferred("INSERT INTO items (id) VALUES ($1)", {1});  // duplicate key
        tx.ExecDeferred("INSERT INTO items (id) VALUES ($1)", {2});  // skipped: pipeline aborted
        try {
            tx.Commit();
            ADD_FAILURE() << "the commit should have failed";
        } catch (const SqlError& e) {
            EXPECT_EQ(e.Code(), ErrorCode::kAlreadyExists);
            EXPECT_EQ(e.SqlState(), "23505");
        }
    }
    EXPECT_FALSE(conn_.InTransaction());
    EXPECT_EQ(CountItems(), 0);
    // The connection goes on: the next transaction commits normally.
    Transaction tx(conn_);
    tx.ExecDeferred("INSERT INTO items (id) VALUES ($1)", {5});
    tx.Commit();
    EXPECT_EQ(CountItems(), 1);
}

TEST_F(ConnectionTest, AFailingDeferredWriteSurfacesAtTheNextStatement) {
    Transaction tx(conn_);
    tx.ExecDeferred("INSERT INTO items (id) VALUES ($1)", {1});
    tx.ExecDeferred("INSERT INTO items (id) VALUES (1/0)");
    EXPECT_THROW((void)tx.Exec("SELECT count(*) FROM items"), SqlError);
    EXPECT_THROW(tx.Commit(), SqlError);  // 25P02: aborted earlier, rolled back
    EXPECT_FALSE(conn_.InTransaction());
    EXPECT_EQ(CountItems(), 0);
}

TEST_F(ConnectionTest, ATransactionThatNeverSentAnythingLeavesNoTrace) {
    {
        Transaction tx(conn_);
        tx.ExecDeferred("INSERT INTO items (id) VALUES ($1)", {1});
    }  // destroyed: the queued write and BEGIN are dropped, nothing was sent
    EXPECT_FALSE(conn_.InTransaction());
    {
        Transaction tx(conn_);
        tx.Commit();  // empty
    }
    {
        Transaction tx(conn_);
        tx.ExecDeferred("INSERT INTO items (id) VALUES ($1)", {2});
        tx.Rollback();
    }
    EXPECT_FALSE(conn_.InTransaction());
    EXPECT_EQ(CountItems(), 0);
}

TEST_F(ConnectionTest, RollbackToSavepointKeepsEarlierWrites) {
    {
        Transaction tx(conn_);
        tx.Exec("INSERT INTO items (id) VALUES ($1)", {1});
        tx.Savepoint("before duplicate");
        tx.Exec("INSERT INTO items (id) VALUES ($1)", {2});
        EXPECT_THROW(tx.Exec("INSERT INTO items (id) VALUES ($1)", {1}), SqlError);
        tx.RollbackTo("before duplicate");
        tx.Exec("INSERT INTO items (id) VALUES ($1)", {3});
        tx.Savepoint("sp2");
        tx.Exec("INSERT INTO items (id) VALUES ($1)", {4});
        tx.Release("sp2");
        tx.Commit();
    }
    const Rows rows = conn_.Exec("SELECT id FROM items ORDER BY id");
    ASSERT_EQ(rows.Size(), 3);
    EXPECT_EQ(rows.GetInt(0, 0), 1);
    EXPECT_EQ(rows.GetInt(1, 0), 3);
    EXPECT_EQ(rows.GetInt(2, 0), 4);
}

TEST_F(ConnectionTest, NotifyFromAnotherConnectionWakesTheListener) {
    const std::string channel = ::sagapay::testing::UniqueName("Chan");  // mixed case: quoted
    conn_.Listen(channel);
    Connection sender = db_.Connect();
    sender.Exec("SELECT pg_notify($1, 'first')", {channel});
    EXPECT_TRUE(conn_.WaitForNotification(5s));
    EXPECT_FALSE(conn_.WaitForNotification(0ms));  // drained

    std::thread later([&] {
        std::this_thread::sleep_for(200ms);
        sender.Exec("SELECT pg_notify($1, 'second')", {channel});
    });
    const auto start = std::chrono::steady_clock::now();
    const bool woke = conn_.WaitForNotification(30s);
    const auto waited = std::chrono::steady_clock::now() - start;
    later.join();
    EXPECT_TRUE(woke);
    EXPECT_LT(waited, 10s);
}

TEST_F(ConnectionTest, WaitForNotificationTimesOutWhenNothingComes) {
    conn_.Listen(::sagapay::testing::UniqueName("quiet"));
    Connection sender = db_.Connect();
    sender.Exec("SELECT pg_notify('some_other_channel', '')");
    const auto start = std::chrono::steady_clock::now();
    EXPECT_FALSE(conn_.WaitForNotification(150ms));
    EXPECT_GE(std::chrono::steady_clock::now() - start, 140ms);
}

TEST_F(ConnectionTest, ReconnectAfterTheBackendIsTerminated) {
    const std::string sql = "SELECT $1::int * 2";
    EXPECT_EQ(conn_.Exec(sql, {21}).GetInt(0, 0), 42);
    const std::int64_t pid = BackendPid(conn_);
    Terminate(pid);
    try {
        conn_.Exec(sql, {1});
        FAIL() << "expected SqlError";
    } catch (const SqlError& error) {
        EXPECT_EQ(error.Code(), ErrorCode::kUnavailable) << error.what();
    }
    EXPECT_FALSE(conn_.IsHealthy());
    conn_.Reconnect();
    EXPECT_TRUE(conn_.IsHealthy());
    EXPECT_NE(BackendPid(conn_), pid);
    // The statement cache was cleared: the same SQL is prepared again on the new session.
    EXPECT_EQ(conn_.Exec(sql, {4}).GetInt(0, 0), 8);
}

TEST_F(ConnectionTest, WaitForNotificationReportsALostConnection) {
    conn_.Listen("lost");
    Terminate(BackendPid(conn_));
    try {
        (void)conn_.WaitForNotification(5s);
        FAIL() << "expected SqlError";
    } catch (const SqlError& error) {
        EXPECT_EQ(error.Code(), ErrorCode::kUnavailable);
    }
    EXPECT_FALSE(conn_.IsHealthy());
}

TEST_F(ConnectionTest, OpenFailsForAMissingDatabase) {
    const std::string dsn = db_.Dsn();
    std::string other = dsn;
    other.replace(other.find(db_.Name()), db_.Name().size(), db_.Name() + "_missing");
    try {
        (void)Connection::Open(other);
        FAIL() << "expected SqlError";
    } catch (const SqlError& error) {
        EXPECT_EQ(error.Code(), ErrorCode::kUnavailable);
        EXPECT_THAT(error.what(), HasSubstr(db_.Name() + "_missing"));
    }
}

// ---- Pool --------------------------------------------------------------------------------------

TEST_F(ConnectionTest, PoolReusesReturnedConnections) {
    Pool pool(db_.Dsn(), 2);
    std::int64_t first = 0;
    {
        Pool::Lease lease = pool.Acquire();
        first = BackendPid(*lease);
    }
    Pool::Lease again = pool.Acquire();
    EXPECT_EQ(BackendPid(*again), first);
    EXPECT_EQ(again->Exec("SELECT 1").GetInt(0, 0), 1);
}

TEST_F(ConnectionTest, PoolTimesOutWhenExhausted) {
    Pool pool(db_.Dsn(), 2);
    Pool::Lease a = pool.Acquire();
    Pool::Lease b = pool.Acquire();
    const auto start = std::chrono::steady_clock::now();
    try {
        (void)pool.Acquire(100ms);
        FAIL() << "expected SqlError";
    } catch (const SqlError& error) {
        EXPECT_EQ(error.Code(), ErrorCode::kUnavailable);
        EXPECT_THAT(error.what(), HasSubstr("in use"));
    }
    EXPECT_GE(std::chrono::steady_clock::now() - start, 90ms);

    // A lease returned while another thread waits hands the connection over.
    const std::int64_t pid_b = BackendPid(*b);
    std::thread releaser([&] {
        std::this_thread::sleep_for(100ms);
        Pool::Lease done = std::move(b);
    });
    Pool::Lease c = pool.Acquire(10s);
    releaser.join();
    EXPECT_EQ(BackendPid(*c), pid_b);
}

TEST_F(ConnectionTest, PoolLeaseMoveAssignmentReturnsTheOldConnection) {
    Pool first(db_.Dsn(), 1);
    Pool second(db_.Dsn(), 1);
    Pool::Lease lease = first.Acquire();
    lease = second.Acquire();  // hands first's connection back instead of dropping its slot
    EXPECT_NO_THROW((void)first.Acquire(100ms));
    EXPECT_THROW((void)second.Acquire(10ms), SqlError);  // still held by `lease`
}

TEST_F(ConnectionTest, PoolRollsBackATransactionLeftOpen) {
    Pool pool(db_.Dsn(), 1);
    {
        Pool::Lease lease = pool.Acquire();
        lease->ExecScript("BEGIN");
        lease->Exec("INSERT INTO items (id) VALUES ($1)", {1});
    }
    Pool::Lease lease = pool.Acquire();
    EXPECT_FALSE(lease->InTransaction());
    EXPECT_EQ(lease->Exec("SELECT count(*) FROM items").GetInt(0, 0), 0);
}

TEST_F(ConnectionTest, PoolDropsBrokenConnections) {
    Pool pool(db_.Dsn(), 1);
    std::int64_t pid = 0;
    {
        Pool::Lease lease = pool.Acquire();
        pid = BackendPid(*lease);
        Terminate(pid);
        EXPECT_THROW(lease->Exec("SELECT 1"), SqlError);
        EXPECT_FALSE(lease->IsHealthy());
    }
    Pool::Lease lease = pool.Acquire(1s);
    EXPECT_TRUE(lease->IsHealthy());
    EXPECT_NE(BackendPid(*lease), pid);
}

TEST_F(ConnectionTest, PoolServesManyThreads) {
    Pool pool(db_.Dsn(), 3);
    std::atomic<int> done{0};
    std::vector<std::thread> threads;
    threads.reserve(6);
    for (int t = 0; t < 6; ++t) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < 20; ++i) {
                Pool::Lease lease = pool.Acquire(30s);
                lease->Exec("INSERT INTO items (id) VALUES ($1)", {t * 100 + i});
            }
            done.fetch_add(1);
        });
    }
    for (std::thread& thread : threads) {
        thread.join();
    }
    EXPECT_EQ(done.load(), 6);
    EXPECT_EQ(CountItems(), 120);
}

// Every connection carries timeouts, so a lock held by a stuck session or a silent network drop
// cannot hang a worker for hours; a DSN that sets its own value keeps it.
TEST_F(ConnectionTest, SessionTimeoutsAreSetOnEveryConnection) {
    EXPECT_EQ(conn_.Exec("SHOW statement_timeout").Get(0, 0), "30s");
    EXPECT_EQ(conn_.Exec("SHOW lock_timeout").Get(0, 0), "5s");
    EXPECT_EQ(conn_.Exec("SHOW idle_in_transaction_session_timeout").Get(0, 0), "1min");
    std::string keepalives;
    std::string user_timeout;
    PQconninfoOption* options = PQconninfo(conn_.Raw());
    for (PQconninfoOption* option = options; option != nullptr && option->keyword != nullptr;
         ++option) {
        const std::string keyword = option->keyword;
        const std::string value = option->val != nullptr ? option->val : "";
        keepalives = keyword == "keepalives" ? value : keepalives;
        user_timeout = keyword == "tcp_user_timeout" ? value : user_timeout;
    }
    PQconninfoFree(options);
    EXPECT_EQ(keepalives, "1");
    EXPECT_EQ(user_timeout, "30000");

    // A reconnected session keeps them.
    conn_.Reconnect();
    EXPECT_EQ(conn_.Exec("SHOW lock_timeout").Get(0, 0), "5s");
}

TEST_F(ConnectionTest, SessionTimeoutsSetByTheDsnAreKept) {
    const std::string separator = db_.Dsn().find('?') == std::string::npos ? "?" : "&";
    Connection own = Connection::Open(
        db_.Dsn() + separator +
        "options=-c%20lock_timeout%3D1234%20-c%20search_path%3Dpublic&keepalives_idle=7"
    );
    EXPECT_EQ(own.Exec("SHOW lock_timeout").Get(0, 0), "1234ms");
    EXPECT_EQ(own.Exec("SHOW search_path").Get(0, 0), "public");
    EXPECT_EQ(own.Exec("SHOW statement_timeout").Get(0, 0), "30s");
    std::string idle;
    PQconninfoOption* options = PQconninfo(own.Raw());
    for (PQconninfoOption* option = options; option != nullptr && option->keyword != nullptr;
         ++option) {
        if (std::string(option->keyword) == "keepalives_idle" && option->val != nullptr) {
            idle = option->val;
        }
    }
    PQconninfoFree(options);
    EXPECT_EQ(idle, "7");
}

TEST_F(ConnectionTest, AStatementBlockedOnALockFailsWithinTheLockTimeout) {
    conn_.Exec("INSERT INTO items (id) VALUES (1)");
    Connection holder = db_.Connect();
    holder.ExecScript("BEGIN; UPDATE items SET note = 'held' WHERE id = 1");

    Connection waiter = db_.Connect();
    const std::int64_t waiter_pid = BackendPid(waiter);
    std::string error;
    ErrorCode code = ErrorCode::kInternal;
    const auto started = std::chrono::steady_clock::now();
    auto blocked = std::async(std::launch::async, [&] {
        try {
            waiter.Exec("UPDATE items SET note = 'waiter' WHERE id = 1");
        } catch (const SqlError& e) {
            error = e.what();
            code = e.Code();
        }
    });
    // Without a lock timeout the UPDATE would wait for good: cancel it after a bound instead.
    if (blocked.wait_for(10s) != std::future_status::ready) {
        Connection canceller = db_.Connect();
        canceller.Exec("SELECT pg_cancel_backend($1::int)", {waiter_pid});
    }
    blocked.get();
    const auto took = std::chrono::steady_clock::now() - started;
    holder.ExecScript("ROLLBACK");

    EXPECT_LT(took, 7s);
    EXPECT_THAT(error, HasSubstr("lock timeout"));
    EXPECT_EQ(code, ErrorCode::kAborted);  // rolled back: safe to run the transaction again
}

}  // namespace
}  // namespace sagapay::postgres
