#include "app/chaos.hpp"

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

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

/// The faults of each episode, by episode id.
std::map<int, std::vector<Fault>> Episodes(const std::vector<Fault>& plan) {
    std::map<int, std::vector<Fault>> episodes;
    for (const Fault& f : plan) {
        episodes[f.episode].push_back(f);
    }
    return episodes;
}

bool During(const Fault& inner, const Fault& outer) {
    return inner.at >= outer.at && inner.at < outer.at + outer.down;
}

TEST(ChaosPlan, EveryServiceIsKilledSeveralTimesAtLeastOnceAloneAndEachFaultComesAloneOnce) {
    for (std::uint64_t seed : {1ULL, 2ULL, 42ULL, 123456789ULL}) {
        SCOPED_TRACE(seed);
        const PlanOptions o = Options(seed);
        const auto plan = PlanFaults(o);
        std::map<std::string, int> kills;
        std::map<std::string, int> kills_alone;
        std::map<FaultKind, int> alone;
        for (const Fault& f : plan) {
            if (f.overlap == OverlapKind::kNone) {
                ++alone[f.kind];
            }
            if (f.kind == FaultKind::kKill) {
                ++kills[f.target];
                kills_alone[f.target] += f.overlap == OverlapKind::kNone ? 1 : 0;
                EXPECT_GE(f.down, milliseconds(300));
                EXPECT_LE(f.down, milliseconds(2000));
            }
            if (f.kind == FaultKind::kPause) {
                EXPECT_THAT(o.pausable, ::testing::Contains(f.target));
                EXPECT_EQ(
                    f.down,
                    f.overlap == OverlapKind::kLongPauseWithKills ? 2 * o.pause_for : o.pause_for
                );
            }
        }
        EXPECT_EQ(kills.size(), o.services.size());
        for (const auto& service : o.services) {
            EXPECT_GE(kills[service], KillsPerService(o.duration)) << service;
            EXPECT_GE(kills_alone[service], 1) << service;
        }
        EXPECT_EQ(alone[FaultKind::kPause], 1);
        EXPECT_EQ(alone[FaultKind::kPostgresCrash], 1);
        EXPECT_EQ(alone[FaultKind::kRedisKill], 1);
    }
}

TEST(ChaosPlan, EpisodesComeOneAtATimeInsideTheWindowAndATargetHasOneFaultAtATime) {
    for (std::uint64_t seed = 0; seed < 50; ++seed) {
        SCOPED_TRACE(seed);
        const PlanOptions o = Options(seed, seconds(120 + seed * 7));
        const auto plan = PlanFaults(o);
        ASSERT_FALSE(plan.empty());
        EXPECT_GE(plan.front().at, o.warmup);
        for (std::size_t i = 0; i + 1 < plan.size(); ++i) {
            EXPECT_LE(plan[i].at, plan[i + 1].at) << "sorted by time";
        }
        milliseconds previous_end{0};
        for (const auto& [id, faults] : Episodes(plan)) {
            milliseconds begin = faults.front().at;
            milliseconds end{0};
            for (const Fault& f : faults) {
                begin = std::min(begin, f.at);
                end = std::max(end, f.at + f.down);
                EXPECT_EQ(f.overlap, faults.front().overlap);
                for (const Fault& g : faults) {
                    if (&f != &g && f.target == g.target && f.at <= g.at) {
                        EXPECT_LT(f.at + f.down, g.at) << f.target << " twice at once";
                    }
                }
            }
            EXPECT_EQ(faults.size() > 1, faults.front().overlap != OverlapKind::kNone);
            EXPECT_GE(begin, previous_end) << "episode " << id;
            previous_end = end + o.settle;
        }
        EXPECT_LE(previous_end, o.duration - o.cooldown);
    }
}

TEST(ChaosPlan, ARunHasOverlappingFaultsOfEachKind) {
    for (const seconds duration : {seconds(120), seconds(300), seconds(600)}) {
        for (std::uint64_t seed : {3ULL, 7ULL, 20261201ULL}) {
            SCOPED_TRACE(::testing::Message() << duration.count() << " s, seed " << seed);
            const PlanOptions o = Options(seed, duration);
            std::map<OverlapKind, int> episodes_of;
            for (const auto& [id, e] : Episodes(PlanFaults(o))) {
                ++episodes_of[e.front().overlap];
                std::map<FaultKind, std::vector<Fault>> by;
                for (const Fault& f : e) {
                    by[f.kind].push_back(f);
                }
                switch (e.front().overlap) {
                    case OverlapKind::kNone:
                        EXPECT_EQ(e.size(), 1U);
                        break;
                    case OverlapKind::kKillDuringPostgresCrash:
                        ASSERT_EQ(by[FaultKind::kPostgresCrash].size(), 1U);
                        ASSERT_EQ(by[FaultKind::kKill].size(), 1U);
                        EXPECT_TRUE(
                            During(by[FaultKind::kKill][0], by[FaultKind::kPostgresCrash][0])
                        ) << "the service is killed while PostgreSQL is down";
                        break;
                    case OverlapKind::kRedisKillDuringPause: {
                        ASSERT_EQ(by[FaultKind::kPause].size(), 1U);
                        ASSERT_EQ(by[FaultKind::kRedisKill].size(), 1U);
                        const Fault& pause = by[FaultKind::kPause][0];
                        const Fault& redis = by[FaultKind::kRedisKill][0];
                        EXPECT_TRUE(During(redis, pause));
                        EXPECT_LE(redis.at + redis.down, pause.at + pause.down)
                            << "Redis is back before the service resumes";
                        break;
                    }
                    case OverlapKind::kTwoKills: {
                        ASSERT_EQ(by[FaultKind::kKill].size(), 2U);
                        const Fault& a = by[FaultKind::kKill][0];
                        const Fault& b = by[FaultKind::kKill][1];
                        EXPECT_NE(a.target, b.target);
                        EXPECT_TRUE(During(b, a)) << "both down at once";
                        break;
                    }
                    case OverlapKind::kPostgresCrashTwice: {
                        ASSERT_EQ(by[FaultKind::kPostgresCrash].size(), 2U);
                        const Fault& first = by[FaultKind::kPostgresCrash][0];
                        const Fault& second = by[FaultKind::kPostgresCrash][1];
                        EXPECT_GT(second.at, first.at + first.down);
                        EXPECT_LE(second.at, first.at + first.down + milliseconds(2000))
                            << "crashed again soon after its restart";
                        break;
                    }
                    case OverlapKind::kLongPauseWithKills: {
                        ASSERT_EQ(by[FaultKind::kPause].size(), 1U);
                        ASSERT_EQ(by[FaultKind::kKill].size(), 2U);
                        const Fault& pause = by[FaultKind::kPause][0];
                        EXPECT_EQ(pause.down, 2 * o.pause_for) << "past the visibility timeout";
                        for (const Fault& kill : by[FaultKind::kKill]) {
                            EXPECT_NE(kill.target, pause.target);
                            EXPECT_TRUE(During(kill, pause));
                        }
                        EXPECT_NE(by[FaultKind::kKill][0].target, by[FaultKind::kKill][1].target);
                        break;
                    }
                }
            }
            for (const OverlapKind kind : kOverlapKinds) {
                EXPECT_EQ(episodes_of[kind], OverlapsPerKind(o.duration)) << ToString(kind);
            }
        }
    }
    EXPECT_EQ(OverlapsPerKind(seconds(120)), 1);
    EXPECT_EQ(OverlapsPerKind(seconds(300)), 2);
    EXPECT_EQ(OverlapsPerKind(seconds(3600)), 4);
}

TEST(ChaosPlan, OverlapsCanBeTurnedOffAndNeedTheirTargets) {
    PlanOptions o = Options(5);
    o.overlaps_per_kind = -1;
    const auto plan = PlanFaults(o);
    for (std::size_t i = 0; i < plan.size(); ++i) {
        EXPECT_EQ(plan[i].overlap, OverlapKind::kNone);
        if (i + 1 < plan.size()) {
            EXPECT_LE(plan[i].at + plan[i].down + o.settle, plan[i + 1].at);
        }
    }
    o = Options(5);
    o.postgres = false;
    o.redis = false;
    std::set<OverlapKind> kinds;
    for (const Fault& f : PlanFaults(o)) {
        kinds.insert(f.overlap);
    }
    EXPECT_EQ(
        kinds,
        (std::set<OverlapKind>{
            OverlapKind::kNone, OverlapKind::kTwoKills, OverlapKind::kLongPauseWithKills})
    );
}

TEST(ChaosPlan, BrokersAreKilledAloneOneAtATimeWhenAClusterIsGiven) {
    for (std::uint64_t seed : {3ULL, 17ULL, 99ULL}) {
        SCOPED_TRACE(seed);
        PlanOptions o = Options(seed, seconds(180));
        o.brokers = {"1", "2", "3"};
        o.broker_kills = 3;
        const auto plan = PlanFaults(o);
        int broker_faults = 0;
        for (const Fault& f : plan) {
            if (f.kind != FaultKind::kBrokerKill) {
                continue;
            }
            ++broker_faults;
            EXPECT_EQ(f.overlap, OverlapKind::kNone);
            EXPECT_THAT(f.target, ::testing::AnyOf("kafka-1", "kafka-2", "kafka-3"));
            EXPECT_GE(f.down, seconds(4));
            EXPECT_LE(f.down, seconds(8));
            for (const Fault& other : plan) {
                if (&other != &f) {
                    EXPECT_FALSE(During(other, f)) << "a fault during a broker kill";
                }
            }
        }
        EXPECT_EQ(broker_faults, 3);
    }
}

TEST(ChaosPlan, ABrokerOnlyRunKillsNothingElse) {
    PlanOptions o;
    o.seed = 8;
    o.duration = seconds(60);
    o.overlaps_per_kind = -1;
    o.postgres = false;
    o.redis = false;
    o.brokers = {"1", "2", "3"};
    o.broker_kills = 2;
    const auto plan = PlanFaults(o);
    ASSERT_EQ(plan.size(), 2U);
    for (const Fault& f : plan) {
        EXPECT_EQ(f.kind, FaultKind::kBrokerKill);
    }
    EXPECT_EQ(ToString(FaultKind::kBrokerKill), "broker_kill");
}

TEST(ChaosPlan, TheBrokerCommandNamesTheBroker) {
    EXPECT_EQ(
        WithBroker("scripts/kafka.sh kill-broker {broker}", "2"), "scripts/kafka.sh kill-broker 2"
    );
    EXPECT_EQ(WithBroker("a {broker} b {broker}", "3"), "a 3 b 3");
    EXPECT_EQ(WithBroker("no placeholder", "1"), "no placeholder");
}

TEST(ChaosPlan, TheSeedDecidesThePlan) {
    for (const seconds duration : {seconds(120), seconds(300)}) {
        const auto a = PlanFaults(Options(7, duration));
        const auto b = PlanFaults(Options(7, duration));
        const auto c = PlanFaults(Options(8, duration));
        ASSERT_EQ(a.size(), b.size());
        bool differs = a.size() != c.size();
        for (std::size_t i = 0; i < a.size(); ++i) {
            EXPECT_EQ(a[i].at, b[i].at);
            EXPECT_EQ(a[i].kind, b[i].kind);
            EXPECT_EQ(a[i].target, b[i].target);
            EXPECT_EQ(a[i].down, b[i].down);
            EXPECT_EQ(a[i].overlap, b[i].overlap);
            EXPECT_EQ(a[i].episode, b[i].episode);
            differs = differs || i >= c.size() || a[i].at != c[i].at || a[i].target != c[i].target;
        }
        EXPECT_TRUE(differs);
    }
}

TEST(ChaosRun, OverlapsAreCountedFromWhatWasCarriedOut) {
    const auto fault = [](FaultKind kind, std::string target) {
        return Fault{
            .at = milliseconds(0),
            .kind = kind,
            .target = std::move(target),
            .down = milliseconds(0),
            .overlap = OverlapKind::kNone,
            .episode = 0,
        };
    };
    const std::vector<Executed> executed = {
        {.fault = fault(FaultKind::kPostgresCrash, "postgres"),
         .begin = milliseconds(10'000),
         .end = milliseconds(25'000)},
        {.fault = fault(FaultKind::kKill, "risk"),
         .begin = milliseconds(12'000),
         .end = milliseconds(13'000)},
        {.fault = fault(FaultKind::kKill, "ledger"),
         .begin = milliseconds(12'500),
         .end = milliseconds(14'000)},
        {.fault = fault(FaultKind::kPostgresCrash, "postgres"),
         .begin = milliseconds(26'000),
         .end = milliseconds(30'000)},
        {.fault = fault(FaultKind::kRedisKill, "redis"),
         .begin = milliseconds(40'000),
         .end = milliseconds(41'000)},
    };
    EXPECT_EQ(
        ObservedOverlaps(executed),
        (std::map<std::string, int>{{"postgres_crash+sigkill", 2}, {"sigkill+sigkill", 1}})
    );
    EXPECT_THAT(
        FaultsDuring(executed, milliseconds(24'000), milliseconds(27'000)),
        ::testing::ElementsAre(
            "postgres_crash postgres 10.0-25.0s", "postgres_crash postgres 26.0-30.0s"
        )
    );
    EXPECT_TRUE(FaultsDuring(executed, milliseconds(35'000), milliseconds(39'000)).empty());
}

TEST(ChaosRun, TheClientBacksOffAndHonoursRetryAfter) {
    EXPECT_EQ(RetryDelay(1, milliseconds(0)), milliseconds(250));
    EXPECT_EQ(RetryDelay(2, milliseconds(0)), milliseconds(500));
    EXPECT_EQ(RetryDelay(5, milliseconds(0)), milliseconds(4000));
    EXPECT_EQ(RetryDelay(6, milliseconds(0)), milliseconds(5000));
    EXPECT_EQ(RetryDelay(60, milliseconds(0)), milliseconds(5000));
    EXPECT_EQ(RetryDelay(1, seconds(1)), seconds(1));
    EXPECT_EQ(RetryDelay(6, seconds(30)), seconds(30));
    milliseconds total{0};
    for (int attempt = 1; attempt <= 40; ++attempt) {
        total += RetryDelay(attempt, milliseconds(0));
    }
    EXPECT_GT(total, seconds(180)) << "a client that outlasts PostgreSQL crashed twice in a row";
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

TEST(ChaosMix, SomeOrdersCaptureManuallyAndSomeAreRefundedDeterministically) {
    const LoadMix mix(7, "run2");
    const LoadMix same(7, "run2");
    std::map<ManualAction, int> actions;
    int manual = 0;
    int eligible = 0;
    int refunded_automatic = 0;
    int plain_automatic = 0;
    int refunded_manual = 0;
    int manual_capturing = 0;
    constexpr int kOrders = 20'000;
    for (int i = 0; i < kOrders; ++i) {
        const Order o = mix.Next(i);
        const Order again = same.Next(i);
        EXPECT_EQ(o.manual, again.manual);
        EXPECT_EQ(o.action, again.action);
        EXPECT_EQ(o.capture_minor, again.capture_minor);
        EXPECT_EQ(o.refunds.size(), again.refunds.size());
        const std::string kind = LoadMix::KindOf(o.customer_id);
        const bool review = o.amount_minor > 100'000;
        if ((kind == "plain" && !review) || kind == "force-error") {
            ++eligible;
        } else {
            EXPECT_FALSE(o.manual) << kind;
        }
        if (!o.manual) {
            EXPECT_EQ(o.Captured(), o.amount_minor);
            if (kind == "plain" && !review) {
                ++plain_automatic;
                refunded_automatic += o.refunds.empty() ? 0 : 1;
            } else {
                EXPECT_TRUE(o.refunds.empty()) << kind;
            }
            continue;
        }
        ++manual;
        ++actions[o.action];
        if (o.action == ManualAction::kCapturePart) {
            EXPECT_GE(o.capture_minor, 1);
            EXPECT_LT(o.capture_minor, o.amount_minor);
            EXPECT_EQ(o.Captured(), o.capture_minor);
        }
        if (o.action == ManualAction::kCaptureAll || o.action == ManualAction::kCapturePart) {
            ++manual_capturing;
            refunded_manual += o.refunds.empty() ? 0 : 1;
        } else {
            EXPECT_TRUE(o.refunds.empty()) << "nothing captured, nothing to refund";
        }
    }
    const double m = manual;
    EXPECT_NEAR(manual, eligible / 5.0, eligible / 25.0);
    EXPECT_NEAR(actions[ManualAction::kCaptureAll], m * 0.40, m / 20);
    EXPECT_NEAR(actions[ManualAction::kCapturePart], m * 0.35, m / 20);
    EXPECT_NEAR(actions[ManualAction::kCancel], m * 0.20, m / 20);
    EXPECT_GT(actions[ManualAction::kForget], 0);
    EXPECT_NEAR(refunded_automatic, plain_automatic * 0.15, plain_automatic / 30.0);
    EXPECT_NEAR(refunded_manual, manual_capturing / 2.0, manual_capturing / 10.0);
}

/// Replays `steps` against a payment that captured `captured`, as the orchestrator answers them
/// (every refund made succeeds): false when an answer is not the one the step expects.
bool AnswersAsExpected(const std::vector<RefundStep>& steps, std::int64_t captured) {
    std::int64_t left = captured;
    std::map<std::string, std::int64_t> by_key;  // key → amount of the refund made under it
    for (const RefundStep& step : steps) {
        if (const auto used = by_key.find(step.idempotency_key); used != by_key.end()) {
            const bool same = step.amount_minor == used->second;
            if (step.expect !=
                (same ? RefundStep::Expect::kRefunded : RefundStep::Expect::kKeyReused)) {
                return false;
            }
            continue;
        }
        const std::int64_t amount = step.amount_minor.value_or(left);
        const bool fits = amount > 0 && amount <= left;
        if (step.expect != (fits ? RefundStep::Expect::kRefunded : RefundStep::Expect::kExceeds)) {
            return false;
        }
        if (fits) {
            left -= amount;
            by_key.emplace(step.idempotency_key, amount);
        }
    }
    return true;
}

TEST(ChaosMix, RefundPlansExpectWhatTheOrchestratorMustAnswer) {
    std::set<std::size_t> shapes;
    for (std::uint64_t draw = 0; draw < 4000; ++draw) {
        const std::int64_t authorized = 100 + static_cast<std::int64_t>(draw * 7919 % 99'900);
        const std::int64_t captured =
            draw % 3 == 0 ? 1 + static_cast<std::int64_t>(draw % 97) : authorized;
        const auto steps = PlanRefunds(draw * 0x9E3779B97F4A7C15ULL, captured, authorized, "k");
        ASSERT_FALSE(steps.empty());
        EXPECT_TRUE(AnswersAsExpected(steps, captured)) << "draw " << draw;
        shapes.insert(steps.size());
        if (captured < authorized) {
            // First, more than captured but no more than authorized: refused.
            EXPECT_EQ(steps.front().expect, RefundStep::Expect::kExceeds);
            EXPECT_GT(*steps.front().amount_minor, captured);
            EXPECT_LE(*steps.front().amount_minor, authorized);
        }
        for (const RefundStep& step : steps) {
            EXPECT_TRUE(step.idempotency_key.starts_with("k-"));
            EXPECT_TRUE(!step.again || step.expect == RefundStep::Expect::kRefunded);
        }
    }
    EXPECT_GE(shapes.size(), 3U) << "all at once, two parts, and three-step plans";
    EXPECT_TRUE(PlanRefunds(1, 0, 100, "k").empty());
    EXPECT_EQ(ToString(RefundStep::Expect::kKeyReused), "key_reused");
    EXPECT_EQ(ToString(ManualAction::kCapturePart), "capture_part");
}

TEST(ChaosMix, AManualCaptureIsForgottenOnlyWhenTheWindowEndsWithinTheRun) {
    EXPECT_EQ(ActionAt(ManualAction::kForget, seconds(10), seconds(120)), ManualAction::kForget);
    EXPECT_EQ(ActionAt(ManualAction::kForget, seconds(100), seconds(120)), ManualAction::kCancel);
    EXPECT_EQ(
        ActionAt(ManualAction::kCapturePart, seconds(119), seconds(120)), ManualAction::kCapturePart
    );
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
    EXPECT_EQ(env.at("CAPTURE_WINDOW_SECONDS"), std::to_string(kCaptureWindow.count()));
}

}  // namespace
}  // namespace sagapay::app::chaos
