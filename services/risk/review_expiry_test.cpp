#include "services/risk/review_expiry.hpp"

#include <stdexcept>
#include <stop_token>

#include <gtest/gtest.h>

#include "core/ids.hpp"
#include "services/risk/in_memory_risk_store.hpp"
#include "testing/fake_clock.hpp"

namespace sagapay::risk {
namespace {

using namespace std::chrono_literals;

PaymentId NthPayment(int n) {
    char id[40];
    std::snprintf(id, sizeof(id), "8b3c4d5e-0000-4000-8000-%012d", n);
    return PaymentId(std::string(id));
}

class ReviewExpiryTest : public ::testing::Test {
protected:
    void OpenReview(int n) {
        units_.Store().InsertReview(
            {NthPayment(n),
             CustomerId("cust-" + std::to_string(n)),
             Money{200000, *Currency::Parse("USD")},
             "high_amount",
             "trace-" + std::to_string(n)}
        );
    }

    testing::FakeClock clock_;
    InMemoryRiskUnitsOfWork units_{clock_};
};

TEST_F(ReviewExpiryTest, DeniesOnlyReviewsOlderThanTheExpiryAndAnnouncesThem) {
    ReviewExpiry expiry(units_, clock_, {.expire_after = 30s});
    OpenReview(1);
    clock_.Advance(20s);
    OpenReview(2);
    clock_.Advance(11s);  // the first is 31 s old, the second 11 s

    EXPECT_EQ(expiry.RunOnce(), 1);

    const auto first = units_.Store().ReviewOf(NthPayment(1));
    EXPECT_EQ(first->status, ReviewStatus::kDenied);
    EXPECT_EQ(first->reviewed_by, "system:expiry");
    EXPECT_EQ(units_.Store().ReviewOf(NthPayment(2))->status, ReviewStatus::kPending);
    const auto denied = units_.Events().Only<RiskDenied>();
    EXPECT_EQ(denied.decision, Verdict::kDeny);
    EXPECT_EQ(denied.reason, "manual_deny");
    EXPECT_EQ(denied.customer_id, CustomerId("cust-1"));
    ASSERT_TRUE(denied.review.has_value());
    EXPECT_EQ(denied.review->reviewed_by, "system:expiry");
    EXPECT_EQ(denied.review->review_status, "DENIED");
    EXPECT_EQ(denied.review->reviewed_at, "");  // the seed's expiry event has none
    const Envelope& envelope = units_.Events().Published().front();
    EXPECT_FALSE(envelope.payload.contains("reviewed_at"));
    EXPECT_EQ(envelope.aggregate_id, NthPayment(1).Value());
    EXPECT_EQ(envelope.trace_id, "trace-1");
    EXPECT_TRUE(IsUuid(envelope.event_id));

    EXPECT_EQ(expiry.RunOnce(), 0);  // nothing more is due
    clock_.Advance(20s);
    EXPECT_EQ(expiry.RunOnce(), 1);
    EXPECT_EQ(units_.Events().On(topics::kRiskDenied).size(), 2U);
}

TEST_F(ReviewExpiryTest, DeniesAtMostABatchPerTransactionOldestFirst) {
    ReviewExpiry expiry(units_, clock_, {.expire_after = 1s, .batch = 2});
    for (int n = 1; n <= 3; ++n) {
        OpenReview(n);
        clock_.Advance(1ms);
    }
    clock_.Advance(5s);

    EXPECT_EQ(expiry.RunOnce(), 2);
    EXPECT_EQ(units_.Store().ReviewOf(NthPayment(3))->status, ReviewStatus::kPending);
    EXPECT_EQ(expiry.RunOnce(), 1);
    EXPECT_EQ(units_.Store().ReviewOf(NthPayment(3))->status, ReviewStatus::kDenied);
    EXPECT_EQ(units_.Runs(), 2);
}

TEST_F(ReviewExpiryTest, DecidedReviewsNeverExpire) {
    ReviewExpiry expiry(units_, clock_, {.expire_after = 1s});
    OpenReview(1);
    ASSERT_TRUE(std::holds_alternative<DecidedReview>(
        units_.Store().DecideReview(NthPayment(1), {ReviewStatus::kApproved, "ops", EventId("e-1")})
    ));
    clock_.Advance(1h);

    EXPECT_EQ(expiry.RunOnce(), 0);
    EXPECT_EQ(units_.Store().ReviewOf(NthPayment(1))->status, ReviewStatus::kApproved);
}

TEST_F(ReviewExpiryTest, IsDisabledWithoutAPositiveExpiry) {
    for (const auto after : {0s, -5s}) {
        ReviewExpiry expiry(units_, clock_, {.expire_after = after});
        EXPECT_FALSE(expiry.Enabled());
        std::stop_source never;
        expiry.Run(never.get_token());  // returns at once
    }
    EXPECT_EQ(units_.Runs(), 0);
    EXPECT_TRUE(ReviewExpiry(units_, clock_, {.expire_after = 1s}).Enabled());
}

/// Fails its first unit of work, stops the expiry on its second.
class FailingOnceUnits final : public RiskUnitsOfWork {
public:
    FailingOnceUnits(RiskUnitsOfWork& inner, std::stop_source& stop) : inner_(inner), stop_(stop) {}

    void Run(const Work& work) override {
        if (++runs_ == 1) {
            throw std::runtime_error("database down");
        }
        stop_.request_stop();
        inner_.Run(work);
    }

    int runs_ = 0;

private:
    RiskUnitsOfWork& inner_;
    std::stop_source& stop_;
};

TEST_F(ReviewExpiryTest, RunKeepsGoingAfterAFailedRoundUntilStopped) {
    OpenReview(1);
    clock_.Advance(1h);
    std::stop_source stop;
    FailingOnceUnits flaky(units_, stop);
    ReviewExpiry expiry(flaky, clock_, {.expire_after = 1s, .interval = 1ms});

    expiry.Run(stop.get_token());

    EXPECT_EQ(flaky.runs_, 2);
    EXPECT_EQ(units_.Store().ReviewOf(NthPayment(1))->status, ReviewStatus::kDenied);
}

TEST(InMemoryRiskUnitsOfWork, AUnitOfWorkThatThrowsLeavesNothingBehind) {
    testing::FakeClock clock;
    InMemoryRiskUnitsOfWork units(clock);

    EXPECT_THROW(
        units.Run([&](RiskStore& store, Outbox& outbox) {
            store.InsertReview(
                {NthPayment(1), CustomerId("c"), Money{1, *Currency::Parse("USD")}, "r", "t"}
            );
            outbox.Append(Envelope{});
            throw std::runtime_error("boom");
        }),
        std::runtime_error
    );

    EXPECT_EQ(units.Store().ReviewCount(), 0U);
    EXPECT_EQ(units.Events().Size(), 0U);
}

}  // namespace
}  // namespace sagapay::risk
