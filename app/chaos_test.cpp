#include "app/chaos.hpp"

#include <map>
#include <set>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace sagapay::app::chaos {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

PlanOptions Options(std::uint64_t seed, seconds duration = seconds(120)) {
    PlanOptions o;
    o.seed = seed;
    o.duration = duration;
    o.services = {"orchestrator", "risk", "provider", "ledger", "notification", "gateway"};
    o.pausable = {"orchestrator", "risk", "provider", "ledger", "notification"};
    o.pause_for = seconds(5);
    return o;
}

TEST(ChaosPlan, EveryServiceIsKilledSeveralTimesOnePausedAndTheStoresCrashOnce) {
    for (std::uint64_t seed : {1ULL, 2ULL, 42ULL, 123456789ULL}) {
        SCOPED_TRACE(seed);
        const PlanOptions o = Options(seed);
        const auto plan = PlanFaults(o);
        std::map<std::string, int> kills;
        std::map<FaultKind, int> kinds;
        for (const Fault& f : plan) {
            ++kinds[f.kind];
            if (f.kind == FaultKind::kKill) {
                ++kills[f.target];
                EXPECT_GE(f.down, milliseconds(300));
                EXPECT_LE(f.down, milliseconds(2000));
            }
            if (f.kind == FaultKind::kPause) {
                EXPECT_THAT(o.pausable, ::testing::Contains(f.target));
                EXPECT_EQ(f.down, o.pause_for);
            }
        }
        EXPECT_EQ(kills.size(), o.services.size());
        for (const auto& [service, count] : kills) {
            EXPECT_EQ(count, KillsPerService(o.duration)) << service;
        }
        EXPECT_EQ(kinds[FaultKind::kPause], 1);
        EXPECT_EQ(kinds[FaultKind::kPostgresCrash], 1);
        EXPECT_EQ(kinds[FaultKind::kRedisKill], 1);
    }
}

TEST(ChaosPlan, FaultsComeOneAtATimeInsideTheWindow) {
    for (std::uint64_t seed = 0; seed < 50; ++seed) {
        const PlanOptions o = Options(seed, seconds(120 + seed * 7));
        const auto plan = PlanFaults(o);
        ASSERT_FALSE(plan.empty());
        EXPECT_GE(plan.front().at, o.warmup);
        for (std::size_t i = 0; i + 1 < plan.size(); ++i) {
            EXPECT_LE(plan[i].at + plan[i].down + o.settle, plan[i + 1].at) << "seed " << seed;
        }
        EXPECT_LE(plan.back().at + plan.back().down + o.settle, o.duration - o.cooldown);
    }
}

TEST(ChaosPlan, TheSeedDecidesThePlan) {
    const auto a = PlanFaults(Options(7));
    const auto b = PlanFaults(Options(7));
    const auto c = PlanFaults(Options(8));
    ASSERT_EQ(a.size(), b.size());
    bool differs = a.size() != c.size();
    for (std::size_t i = 0; i < a.size(); ++i) {
        EXPECT_EQ(a[i].at, b[i].at);
        EXPECT_EQ(a[i].kind, b[i].kind);
        EXPECT_EQ(a[i].target, b[i].target);
        EXPECT_EQ(a[i].down, b[i].down);
        differs = differs || i >= c.size() || a[i].at != c[i].at || a[i].target != c[i].target;
    }
    EXPECT_TRUE(differs);
}

TEST(ChaosPlan, ARunTooShortForItsFaultsIsRefusedAndStoresCanBeLeftAlone) {
    EXPECT_THROW((void)PlanFaults(Options(1, seconds(20))), std::invalid_argument);
    PlanOptions o = Options(1);
    o.postgres = false;
    o.redis = false;
    for (const Fault& f : PlanFaults(o)) {
        EXPECT_NE(f.kind, FaultKind::kPostgresCrash);
        EXPECT_NE(f.kind, FaultKind::kRedisKill);
    }
    EXPECT_EQ(KillsPerService(seconds(60)), 2);
    EXPECT_EQ(KillsPerService(seconds(120)), 3);
    EXPECT_EQ(KillsPerService(seconds(600)), 10);
    EXPECT_EQ(ToString(FaultKind::kPostgresCrash), "postgres_crash");
}

TEST(ChaosMix, TheMixCoversEveryPspBehaviourAndReviewAmountsDeterministically) {
    const LoadMix mix(99, "run1");
    const LoadMix same(99, "run1");
    std::map<std::string, int> kinds;
    std::set<std::string> currencies;
    std::set<std::string> keys;
    std::map<std::string, int> per_customer;
    int reviews = 0;
    int resends = 0;
    constexpr int kOrders = 10'000;
    for (int i = 0; i < kOrders; ++i) {
        const Order o = mix.Next(i);
        const Order again = same.Next(i);
        EXPECT_EQ(o.customer_id, again.customer_id);
        EXPECT_EQ(o.amount_minor, again.amount_minor);
        EXPECT_EQ(o.idempotency_key, again.idempotency_key);
        ++kinds[LoadMix::KindOf(o.customer_id)];
        currencies.insert(o.currency);
        keys.insert(o.idempotency_key);
        ++per_customer[o.customer_id];
        EXPECT_GE(o.amount_minor, 100);
        reviews += o.amount_minor > 100'000 ? 1 : 0;
        resends += o.resend ? 1 : 0;
    }
    for (const auto& kind : LoadMix::Kinds()) {
        if (kind != "review") {
            EXPECT_GT(kinds[kind], kOrders / 30) << kind;
        }
    }
    EXPECT_GT(reviews, kOrders / 50);
    EXPECT_LT(reviews, kOrders / 10);
    EXPECT_GT(resends, kOrders / 100);
    EXPECT_EQ(currencies, (std::set<std::string>{"EUR", "JPY", "USD"}));
    EXPECT_EQ(keys.size(), static_cast<std::size_t>(kOrders)) << "one key per order";
    for (const auto& [customer, count] : per_customer) {
        EXPECT_LE(count, 5) << customer << ": risk velocity would review it";
    }
    EXPECT_EQ(LoadMix::KindOf("force-lost-response-x-1"), "force-lost-response");
    EXPECT_EQ(LoadMix::KindOf("cust-x-1"), "plain");
}

TEST(ChaosMix, ReviewsAreMostlyApprovedAndTheDecisionIsStable) {
    int approved = 0;
    for (int i = 0; i < 1000; ++i) {
        const std::string id = "payment-" + std::to_string(i);
        EXPECT_EQ(ApproveReview(5, id), ApproveReview(5, id));
        approved += ApproveReview(5, id) ? 1 : 0;
    }
    EXPECT_GT(approved, 600);
    EXPECT_LT(approved, 800);
}

TEST(ChaosMix, ServicesGetShortTimeoutsSoQuiescenceComesFast) {
    const auto env = ServiceEnvironment(milliseconds(3000));
    EXPECT_EQ(env.at("BUS_VISIBILITY_TIMEOUT_MS"), "3000");
    EXPECT_EQ(env.at("PROVIDER_JANITOR_CHECKS_MS"), "2000,5000,15000");
    EXPECT_EQ(env.at("RATE_LIMIT_PER_MINUTE"), "1000000");
    EXPECT_TRUE(env.contains("SWEEPER_STUCK_AFTER_MS"));
    EXPECT_TRUE(env.contains("RISK_REVIEW_EXPIRY_SECONDS"));
}

}  // namespace
}  // namespace sagapay::app::chaos
