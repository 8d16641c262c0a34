#include "services/risk/risk_rules.hpp"

#include <gtest/gtest.h>

namespace sagapay::risk {
namespace {

struct Case {
    std::int64_t amount;
    std::int64_t count;
    std::int64_t failed;
    Verdict verdict;
    std::string_view reason;
};

TEST(RiskRules, FirstMatchingRuleWinsWithTheSeedsDefaults) {
    const RiskThresholds seed;
    const Case cases[] = {
        {1500, 1, 0, Verdict::kApprove, "rule_passed"},
        {100000, 1, 0, Verdict::kApprove, "rule_passed"},  // exactly the threshold
        {100001, 1, 0, Verdict::kReview, "high_amount"},
        {150000, 1, 0, Verdict::kReview, "high_amount"},
        {1500, 20, 0, Verdict::kApprove, "rule_passed"},
        {1500, 21, 0, Verdict::kReview, "velocity_threshold"},
        {1500, 50, 0, Verdict::kReview, "velocity_threshold"},
        {1500, 51, 0, Verdict::kDeny, "high_frequency"},
        {150000, 51, 5, Verdict::kDeny, "high_frequency"},
        {1500, 1, 2, Verdict::kApprove, "rule_passed"},
        {1500, 1, 3, Verdict::kReview, "multiple_failed_attempts"},
        {150000, 1, 3, Verdict::kReview, "high_amount"},
        {1500, 30, 3, Verdict::kReview, "multiple_failed_attempts"},
    };
    for (const Case& c : cases) {
        const RiskDecision d = Decide({c.amount, c.count, c.failed}, seed);

        EXPECT_EQ(d.verdict, c.verdict) << c.amount << "/" << c.count << "/" << c.failed;
        EXPECT_EQ(d.reason, c.reason) << c.amount << "/" << c.count << "/" << c.failed;
    }
}

TEST(RiskRules, FollowsConfiguredThresholds) {
    const RiskThresholds strict{5, 1000, 1, 2};

    EXPECT_EQ(Decide({500, 3, 0}, strict).reason, "velocity_threshold");
    EXPECT_EQ(Decide({500, 6, 0}, strict).reason, "high_frequency");
    EXPECT_EQ(Decide({500, 1, 1}, strict).reason, "multiple_failed_attempts");
    EXPECT_EQ(Decide({1001, 1, 0}, strict).reason, "high_amount");
}

}  // namespace
}  // namespace sagapay::risk
