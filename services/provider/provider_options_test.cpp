#include "services/provider/provider_options.hpp"

#include <cstdlib>

#include <gtest/gtest.h>

#include "core/error.hpp"

namespace sagapay::provider {
namespace {

using namespace std::chrono_literals;

TEST(ParseBackoffMs, EmptyMeansTheSeedsPolicy) {
    EXPECT_EQ(ParseBackoffMs("").backoff, RetryPolicy{}.backoff);
}

TEST(ParseBackoffMs, ReadsOneDelayPerAttempt) {
    EXPECT_EQ(ParseBackoffMs("5000,10000,20000").backoff, (std::vector{5000ms, 10000ms, 20000ms}));
    EXPECT_EQ(ParseBackoffMs("10").backoff, std::vector{10ms});
}

TEST(ParseBackoffMs, RefusesWhatIsNotPositiveMillisecondsSeparatedByCommas) {
    for (const char* bad : {"0", "-5", "10,", ",10", "10,,20", "1s", "10 ,20", "abc"}) {
        EXPECT_THROW((void)ParseBackoffMs(bad), Exception) << bad;
    }
}

TEST(ParseJanitorChecksMs, DefaultsToHalfAMinuteFiveMinutesAndAnHour) {
    EXPECT_EQ(ParseJanitorChecksMs(""), (std::vector<std::chrono::milliseconds>{30s, 5min, 1h}));
    EXPECT_EQ(ParseJanitorChecksMs("100,200"), (std::vector{100ms, 200ms}));
    EXPECT_THROW((void)ParseJanitorChecksMs("0"), Exception);
}

TEST(ParseWorkerCount, DefaultsToFourAndAcceptsOneToSixtyFour) {
    EXPECT_EQ(ParseWorkerCount(""), 4);
    EXPECT_EQ(ParseWorkerCount("1"), 1);
    EXPECT_EQ(ParseWorkerCount("64"), 64);
}

TEST(ParseWorkerCount, RefusesOutsideTheRange) {
    for (const char* bad : {"0", "65", "-1", "many"}) {
        EXPECT_THROW((void)ParseWorkerCount(bad), Exception) << bad;
    }
}

TEST(ProviderOptionsFromEnv, ReadsBothVariables) {
    ::setenv("PROVIDER_BACKOFF_MS", "10,20", 1);
    ::setenv("PROVIDER_WORKERS", "2", 1);

    const ProviderOptions options = ProviderOptionsFromEnv();

    ::unsetenv("PROVIDER_BACKOFF_MS");
    ::unsetenv("PROVIDER_WORKERS");
    EXPECT_EQ(options.policy.backoff, (std::vector{10ms, 20ms}));
    EXPECT_EQ(options.workers, 2);
    EXPECT_EQ(ProviderOptionsFromEnv().workers, 4);
}

TEST(IdleWait, SleepsUntilTheNextPaymentFallsDueWithinOneTo200Ms) {
    const Clock::TimePoint now{std::chrono::seconds(1'800'000'000)};

    EXPECT_EQ(IdleWait(std::nullopt, now), 200ms);
    EXPECT_EQ(IdleWait(now + 50ms, now), 50ms);
    EXPECT_EQ(IdleWait(now + 5s, now), 200ms);
    EXPECT_EQ(IdleWait(now, now), 1ms);
    EXPECT_EQ(IdleWait(now - 3s, now), 1ms);
}

}  // namespace
}  // namespace sagapay::provider
