#include "adapters/redis/client.hpp"

#include <stdexcept>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace sagapay::redis {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::string ParseErrorOf(const std::string& url) {
    try {
        (void)ParseRedisUrl(url);
    } catch (const std::invalid_argument& e) {
        return e.what();
    }
    return "(no error)";
}

TEST(ParseRedisUrlTest, ReadsHostPortAndDatabaseZero) {
    const Endpoint endpoint = ParseRedisUrl("redis://cache.internal:6380/0");
    EXPECT_EQ(endpoint.host, "cache.internal");
    EXPECT_EQ(endpoint.port, 6380);
    EXPECT_EQ(endpoint.timeout, Endpoint{}.timeout);
}

TEST(ParseRedisUrlTest, AcceptsAUrlWithoutDatabase) {
    const Endpoint endpoint = ParseRedisUrl("redis://127.0.0.1:47001");
    EXPECT_EQ(endpoint.host, "127.0.0.1");
    EXPECT_EQ(endpoint.port, 47001);
    EXPECT_EQ(ParseRedisUrl("redis://127.0.0.1:47001/").port, 47001);
}

TEST(ParseRedisUrlTest, DefaultsThePortTo6379) {
    const Endpoint endpoint = ParseRedisUrl("redis://redis");
    EXPECT_EQ(endpoint.host, "redis");
    EXPECT_EQ(endpoint.port, 6379);
}

TEST(ParseRedisUrlTest, ReadsABracketedIpv6Host) {
    const Endpoint endpoint = ParseRedisUrl("redis://[::1]:7000/0");
    EXPECT_EQ(endpoint.host, "::1");
    EXPECT_EQ(endpoint.port, 7000);
}

TEST(ParseRedisUrlTest, RejectsAnotherScheme) {
    EXPECT_THAT(ParseErrorOf("http://localhost:6379"), HasSubstr("expected redis://"));
    EXPECT_THAT(ParseErrorOf("localhost:6379"), HasSubstr("expected redis://"));
    EXPECT_THAT(ParseErrorOf(""), HasSubstr("expected redis://"));
}

TEST(ParseRedisUrlTest, RejectsTls) {
    EXPECT_THAT(ParseErrorOf("rediss://localhost:6379"), HasSubstr("TLS"));
}

TEST(ParseRedisUrlTest, RejectsAMissingHost) {
    EXPECT_THAT(ParseErrorOf("redis://:6379"), HasSubstr("missing host"));
    EXPECT_THAT(ParseErrorOf("redis://"), HasSubstr("missing host"));
    EXPECT_THAT(ParseErrorOf("redis:///0"), HasSubstr("missing host"));
}

TEST(ParseRedisUrlTest, RejectsABadPort) {
    EXPECT_THAT(ParseErrorOf("redis://localhost:"), HasSubstr("port"));
    EXPECT_THAT(ParseErrorOf("redis://localhost:abc"), HasSubstr("port"));
    EXPECT_THAT(ParseErrorOf("redis://localhost:0"), HasSubstr("port"));
    EXPECT_THAT(ParseErrorOf("redis://localhost:65536"), HasSubstr("port"));
    EXPECT_THAT(ParseErrorOf("redis://localhost:-1"), HasSubstr("port"));
    EXPECT_THAT(ParseErrorOf("redis://localhost:63 79"), HasSubstr("port"));
}

TEST(ParseRedisUrlTest, RejectsABadDatabase) {
    EXPECT_THAT(ParseErrorOf("redis://localhost:6379/x"), HasSubstr("database"));
    EXPECT_THAT(ParseErrorOf("redis://localhost:6379/-1"), HasSubstr("database"));
    EXPECT_THAT(ParseErrorOf("redis://localhost:6379/0/1"), HasSubstr("database"));
}

TEST(ParseRedisUrlTest, ReadsADatabaseOtherThanZero) {
    EXPECT_EQ(ParseRedisUrl("redis://localhost:6379/2").database, 2);
    EXPECT_EQ(ParseRedisUrl("redis://localhost:6379").database, 0);
}

TEST(ParseRedisUrlTest, ReadsUserAndPassword) {
    const Endpoint endpoint = ParseRedisUrl("redis://sagapay:s3cr%40t%3A@cache.internal:6380/1");
    EXPECT_EQ(endpoint.user, "sagapay");
    EXPECT_EQ(endpoint.password, "s3cr@t:");
    EXPECT_EQ(endpoint.host, "cache.internal");
    EXPECT_EQ(endpoint.port, 6380);
    EXPECT_EQ(endpoint.database, 1);
}

TEST(ParseRedisUrlTest, ReadsAPasswordWithoutUser) {
    const Endpoint endpoint = ParseRedisUrl("redis://:secret@localhost");
    EXPECT_EQ(endpoint.user, "");
    EXPECT_EQ(endpoint.password, "secret");
    EXPECT_EQ(endpoint.host, "localhost");
}

TEST(ParseRedisUrlTest, RejectsCredentialsWithoutPasswordAndQueryParameters) {
    EXPECT_THAT(ParseErrorOf("redis://secret@localhost:6379"), HasSubstr("need a password"));
    EXPECT_THAT(ParseErrorOf("redis://user:@localhost:6379"), HasSubstr("empty password"));
    EXPECT_THAT(ParseErrorOf("redis://u:bad%4@localhost:6379"), HasSubstr("escape"));
    EXPECT_THAT(ParseErrorOf("redis://localhost:6379/0?timeout=1"), HasSubstr("query"));
}

// The message ends up in the startup log: it shows the URL, never its password.
TEST(ParseRedisUrlTest, NeverQuotesAPasswordGivenAsAQueryParameter) {
    const std::string query = ParseErrorOf("redis://cache:6379/0?password=s3cret-pass");
    EXPECT_THAT(query, Not(HasSubstr("s3cret-pass")));
    EXPECT_THAT(query, HasSubstr("password=***"));
}

TEST(ParseRedisUrlTest, NeverQuotesThePassword) {
    const std::string message = ParseErrorOf("redis://user:hunter2@localhost:99999");
    EXPECT_THAT(message, Not(HasSubstr("hunter2")));
    EXPECT_THAT(message, HasSubstr("redis://user:***@localhost:99999"));
    EXPECT_THAT(ParseErrorOf("redis://hunter2@localhost:1"), Not(HasSubstr("hunter2")));
}

// Found by adapters/redis/redis_url_fuzz: a raw '/' in the password made the rest of it the
// port or the database, quoted in the message ("database must be ..., got 'secret@cache'").
TEST(ParseRedisUrlTest, NeverQuotesAPasswordWithARawSlash) {
    for (const char* url :
         {"redis://u:12/topsecret@cache:6379/0",
          "redis://u:pa/topsecret@cache",
          "redis://:/topsecret@cache:6379"}) {
        const std::string message = ParseErrorOf(url);
        EXPECT_THAT(message, Not(HasSubstr("topsecret"))) << url;
        EXPECT_THAT(message, HasSubstr("percent-encoded as %2F")) << url;
    }
    EXPECT_EQ(ParseRedisUrl("redis://u:pa%2Fss@cache:6379/1").password, "pa/ss");
}

// Found by adapters/redis/redis_url_fuzz: with a '@' in the query, RedactRedisUrl masked from the
// port to that '@', the '?' with it, and RedactUrlPassword then saw no query to mask.
TEST(ParseRedisUrlTest, NeverQuotesAQueryPasswordAfterAnAt) {
    const std::string message = ParseErrorOf("redis://cache:6379?user=me@corp&password=s3cret");
    EXPECT_THAT(message, Not(HasSubstr("s3cret")));
    EXPECT_THAT(message, HasSubstr("password=***"));
}

TEST(RedactRedisUrlTest, MasksThePasswordOnly) {
    EXPECT_EQ(RedactRedisUrl("redis://u:p@h:1/0"), "redis://u:***@h:1/0");
    EXPECT_EQ(RedactRedisUrl("redis://:p@h:1/0"), "redis://:***@h:1/0");
    EXPECT_EQ(RedactRedisUrl("redis://h:1/0"), "redis://h:1/0");
}

TEST(ParseRedisUrlTest, RejectsAnUnbracketedIpv6Host) {
    EXPECT_THAT(ParseErrorOf("redis://::1:6379"), HasSubstr("brackets"));
    EXPECT_THAT(ParseErrorOf("redis://[::1:6379"), HasSubstr("]"));
}

TEST(ParseRedisUrlTest, QuotesTheUrlInTheMessage) {
    EXPECT_THAT(ParseErrorOf("redis://localhost:99999"), HasSubstr("'redis://localhost:99999'"));
}

TEST(ConnectionTest, ConstructingDoesNoIo) {
    Connection conn(Endpoint{"127.0.0.1", 1, std::chrono::milliseconds(200)});
    EXPECT_EQ(conn.Where().port, 1);
}

TEST(ConnectionTest, ThrowsUnavailableWhenNothingListens) {
    Connection conn(Endpoint{"127.0.0.1", 1, std::chrono::milliseconds(500)});
    try {
        (void)conn.Command({"PING"});
        FAIL() << "PING to a closed port succeeded";
    } catch (const RedisError& e) {
        EXPECT_EQ(e.Code(), ErrorCode::kUnavailable);
        EXPECT_THAT(e.what(), HasSubstr("127.0.0.1:1"));
    }
}

TEST(ConnectionTest, RejectsAnEmptyCommandWithoutConnecting) {
    Connection conn(Endpoint{"127.0.0.1", 1, std::chrono::milliseconds(200)});
    try {
        (void)conn.Command({});
        FAIL() << "an empty command was accepted";
    } catch (const RedisError& e) {
        EXPECT_EQ(e.Code(), ErrorCode::kInvalidArgument);
    }
    EXPECT_TRUE(conn.Pipeline({}).empty());
}

}  // namespace
}  // namespace sagapay::redis
