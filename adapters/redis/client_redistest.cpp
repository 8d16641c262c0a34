#include "adapters/redis/client.hpp"

#include <chrono>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "testing/test_env.hpp"

namespace sagapay::redis {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

class ConnectionRedisTest : public ::testing::Test {
protected:
    ConnectionRedisTest()
        : endpoint_(ParseRedisUrl(sagapay::testing::TestRedisUrl())),
          prefix_(sagapay::testing::UniqueName("client-test-") + ":"),
          conn_(endpoint_) {}

    void TearDown() override {
        try {
            std::vector<std::string> del{"DEL"};
            for (const std::string& key : keys_) {
                del.push_back(key);
            }
            if (del.size() > 1) {
                Connection cleanup(endpoint_);
                (void)cleanup.Command(del);
            }
        } catch (const RedisError&) {  // Best effort: the server is throwaway.
        }
    }

    std::string Key(const std::string& name) {
        keys_.push_back(prefix_ + name);
        return keys_.back();
    }

    /// The error a call throws, failing the test when it does not throw.
    template <class Call>
    static RedisError ErrorOf(Call&& call) {
        try {
            call();
        } catch (const RedisError& e) {
            return e;
        }
        ADD_FAILURE() << "expected a RedisError";
        return {ErrorCode::kInternal, "(none)"};
    }

    Endpoint endpoint_;
    std::string prefix_;
    std::vector<std::string> keys_;
    Connection conn_;
};

TEST_F(ConnectionRedisTest, RunsACommandAndDecodesEachReplyType) {
    const std::string key = Key("counter");

    const Reply status = conn_.Command({"SET", key, "41"});
    EXPECT_EQ(status.type, Reply::Type::kStatus);
    EXPECT_EQ(status.str, "OK");

    const Reply integer = conn_.Command({"INCR", key});
    EXPECT_EQ(integer.type, Reply::Type::kInteger);
    EXPECT_EQ(integer.integer, 42);

    const Reply string = conn_.Command({"GET", key});
    EXPECT_EQ(string.type, Reply::Type::kString);
    EXPECT_EQ(string.str, "42");

    EXPECT_TRUE(conn_.Command({"GET", Key("missing")}).IsNil());

    const std::string list = Key("list");
    (void)conn_.Command({"RPUSH", list, "a", "b"});
    const Reply array = conn_.Command({"LRANGE", list, "0", "-1"});
    ASSERT_EQ(array.type, Reply::Type::kArray);
    ASSERT_EQ(array.elements.size(), 2u);
    EXPECT_EQ(array.elements[0].str, "a");
    EXPECT_EQ(array.elements[1].str, "b");
}

TEST_F(ConnectionRedisTest, KeepsBinaryValuesIntact) {
    const std::string key = Key(std::string("bin\0key", 7));
    constexpr char kRaw[] = "\0\r\n\xff payload with spaces %s \0";
    const std::string value(kRaw, sizeof(kRaw) - 1);

    (void)conn_.Command({"SET", key, value});

    const Reply reply = conn_.Command({"GET", key});
    EXPECT_EQ(reply.str, value);
    EXPECT_EQ(reply.str.size(), sizeof(kRaw) - 1);
}

TEST_F(ConnectionRedisTest, PipelineReturnsEveryReplyInOrder) {
    const std::string key = Key("pipelined");

    const std::vector<Reply> replies = conn_.Pipeline({
        {"SET", key, "1"},
        {"INCRBY", key, "9"},
        {"GET", key},
        {"PING"},
    });

    ASSERT_EQ(replies.size(), 4u);
    EXPECT_EQ(replies[0].str, "OK");
    EXPECT_EQ(replies[1].integer, 10);
    EXPECT_EQ(replies[2].str, "10");
    EXPECT_EQ(replies[3].str, "PONG");
}

TEST_F(ConnectionRedisTest, ErrorReplyThrowsInternalWithTheCommandAndRedisText) {
    const std::string key = Key("text");
    (void)conn_.Command({"SET", key, "abc"});

    const RedisError error = ErrorOf([&] { (void)conn_.Command({"incr", key}); });

    EXPECT_EQ(error.Code(), ErrorCode::kInternal);
    EXPECT_THAT(error.what(), HasSubstr("redis INCR: "));
    EXPECT_THAT(error.what(), HasSubstr("not an integer"));
    EXPECT_EQ(conn_.Command({"PING"}).str, "PONG");
}

TEST_F(ConnectionRedisTest, PipelineErrorThrowsAfterReadingAllRepliesSoTheConnectionStaysInSync) {
    const std::string key = Key("string");

    const RedisError error = ErrorOf([&] {
        (void)conn_.Pipeline({
            {"SET", key, "v"},
            {"LPUSH", key, "x"},
            {"SET", key, "after"},
        });
    });

    EXPECT_EQ(error.Code(), ErrorCode::kInternal);
    EXPECT_THAT(error.what(), HasSubstr("redis LPUSH: WRONGTYPE"));
    EXPECT_EQ(conn_.Command({"GET", key}).str, "after");
}

TEST_F(ConnectionRedisTest, ReconnectsOnTheNextCommandAfterTheServerDropsTheConnection) {
    const std::int64_t first_id = conn_.Command({"CLIENT", "ID"}).integer;
    Connection admin(endpoint_);
    ASSERT_EQ(admin.Command({"CLIENT", "KILL", "ID", std::to_string(first_id)}).integer, 1);

    const RedisError error = ErrorOf([&] { (void)conn_.Command({"PING"}); });
    EXPECT_EQ(error.Code(), ErrorCode::kUnavailable);

    EXPECT_EQ(conn_.Command({"PING"}).str, "PONG");
    EXPECT_NE(conn_.Command({"CLIENT", "ID"}).integer, first_id);
}

TEST_F(ConnectionRedisTest, ReconnectsAfterKillingItsOwnConnection) {
    const std::int64_t first_id = conn_.Command({"CLIENT", "ID"}).integer;
    const Reply killed =
        conn_.Command({"CLIENT", "KILL", "ID", std::to_string(first_id), "SKIPME", "no"});
    ASSERT_EQ(killed.integer, 1);

    EXPECT_EQ(ErrorOf([&] { (void)conn_.Command({"PING"}); }).Code(), ErrorCode::kUnavailable);
    EXPECT_EQ(conn_.Command({"PING"}).str, "PONG");
    EXPECT_NE(conn_.Command({"CLIENT", "ID"}).integer, first_id);
}

TEST_F(ConnectionRedisTest, SocketTimeoutThrowsUnavailableAndTheNextCommandReconnects) {
    Endpoint quick = endpoint_;
    quick.timeout = 100ms;
    Connection conn(quick);

    const RedisError error = ErrorOf([&] { (void)conn.Command({"BLPOP", Key("empty"), "2"}); });

    EXPECT_EQ(error.Code(), ErrorCode::kUnavailable);
    EXPECT_THAT(error.what(), HasSubstr("BLPOP"));
    EXPECT_EQ(conn.Command({"PING"}).str, "PONG");
}

TEST_F(ConnectionRedisTest, CommandWithTimeoutAllowsALongerBlockOnlyForThatCall) {
    Endpoint quick = endpoint_;
    quick.timeout = 200ms;
    Connection conn(quick);
    const std::string list = Key("blocking");

    const auto start = std::chrono::steady_clock::now();
    const Reply reply = conn.CommandWithTimeout({"BLPOP", list, "0.5"}, 2s);
    EXPECT_TRUE(reply.IsNil());
    EXPECT_GE(std::chrono::steady_clock::now() - start, 400ms);

    EXPECT_EQ(
        ErrorOf([&] {
            (void)conn.Command({"BLPOP", list, "0.5"});
        }).Code(),
        ErrorCode::kUnavailable
    );
}

/// An ACL user with its own password, deleted afterwards.
class RedisAuthTest : public ConnectionRedisTest {
protected:
    RedisAuthTest() : user_(sagapay::testing::UniqueName("client-test-user-")) {
        (void)conn_.Command({"ACL", "SETUSER", user_, "on", ">right-pass", "~*", "&*", "+@all"});
    }
    void TearDown() override {
        try {
            (void)conn_.Command({"ACL", "DELUSER", user_});
        } catch (const RedisError&) {  // Best effort: the server is throwaway.
        }
        ConnectionRedisTest::TearDown();
    }

    [[nodiscard]] Endpoint As(const std::string& password) const {
        Endpoint endpoint = endpoint_;
        endpoint.user = user_;
        endpoint.password = password;
        return endpoint;
    }

    std::string user_;
};

TEST_F(RedisAuthTest, TheRightPasswordWorksAndIsSentAgainOnReconnect) {
    Connection conn(As("right-pass"));
    EXPECT_EQ(conn.Command({"ACL", "WHOAMI"}).str, user_);

    const std::int64_t id = conn.Command({"CLIENT", "ID"}).integer;
    (void)conn_.Command({"CLIENT", "KILL", "ID", std::to_string(id)});
    EXPECT_EQ(ErrorOf([&] { (void)conn.Command({"PING"}); }).Code(), ErrorCode::kUnavailable);
    EXPECT_EQ(conn.Command({"ACL", "WHOAMI"}).str, user_);
}

TEST_F(RedisAuthTest, AWrongPasswordFailsWithAClearErrorThatHidesIt) {
    Connection conn(As("wrong-pass"));

    const RedisError error = ErrorOf([&] { (void)conn.Command({"PING"}); });

    EXPECT_EQ(error.Code(), ErrorCode::kFailedPrecondition);
    EXPECT_THAT(error.what(), HasSubstr("AUTH as user '" + user_ + "'"));
    EXPECT_THAT(error.what(), HasSubstr("WRONGPASS"));
    EXPECT_THAT(std::string(error.what()), ::testing::Not(HasSubstr("wrong-pass")));
}

TEST_F(RedisAuthTest, AUrlWithUserPasswordAndDatabaseAuthenticatesAndSelects) {
    Endpoint endpoint = ParseRedisUrl(
        "redis://" + user_ + ":right-pass@" + endpoint_.host + ":" +
        std::to_string(endpoint_.port) + "/7"
    );
    Connection conn(endpoint);
    const std::string key = prefix_ + "in-db-7";

    (void)conn.Command({"SET", key, "x"});

    EXPECT_EQ(conn.Command({"GET", key}).str, "x");
    EXPECT_TRUE(conn_.Command({"GET", key}).IsNil());  // database 0 does not see it
    (void)conn.Command({"DEL", key});
}

TEST_F(ConnectionRedisTest, AnOutOfMemoryReplyIsRetryable) {
    // What Redis answers a write under maxmemory with noeviction.
    const RedisError error = ErrorOf([&] {
        (void)conn_.Command(
            {"EVAL",
             "return redis.error_reply('OOM command not allowed when used memory > "
             "\"maxmemory\".')",
             "0"}
        );
    });

    EXPECT_EQ(error.Code(), ErrorCode::kUnavailable) << error.what();
    EXPECT_TRUE(IsRetryable(error.Code()));
    EXPECT_THAT(error.what(), HasSubstr("maxmemory"));
}

}  // namespace
}  // namespace sagapay::redis
