#pragma once

#include <string>
#include <type_traits>

#include "adapters/postgres/connection.hpp"

namespace sagapay::testing {

/// The test PostgreSQL server's DSN (env SAGAPAY_TEST_PG_DSN, set by `make test` from the
/// project's private stack). Fails the test loudly when it is missing.
[[nodiscard]] std::string TestPgDsn();
/// The test Redis URL (env SAGAPAY_TEST_REDIS_URL).
[[nodiscard]] std::string TestRedisUrl();
/// The test Kafka cluster (env KAFKA_BOOTSTRAP_SERVERS, from `scripts/kafka.sh env`). Fails the
/// test loudly when it is missing: the `kafka` tests never skip.
[[nodiscard]] std::string TestKafkaBootstrapServers();

/// A fresh database on the test server, dropped when this goes out of scope, so tests never see
/// each other's rows.
class TestDatabase {
public:
    TestDatabase();
    TestDatabase(const TestDatabase&) = delete;
    TestDatabase& operator=(const TestDatabase&) = delete;
    ~TestDatabase();

    [[nodiscard]] const std::string& Dsn() const noexcept { return dsn_; }
    [[nodiscard]] const std::string& Name() const noexcept { return name_; }
    [[nodiscard]] postgres::Connection Connect() const { return postgres::Connection::Open(dsn_); }

private:
    std::string name_;
    std::string dsn_;
};

/// Runs `fn(store)` with a `Store` made over a new transaction on `conn`, commits it, and returns
/// what `fn` returned: one committed unit of work per call, as a handler has.
template <class Store, class Fn>
auto InCommittedTransaction(postgres::Connection& conn, Fn&& fn) {
    postgres::Transaction tx(conn);
    Store store(tx);
    if constexpr (std::is_void_v<decltype(fn(store))>) {
        fn(store);
        tx.Commit();
    } else {
        auto result = fn(store);
        tx.Commit();
        return result;
    }
}

/// A unique name for streams, groups and keys in a test (prefix + random suffix).
[[nodiscard]] std::string UniqueName(const std::string& prefix);

}  // namespace sagapay::testing
