#include "app/console/health.hpp"

#include <gtest/gtest.h>

namespace sagapay::console {
namespace {

constexpr const char* kMetrics = R"(# HELP payment_success_total Payments settled
# TYPE payment_success_total counter
payment_success_total{service="orchestrator"} 40
payment_failure_total{service="orchestrator",reason="risk_denied"} 3
payment_failure_total{service="orchestrator",reason="provider_failed"} 7
payment_e2e_seconds_bucket{terminal_state="SETTLED",le="0.1"} 10
payment_e2e_seconds_bucket{terminal_state="SETTLED",le="1"} 30
payment_e2e_seconds_bucket{terminal_state="SETTLED",le="+Inf"} 40
payment_e2e_seconds_bucket{terminal_state="FAILED",le="0.1"} 10
payment_e2e_seconds_bucket{terminal_state="FAILED",le="1"} 10
payment_e2e_seconds_bucket{terminal_state="FAILED",le="+Inf"} 10
label_with_escapes{path="a\"b\\c"} 1 1700000000000
not a sample line
broken{le="1} 5
)";

TEST(MetricsText, ParsesSamplesLabelsAndEscapesAndSkipsWhatItCannotRead) {
    const auto samples = ParseMetricsText(kMetrics);
    EXPECT_EQ(SumOf(samples, "payment_success_total"), 40);
    EXPECT_EQ(SumOf(samples, "payment_failure_total"), 10);
    EXPECT_EQ(SumOf(samples, "absent"), 0);
    bool found = false;
    for (const auto& sample : samples) {
        if (sample.name == "label_with_escapes") {
            found = true;
            EXPECT_EQ(sample.labels.at("path"), "a\"b\\c");
            EXPECT_EQ(sample.value, 1);  // the timestamp is not the value
        }
        EXPECT_NE(sample.name, "broken");
        EXPECT_NE(sample.name, "not");
    }
    EXPECT_TRUE(found);
}

TEST(MetricsText, SumsAHistogramsBucketsOverItsOtherLabels) {
    const auto buckets = Buckets(ParseMetricsText(kMetrics), "payment_e2e_seconds");
    ASSERT_EQ(buckets.size(), 3U);
    EXPECT_EQ(buckets.at(0.1), 20);
    EXPECT_EQ(buckets.at(1.0), 40);
    EXPECT_EQ(buckets.rbegin()->second, 50);
}

TEST(Quantile, InterpolatesInsideTheBucketAsPrometheusDoes) {
    const std::map<double, double> buckets = {{0.1, 20}, {1.0, 40}, {INFINITY, 50}};
    EXPECT_DOUBLE_EQ(*Quantile(buckets, 0.2), 0.05);  // rank 10 of 20 in [0, 0.1]
    EXPECT_DOUBLE_EQ(*Quantile(buckets, 0.6), 0.55);  // rank 30: half of (0.1, 1]
    EXPECT_DOUBLE_EQ(*Quantile(buckets, 0.99), 1.0);  // in +Inf: the highest finite bound
    EXPECT_FALSE(Quantile({}, 0.5));
    EXPECT_FALSE(Quantile({{1.0, 0}, {INFINITY, 0}}, 0.5));
}

TEST(HealthPoint, IsTheRatesBetweenTwoReadingsAndARestartCountsFromZero) {
    HealthCounters before{
        .at_ms = 10'000,
        .posts = 100,
        .settled = 50,
        .failed = 10,
        .e2e_buckets = {{0.1, 10}, {1.0, 20}, {INFINITY, 20}},
        .lag = 0};
    HealthCounters after{
        .at_ms = 12'000,
        .posts = 120,
        .settled = 56,
        .failed = 12,
        .e2e_buckets = {{0.1, 18}, {1.0, 28}, {INFINITY, 28}},
        .lag = 7};

    const HealthPoint point = PointBetween(before, after);

    EXPECT_EQ(point.at_ms, 12'000);
    EXPECT_DOUBLE_EQ(point.posts_per_s, 10);
    EXPECT_DOUBLE_EQ(point.settled_per_s, 3);
    EXPECT_DOUBLE_EQ(*point.failure_ratio, 0.25);
    EXPECT_DOUBLE_EQ(*point.e2e_p50_ms, 50);  // 8 new, all under 100 ms: rank 4 of 8
    EXPECT_EQ(point.lag, 7);

    after.posts = 5;  // the gateway restarted
    EXPECT_DOUBLE_EQ(PointBetween(before, after).posts_per_s, 2.5);
    after.settled = 50;
    after.failed = 10;
    EXPECT_FALSE(PointBetween(before, after).failure_ratio);  // nothing finished
}

TEST(HealthSeries, KeepsTheLastPointsOnly) {
    HealthSeries series(2);
    for (int i = 0; i < 5; ++i) {
        HealthCounters counters;
        counters.at_ms = std::int64_t{i} * 1000;
        counters.posts = i * 10.0;
        series.Add(counters);
    }
    ASSERT_EQ(series.Points().size(), 2U);
    EXPECT_EQ(series.Points().front().at_ms, 3000);
    EXPECT_DOUBLE_EQ(series.Points().back().posts_per_s, 10);
    EXPECT_TRUE(ToJson(series.Points().back())["failure_ratio"].is_null());
}

}  // namespace
}  // namespace sagapay::console
