#include "services/gateway/rate_limiter.hpp"

#include <gtest/gtest.h>

#include "testing/test_env.hpp"

namespace sagapay::gateway {
namespace {

TEST(RateLimiter, AdmitsTheCapacityThenRefusesWithRetryAfter) {
    RateLimiter limiter(redis::ParseRedisUrl(testing::TestRedisUrl()), 3);
    const CustomerId customer(testing::UniqueName("rl-cust"));

    for (int i = 0; i < 3; ++i) {
        const auto admitted = limiter.Take(customer);
        ASSERT_TRUE(admitted.has_value()) << admitted.error().message;
        EXPECT_TRUE(admitted->allowed) << i;
    }
    const auto refused = limiter.Take(customer);
    ASSERT_TRUE(refused.has_value());
    EXPECT_FALSE(refused->allowed);
    EXPECT_GT(refused->retry_after.count(), 0);
    // Another customer has a bucket of its own.
    EXPECT_TRUE(limiter.Take(CustomerId(testing::UniqueName("rl-other")))->allowed);
}

TEST(RateLimiter, KeysOfDifferentCustomersNeverCollide) {
    EXPECT_NE(RateLimiter::Key("a:b"), RateLimiter::Key("a"));
    EXPECT_NE(RateLimiter::Key("ab"), RateLimiter::Key("a"));
}

TEST(RateLimiter, AnUnreachableRedisIsUnavailable) {
    RateLimiter limiter(redis::ParseRedisUrl("redis://127.0.0.1:1/0"), 3);
    const auto result = limiter.Take(CustomerId("c"));
    ASSERT_FALSE(result.has_value());
    EXPECT_EQ(result.error().code, ErrorCode::kUnavailable);
}

}  // namespace
}  // namespace sagapay::gateway
