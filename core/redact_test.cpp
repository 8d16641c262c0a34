#include "core/redact.hpp"

#include <gtest/gtest.h>

namespace sagapay {
namespace {

TEST(RedactUrlPassword, MasksEveryPasswordForm) {
    EXPECT_EQ(
        RedactUrlPassword("postgresql://finpay:hunter2@db:5432/orders"),
        "postgresql://finpay:***@db:5432/orders"
    );
    EXPECT_EQ(
        RedactUrlPassword("postgresql://finpay@db/orders?sslmode=require&password=hunter2"),
        "postgresql://finpay@db/orders?sslmode=require&password=***"
    );
    EXPECT_EQ(
        RedactUrlPassword("postgresql://u:p%40ss@db/x?password=two#frag"),
        "postgresql://u:***@db/x?password=***#frag"
    );
    EXPECT_EQ(RedactUrlPassword("redis://:s3cret@cache:6379/0"), "redis://:***@cache:6379/0");
    EXPECT_EQ(
        RedactUrlPassword("host=db password=hunter2 dbname=orders"),
        "host=db password=*** dbname=orders"
    );
    EXPECT_EQ(
        RedactUrlPassword("host=db password = 'two words\\' x' dbname=orders"),
        "host=db password = *** dbname=orders"
    );
}

TEST(RedactUrlPassword, LeavesUrlsWithoutAPasswordAlone) {
    EXPECT_EQ(RedactUrlPassword("redis://cache:6379/0"), "redis://cache:6379/0");
    EXPECT_EQ(RedactUrlPassword("http://user@host:8001/x"), "http://user@host:8001/x");
    EXPECT_EQ(RedactUrlPassword("host=db dbname=orders"), "host=db dbname=orders");
    EXPECT_EQ(RedactUrlPassword(""), "");
}

}  // namespace
}  // namespace sagapay
