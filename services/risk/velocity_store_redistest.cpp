#include "services/risk/velocity_store.hpp"

#include <gtest/gtest.h>

#include "testing/test_env.hpp"

namespace sagapay::risk {
namespace {

using namespace std::chrono_literals;

const Clock::TimePoint kT0 = Clock::TimePoint(std::chrono::seconds(1'800'000'000));

TEST(VelocityStore, CountsEachPaymentOnceWhateverTheRedeliveries) {
    VelocityStore store(redis::ParseRedisUrl(testing::TestRedisUrl()), 1h, 24h);
    const std::string customer = testing::UniqueName("cust");

    EXPECT_EQ(store.RecordPayment(customer, "p1", kT0), 1);
    EXPECT_EQ(store.RecordPayment(customer, "p1", kT0 + 1s), 1);
    EXPECT_EQ(store.RecordPayment(customer, "p2", kT0 + 2s), 2);
    EXPECT_EQ(store.RecordPayment(customer, "p1", kT0 + 3s), 2);
}

TEST(VelocityStore, WindowSlidesInsteadOfResettingOnTheHour) {
    VelocityStore store(redis::ParseRedisUrl(testing::TestRedisUrl()), 1h, 24h);
    const std::string customer = testing::UniqueName("cust");
    for (int i = 0; i < 20; ++i) {
        store.RecordPayment(customer, "early-" + std::to_string(i), kT0 + std::chrono::minutes(50));
    }

    // Ten minutes later a fixed clock-hour window would have reset; the sliding one has not.
    EXPECT_EQ(store.RecordPayment(customer, "late", kT0 + std::chrono::minutes(60)), 21);
    // Once the early ones are more than an hour old they no longer count.
    EXPECT_EQ(store.RecordPayment(customer, "later", kT0 + std::chrono::minutes(111)), 2);
}

TEST(VelocityStore, CustomersNeverShareAKey) {
    EXPECT_NE(VelocityStore::VelocityKey("a:b"), VelocityStore::VelocityKey("a"));
    EXPECT_NE(VelocityStore::VelocityKey("ab"), VelocityStore::FailureKey("ab"));
}

TEST(VelocityStore, FailedAttemptsCountDeclinesOncePerPayment) {
    VelocityStore store(redis::ParseRedisUrl(testing::TestRedisUrl()), 1h, 24h);
    const std::string customer = testing::UniqueName("cust");

    store.RecordFailure(customer, "p1", kT0);
    store.RecordFailure(customer, "p1", kT0 + 1s);
    store.RecordFailure(customer, "p2", kT0 + 2s);

    EXPECT_EQ(store.FailedAttempts(customer, kT0 + 3s), 2);
    EXPECT_EQ(store.FailedAttempts(customer, kT0 + 25h), 0);
    EXPECT_EQ(store.FailedAttempts(testing::UniqueName("other"), kT0), 0);
}

}  // namespace
}  // namespace sagapay::risk

namespace sagapay::risk {
namespace {

TEST(VelocityStore, RecordAndCountDoesBothInOneCall) {
    VelocityStore store(
        redis::ParseRedisUrl(testing::TestRedisUrl()), std::chrono::hours(1), std::chrono::hours(24)
    );
    const std::string customer = testing::UniqueName("cust");
    store.RecordFailure(customer, "declined", kT0);

    const auto first = store.RecordAndCount(customer, "p1", kT0 + std::chrono::seconds(1));
    const auto again = store.RecordAndCount(customer, "p1", kT0 + std::chrono::seconds(2));

    EXPECT_EQ(first.payments_last_hour, 1);
    EXPECT_EQ(first.failed_attempts, 1);
    EXPECT_EQ(again.payments_last_hour, 1);
    EXPECT_EQ(store.RecordPayment(customer, "p2", kT0 + std::chrono::seconds(3)), 2);
}

}  // namespace
}  // namespace sagapay::risk
