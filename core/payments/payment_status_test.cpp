#include "core/payments/payment_status.hpp"

#include <set>
#include <string>
#include <utility>

#include <gtest/gtest.h>

namespace sagapay {
namespace {

TEST(PaymentStatus, AllowsExactlyTheSeedsTransitionsAndRefunds) {
    const std::set<std::pair<std::string, std::string>> allowed = {
        {"CREATED", "RISK_REVIEW"},
        {"CREATED", "APPROVED"},
        {"CREATED", "FAILED"},
        {"RISK_REVIEW", "APPROVED"},
        {"RISK_REVIEW", "FAILED"},
        {"APPROVED", "AUTHORIZED"},
        {"APPROVED", "FAILED"},
        {"AUTHORIZED", "CAPTURED"},
        {"AUTHORIZED", "FAILED"},
        {"AUTHORIZED", "REVERSED"},
        {"CAPTURED", "SETTLED"},
        {"CAPTURED", "FAILED"},
        {"CAPTURED", "REVERSED"},
        {"FAILED", "REVERSED"},
        {"SETTLED", "PARTIALLY_REFUNDED"},
        {"SETTLED", "REFUNDED"},
        {"PARTIALLY_REFUNDED", "REFUNDED"},
    };
    int checked = 0;
    for (const PaymentStatus from : AllPaymentStatuses()) {
        for (const PaymentStatus to : AllPaymentStatuses()) {
            const bool expected =
                allowed.contains({std::string(ToString(from)), std::string(ToString(to))});

            EXPECT_EQ(CanTransition(from, to), expected)
                << ToString(from) << " -> " << ToString(to);
            ++checked;
        }
    }
    EXPECT_EQ(checked, 100);
}

TEST(PaymentStatus, NamesRoundTrip) {
    for (const PaymentStatus status : AllPaymentStatuses()) {
        EXPECT_EQ(ParsePaymentStatus(ToString(status)), status);
    }
    EXPECT_FALSE(ParsePaymentStatus("settled").has_value());
    EXPECT_FALSE(ParsePaymentStatus("").has_value());
}

TEST(PaymentStatus, TerminalStatesAreSettledFailedReversedAndRefunded) {
    EXPECT_TRUE(IsTerminal(PaymentStatus::kSettled));
    EXPECT_TRUE(IsTerminal(PaymentStatus::kPartiallyRefunded));
    EXPECT_TRUE(IsTerminal(PaymentStatus::kRefunded));
    EXPECT_TRUE(IsTerminal(PaymentStatus::kFailed));
    EXPECT_TRUE(IsTerminal(PaymentStatus::kReversed));
    EXPECT_FALSE(IsTerminal(PaymentStatus::kRiskReview));
    EXPECT_FALSE(IsTerminal(PaymentStatus::kCaptured));
}

}  // namespace
}  // namespace sagapay
