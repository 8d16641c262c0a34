#include "testing/test_env.hpp"

#include <cstdio>
#include <cstdlib>
#include <random>
#include <stdexcept>

#include <gtest/gtest.h>

namespace sagapay::testing {
namespace {

std::string RequireEnv(
    const char* name,
    const char* what,
    const char* how =
        "Run the tests through `make test`, which starts the project's private "
        "stack and sets it."
) {
    const char* value = std::getenv(name);
    if (value != nullptr && *value != '\0') {
        return value;
    }
    const std::string message =
        std::string(name) + " is not set: this test needs " + what + ". " + how;
    ADD_FAILURE() << message;
    throw std::runtime_error(message);
}

std::string RandomHex(std::size_t length) {
    thread_local std::mt19937_64 engine{[] {
        std::random_device device;
        return (static_cast<std::uint64_t>(device()) << 32U) ^ device();
    }()};
    static constexpr char kDigits[] = "0123456789abcdef";
    std::uniform_int_distribution<int> digit(0, 15);
    std::string hex(length, '0');
    for (char& c : hex) {
        c = kDigits[digit(engine)];
    }
    return hex;
}

/// The URI `dsn` with its path (the database) replaced by `database`; the query is kept.
std::string WithDatabase(const std::string& dsn, const std::string& database) {
    const std::string uri = postgres::Connection::NormalizeDsn(dsn);
    const std::size_t scheme_end = uri.find("://");
    if (scheme_end == std::string::npos) {
        throw std::runtime_error(
            "SAGAPAY_TEST_PG_DSN must be a URI (postgresql://user@host:port/db), got " +
            postgres::Connection::RedactDsn(dsn)
        );
    }
    const std::size_t path = std::min(uri.find_first_of("/?#", scheme_end + 3), uri.size());
    if (path < uri.size() && uri[path] == '/') {
        const std::size_t path_end = std::min(uri.find_first_of("?#", path), uri.size());
        return uri.substr(0, path + 1) + database + uri.substr(path_end);
    }
    return uri.substr(0, path) + "/" + database + uri.substr(path);
}

}  // namespace

std::string TestPgDsn() {
    return RequireEnv("SAGAPAY_TEST_PG_DSN", "a PostgreSQL server");
}

std::string TestRedisUrl() {
    return RequireEnv("SAGAPAY_TEST_REDIS_URL", "a Redis server");
}

std::string TestKafkaBootstrapServers() {
    return RequireEnv(
        "KAFKA_BOOTSTRAP_SERVERS",
        "a Kafka broker",
        "Start one and set it: `scripts/kafka.sh start && eval \"$(scripts/kafka.sh env)\"`."
    );
}

TestDatabase::TestDatabase() {
    const std::string server = TestPgDsn();
    name_ = "t_" + RandomHex(16);
    postgres::Connection admin = postgres::Connection::Open(WithDatabase(server, "postgres"));
    admin.ExecScript("CREATE DATABASE " + name_);
    dsn_ = WithDatabase(server, name_);
}

TestDatabase::~TestDatabase() {
    try {
        postgres::Connection admin =
            postgres::Connection::Open(WithDatabase(TestPgDsn(), "postgres"));
        admin.ExecScript("DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
    } catch (const std::exception& error) {
        std::fprintf(
            stderr, "warning: test database %s not dropped: %s\n", name_.c_str(), error.what()
        );
    }
}

std::string UniqueName(const std::string& prefix) {
    return prefix + "_" + RandomHex(12);
}

}  // namespace sagapay::testing
