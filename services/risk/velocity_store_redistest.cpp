#include "services/risk/velocity_store.hpp"

#include <gtest/gtest.h>

#include "testing/test_env.hpp"

namespace sagapay::risk {
namespace {

using namespace std::chrono_literals;

const Clock::TimePoint kT0 = Clock::TimePoint(std::chrono::seconds(1'800'000'000));

VelocityStore NewStore() {
    return {redis::ParseRedisUrl(testing::TestRedisUrl()), 1h, 24h};
}

CustomerId NewCustomer(const std::string& prefix = "cust") {
    return CustomerId(testing::UniqueName(prefix));
}

TEST(VelocityStore, CountsEachPaymentOnceWhateverTheRedeliveries) {
    VelocityStore store = NewStore();
    const CustomerId customer = NewCustomer();

    EXPECT_EQ(store.RecordPayment(customer, PaymentId("p1"), kT0), 1);
    EXPECT_EQ(store.RecordPayment(customer, PaymentId("p1"), kT0 + 1s), 1);
    EXPECT_EQ(store.RecordPayment(customer, PaymentId("p2"), kT0 + 2s), 2);
    EXPECT_EQ(store.RecordPayment(customer, PaymentId("p1"), kT0 + 3s), 2);
}

TEST(VelocityStore, WindowSlidesInsteadOfResettingOnTheHour) {
    VelocityStore store = NewStore();
    const CustomerId customer = NewCustomer();
    for (int i = 0; i < 20; ++i) {
        store.RecordPayment(
            customer, PaymentId("early-" + std::to_string(i)), kT0 + std::chrono::minutes(50)
        );
    }

    // Ten minutes later a fixed clock-hour window would have reset; the sliding one has not.
    EXPECT_EQ(store.RecordPayment(customer, PaymentId("late"), kT0 + std::chrono::minutes(60)), 21);
    // Once the early ones are more than an hour old they no longer count.
    EXPECT_EQ(
        store.RecordPayment(customer, PaymentId("later"), kT0 + std::chrono::minutes(111)), 2
    );
}

TEST(VelocityStore, CustomersNeverShareAKey) {
    EXPECT_NE(
        VelocityStore::VelocityKey(CustomerId("a:b")), VelocityStore::VelocityKey(CustomerId("a"))
    );
    EXPECT_NE(
        VelocityStore::VelocityKey(CustomerId("ab")), VelocityStore::FailureKey(CustomerId("ab"))
    );
    EXPECT_EQ(VelocityStore::VelocityKey(CustomerId("cust-1")), "risk:velocity:6:cust-1");
    EXPECT_EQ(VelocityStore::FailureKey(CustomerId("cust-1")), "risk:failed:6:cust-1");
}

TEST(VelocityStore, FailedAttemptsCountDeclinesOncePerPayment) {
    VelocityStore store = NewStore();
    const CustomerId customer = NewCustomer();

    store.RecordFailure(customer, PaymentId("p1"), kT0);
    store.RecordFailure(customer, PaymentId("p1"), kT0 + 1s);
    store.RecordFailure(customer, PaymentId("p2"), kT0 + 2s);

    EXPECT_EQ(store.FailedAttempts(customer, kT0 + 3s), 2);
    EXPECT_EQ(store.FailedAttempts(customer, kT0 + 25h), 0);
    EXPECT_EQ(store.FailedAttempts(NewCustomer("other"), kT0), 0);
}

TEST(VelocityStore, RecordAndCountDoesBothInOneCall) {
    VelocityStore store = NewStore();
    const CustomerId customer = NewCustomer();
    store.RecordFailure(customer, PaymentId("declined"), kT0);

    const VelocityCounts first = store.RecordAndCount(customer, PaymentId("p1"), kT0 + 1s);
    const VelocityCounts again = store.RecordAndCount(customer, PaymentId("p1"), kT0 + 2s);

    EXPECT_EQ(first.payments_last_hour, 1);
    EXPECT_EQ(first.failed_attempts, 1);
    EXPECT_EQ(again.payments_last_hour, 1);
    EXPECT_EQ(store.RecordPayment(customer, PaymentId("p2"), kT0 + 3s), 2);
}

TEST(VelocityStore, ServesAsTheVelocityCounterPort) {
    VelocityStore store = NewStore();
    VelocityCounter& counter = store;
    const CustomerId customer = NewCustomer();

    counter.RecordFailure(customer, PaymentId("d1"), kT0);
    counter.RecordFailure(customer, PaymentId("d2"), kT0 + 1s);
    const VelocityCounts counts = counter.RecordAndCount(customer, PaymentId("p1"), kT0 + 2s);

    EXPECT_EQ(counts.payments_last_hour, 1);
    EXPECT_EQ(counts.failed_attempts, 2);
    // Declines older than the failure window no longer count.
    EXPECT_EQ(counter.RecordAndCount(customer, PaymentId("p2"), kT0 + 25h).failed_attempts, 0);
}

}  // namespace
}  // namespace sagapay::risk
