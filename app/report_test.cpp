#include "app/report.hpp"

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "app/report_html.hpp"

namespace sagapay::app::report {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr std::int64_t kS = 1'000'000;
constexpr std::int64_t kMin = 60 * kS;
constexpr std::int64_t kHour = 3600 * kS;
constexpr std::int64_t kDay = 86'400 * kS;
// 2026-12-02 00:00:00 UTC
constexpr std::int64_t kNow = std::int64_t{1'796'169'600} * kS;

std::size_t Count(std::string_view text, std::string_view what) {
    std::size_t n = 0;
    for (auto at = text.find(what); at != std::string_view::npos; at = text.find(what, at + 1)) {
        ++n;
    }
    return n;
}

/// Nothing in the page is fetched: no resource attribute, no CSS url(), no script.
void ExpectSelfContained(const std::string& html) {
    for (const char* banned :
         {"src=", "href=", "url(", "@import", "<link", "<script", "<iframe", "<img", "<object"}) {
        EXPECT_THAT(html, Not(HasSubstr(banned))) << banned;
    }
}

void ExpectFiniteNumbers(const std::string& html) {
    EXPECT_THAT(html, Not(HasSubstr("nan")));
    EXPECT_THAT(html, Not(HasSubstr("inf\"")));
    EXPECT_THAT(html, Not(HasSubstr("inf,")));
}

TEST(HtmlEscape, EscapesEveryMarkupCharacter) {
    EXPECT_EQ(
        HtmlEscape(R"(<a href="x">Tom & 'Jerry'</a>)"),
        "&lt;a href=&quot;x&quot;&gt;Tom &amp; &#39;Jerry&#39;&lt;/a&gt;"
    );
    EXPECT_EQ(HtmlEscape("plain ✓"), "plain ✓");
}

TEST(FormatMinor, FormatsIntegersInTheCurrencysDecimals) {
    EXPECT_EQ(FormatMinor(123'456, "USD"), "1,234.56");
    EXPECT_EQ(FormatMinor(5, "USD"), "0.05");
    EXPECT_EQ(FormatMinor(0, "EUR"), "0.00");
    EXPECT_EQ(FormatMinor(-1050, "USD"), "-10.50");
    EXPECT_EQ(FormatMinor(1500, "JPY"), "1,500");
    EXPECT_EQ(FormatMinor(1234, "KWD"), "1.234");
    EXPECT_EQ(FormatMinor(1234, "ZZZ"), "12.34") << "an unknown code gets two decimals";
    // The extremes, exact: no trip through a double (which would round these).
    EXPECT_EQ(
        FormatMinor(std::numeric_limits<std::int64_t>::max(), "USD"), "92,233,720,368,547,758.07"
    );
    EXPECT_EQ(
        FormatMinor(std::numeric_limits<std::int64_t>::min(), "USD"), "-92,233,720,368,547,758.08"
    );
    EXPECT_EQ(FormatMinor(9'007'199'254'740'993, "USD"), "90,071,992,547,409.93");
}

TEST(FormatCount, GroupsThousands) {
    EXPECT_EQ(FormatCount(0), "0");
    EXPECT_EQ(FormatCount(999), "999");
    EXPECT_EQ(FormatCount(1000), "1,000");
    EXPECT_EQ(FormatCount(-1'234'567), "-1,234,567");
}

TEST(FormatUtc, PrintsUtc) {
    EXPECT_EQ(FormatUtc(kNow + 3 * kHour + 5 * kMin + 9 * kS), "2026-12-02 03:05:09 UTC");
    EXPECT_EQ(FormatUtc(0), "1970-01-01 00:00:00 UTC");
}

TEST(FormatLatency, PicksAUnit) {
    EXPECT_EQ(FormatLatency(std::nullopt), "—");
    EXPECT_EQ(FormatLatency(850.2), "850 ms");
    EXPECT_EQ(FormatLatency(1240), "1.24 s");
    EXPECT_EQ(FormatLatency(210'000), "3.5 min");
}

TEST(ParseSince, ReadsDurationsBeforeNow) {
    EXPECT_EQ(ParseSince("90s", kNow), kNow - 90 * kS);
    EXPECT_EQ(ParseSince("30m", kNow), kNow - 1800 * kS);
    EXPECT_EQ(ParseSince("6h", kNow), kNow - 6 * kHour);
    EXPECT_EQ(ParseSince("2d", kNow), kNow - 2 * kDay);
}

TEST(ParseSince, ReadsIso8601Utc) {
    EXPECT_EQ(ParseSince("2026-12-01T08:00:00Z", kNow), kNow - 16 * kHour);
    EXPECT_EQ(ParseSince("2026-12-01T08:00Z", kNow), kNow - 16 * kHour);
    EXPECT_EQ(ParseSince("2026-12-01 08:00:30", kNow), kNow - 16 * kHour + 30 * kS);
    EXPECT_EQ(ParseSince("2026-12-01", kNow), kNow - kDay);
}

TEST(ParseSince, RefusesAnythingElse) {
    for (const char* bad :
         {"",
          "h",
          "0h",
          "-1h",
          "6x",
          "6 h",
          "1.5h",
          "99999999999d",
          "2026-13-01",
          "2026-02-30",
          "2026-12-01T25:00Z",
          "2026-12-01T08:00+02:00",
          "2026-12-02T00:00:01Z",
          "yesterday"}) {
        EXPECT_EQ(ParseSince(bad, kNow), std::nullopt) << bad;
    }
}

TEST(MakeWindow, KeepsTheStepAskedForUpTo120Buckets) {
    const Window w = MakeWindow(kNow - kHour, kNow, 30);
    EXPECT_EQ(w.step_us, 30 * kS);
    EXPECT_EQ(w.requested_step_us, 30 * kS);
    EXPECT_EQ(w.Buckets(), 120);
}

TEST(MakeWindow, WidensToARoundStepBeyond120Buckets) {
    const Window two_days = MakeWindow(kNow - 2 * kDay, kNow, 30);
    EXPECT_EQ(two_days.step_us, 1800 * kS);  // 1440 s would do; 30 min is the next round step
    EXPECT_EQ(two_days.Buckets(), 96);
    EXPECT_EQ(two_days.requested_step_us, 30 * kS);
    const Window years = MakeWindow(kNow - 3650 * kDay, kNow, 1);
    EXPECT_LE(years.Buckets(), kMaxBuckets);
    EXPECT_GT(years.Buckets(), 0);
}

TEST(MakeWindow, AnUnevenSpanGetsAPartialLastBucket) {
    const Window w = MakeWindow(kNow - 100 * kS, kNow, 30);
    EXPECT_EQ(w.Buckets(), 4);
}

TEST(NiceCeiling, RoundsUpTo125) {
    EXPECT_EQ(NiceCeiling(0), 1);
    EXPECT_EQ(NiceCeiling(-3), 1);
    EXPECT_EQ(NiceCeiling(1), 1);
    EXPECT_EQ(NiceCeiling(1.5), 2);
    EXPECT_EQ(NiceCeiling(7), 10);
    EXPECT_EQ(NiceCeiling(30), 50);
    EXPECT_DOUBLE_EQ(NiceCeiling(0.03), 0.05);
}

TEST(LineChartSvg, NoPointsIsAnEmptyFrame) {
    const std::string svg =
        LineChartSvg({.label = "empty", .y_label = "n", .x_labels = {}, .series = {}});
    EXPECT_THAT(svg, HasSubstr("no data"));
    EXPECT_THAT(svg, HasSubstr(R"(role="img")"));
    EXPECT_THAT(svg, HasSubstr(R"(aria-label="empty")"));
    ExpectFiniteNumbers(svg);
}

TEST(LineChartSvg, OnePointIsADot) {
    const std::string svg = LineChartSvg(
        {.label = "one", .y_label = "n", .x_labels = {"10:00"}, .series = {{"a", "#000", {3.0}}}}
    );
    EXPECT_EQ(Count(svg, "<circle"), 1U);
    EXPECT_EQ(Count(svg, "<polyline"), 0U);
    ExpectFiniteNumbers(svg);
}

TEST(LineChartSvg, AllZeroValuesDoNotDivideByZero) {
    const std::string svg = LineChartSvg(
        {.label = "zeros",
         .y_label = "n",
         .x_labels = {"a", "b", "c"},
         .series = {{"s", "#111", {0.0, 0.0, 0.0}}}}
    );
    EXPECT_EQ(Count(svg, "<polyline"), 1U);
    ExpectFiniteNumbers(svg);
}

TEST(LineChartSvg, MissingValuesBreakTheLine) {
    const std::string svg = LineChartSvg(
        {.label = "gaps",
         .y_label = "ms",
         .x_labels = {"1", "2", "3", "4", "5", "6"},
         .series = {{"p95", "#222", {1.0, 2.0, std::nullopt, 4.0, std::nullopt, std::nullopt}}}}
    );
    EXPECT_EQ(Count(svg, "<polyline"), 1U) << "1-2";
    EXPECT_EQ(Count(svg, "<circle"), 1U) << "4 alone";
    ExpectFiniteNumbers(svg);
}

TEST(LineChartSvg, EscapesLabelsAndLegend) {
    const std::string svg = LineChartSvg(
        {.label = "a<b",
         .y_label = "<y>",
         .x_labels = {"<x>"},
         .series = {{"<s>", "#000\"onload=\"x", {1.0}}}}
    );
    EXPECT_THAT(svg, Not(HasSubstr("<s>")));
    EXPECT_THAT(svg, Not(HasSubstr("<x>")));
    EXPECT_THAT(svg, Not(HasSubstr("\"onload")));
    EXPECT_THAT(svg, HasSubstr("a&lt;b"));
}

TEST(BarChartSvg, EmptyAndZeroBars) {
    const BarChart empty{.label = "none", .x_label = "n", .bars = {}};
    EXPECT_THAT(BarChartSvg(empty), HasSubstr("no data"));
    const BarChart zero{.label = "zero", .x_label = "n", .bars = {{"a", 0}, {"b", 0}}};
    const std::string svg = BarChartSvg(zero);
    EXPECT_EQ(Count(svg, "<rect"), 2U);
    ExpectFiniteNumbers(svg);
}

TEST(BarChartSvg, DrawsOneBarPerRowProportionally) {
    const BarChart chart{
        .label = "reasons", .x_label = "payments", .bars = {{"declined <&>", 10}, {"timeout", 5}}};
    const std::string svg = BarChartSvg(chart);
    EXPECT_EQ(Count(svg, "<rect"), 2U);
    EXPECT_THAT(svg, HasSubstr("declined &lt;&amp;&gt;"));
    // Scale 0..10: the first bar is full width, the second half of it.
    EXPECT_THAT(svg, HasSubstr(R"(width="430.0")"));
    EXPECT_THAT(svg, HasSubstr(R"(width="215.0")"));
}

ReportData Sample() {
    ReportData d;
    d.window = MakeWindow(kNow - kHour, kNow, 60);
    d.generated_at_us = kNow;
    auto& p = d.payments;
    p.created = 10;
    p.settled = 6;
    p.failed = 2;
    p.reversed = 1;
    p.in_flight = 1;
    p.p50_ms = 120;
    p.p95_ms = 900;
    p.p99_ms = 1500;
    p.settled_amounts = {{"EUR", 2, 1999}, {"USD", 4, 1'234'567}};
    for (std::int64_t b = 0; b < d.window.Buckets(); ++b) {
        Bucket bucket;
        bucket.start_us = d.window.from_us + b * d.window.step_us;
        if (b == 3) {
            bucket.created = 10;
            bucket.settled = 6;
            bucket.failed = 3;
            bucket.p95_ms = 900;
        }
        p.buckets.push_back(bucket);
    }
    p.failure_reasons = {{"provider_failed:<script>alert(1)</script>", 2}, {"manual_deny", 1}};
    d.reviews.read = true;
    d.reviews.pending = 1;
    d.reviews.pending_now = 2;
    d.reviews.oldest_pending_age_s = 7300;
    d.dlq = SummarizeDlq(
        {{.position = "1-0",
          .event_id = "e",
          .aggregate_id = "p",
          .reason = "gave up <b>",
          .error_type = "RETRY_EXHAUSTED",
          .replay_topic = "",
          .replayable = false}},
        {}
    );
    d.reconciliation.read = true;
    d.reconciliation.method = "aggregate";
    d.reconciliation.currencies = {{"USD", 4, 1'234'567, 4, 1'234'567, true, 1'234'567, 1'234'567}};
    return d;
}

TEST(RenderReportHtml, IsOneSelfContainedAccessiblePage) {
    const std::string html = RenderReportHtml(Sample());
    ExpectSelfContained(html);
    EXPECT_THAT(html, Not(HasSubstr("http://")));
    EXPECT_THAT(html, Not(HasSubstr("https://")));
    EXPECT_THAT(html, HasSubstr("<title>SagaPay executive report, 2026-12-01 23:00:00 UTC"));
    EXPECT_GE(Count(html, "<svg "), 3U);
    EXPECT_EQ(Count(html, "<svg "), Count(html, R"(role="img")"));
    EXPECT_EQ(Count(html, "<svg "), Count(html, "aria-label="));
    EXPECT_THAT(html, HasSubstr("<table>"));
    ExpectFiniteNumbers(html);
}

TEST(RenderReportHtml, ShowsTheCardsFromIntegers) {
    const std::string html = RenderReportHtml(Sample());
    EXPECT_THAT(html, HasSubstr("66.7%")) << "6 settled of 9 final";
    EXPECT_THAT(html, HasSubstr("12,345.67"));
    EXPECT_THAT(html, HasSubstr("19.99"));
    EXPECT_THAT(html, HasSubstr("900 ms"));
    EXPECT_THAT(html, HasSubstr("2.0 h")) << "oldest pending review";
    EXPECT_THAT(html, HasSubstr(R"(<span class="badge ok">clean</span>)"));
}

TEST(RenderReportHtml, EscapesEveryStringFromTheDatabase) {
    const std::string html = RenderReportHtml(Sample());
    EXPECT_THAT(html, Not(HasSubstr("<script>alert(1)")));
    EXPECT_THAT(html, HasSubstr("provider_failed:&lt;script&gt;alert(1)&lt;/script&gt;"));
    EXPECT_THAT(html, Not(HasSubstr("gave up <b>")));
    EXPECT_THAT(html, HasSubstr("RETRY_EXHAUSTED: gave up &lt;b&gt;"));
}

TEST(RenderReportHtml, AnEmptyReportRenders) {
    ReportData empty;
    empty.window = MakeWindow(kNow - 60 * kS, kNow, 30);
    empty.reviews.note = "no risk database";
    empty.dlq.note = "no bus";
    empty.reconciliation.note = "no ledger database";
    const std::string html = RenderReportHtml(empty);
    ExpectSelfContained(html);
    ExpectFiniteNumbers(html);
    EXPECT_THAT(html, HasSubstr("no risk database"));
    EXPECT_THAT(html, HasSubstr("not checked"));
    EXPECT_GE(Count(html, "<svg "), 3U);
}

TEST(RenderReportHtml, AMismatchSaysSo) {
    ReportData d = Sample();
    d.reconciliation.currencies[0].ledger_settlements = 3;
    d.reconciliation.captured_now = 2;
    const std::string html = RenderReportHtml(d);
    EXPECT_THAT(html, HasSubstr(R"(<span class="badge bad">mismatch</span>)"));
    EXPECT_THAT(html, HasSubstr("2 payments are between capture and settlement"));
}

TEST(RenderReportHtml, ThePrometheusUrlIsTextOnly) {
    ReportData d = Sample();
    d.prometheus = {
        .asked = true,
        .reachable = false,
        .url = "http://prom.example:9090/<x>",
        .note = "connection refused",
        .cards = {}};
    const std::string html = RenderReportHtml(d);
    ExpectSelfContained(html);
    EXPECT_EQ(Count(html, "http://"), 1U);
    EXPECT_THAT(
        html, HasSubstr("Prometheus at http://prom.example:9090/&lt;x&gt; could not be queried")
    );
}

TEST(RenderReportHtml, ShowsThePrometheusCardsAndTheirQueries) {
    ReportData d = Sample();
    d.prometheus = {
        .asked = true,
        .reachable = true,
        .url = "http://127.0.0.1:9090",
        .note = "",
        .cards = {{"API p95", "0.005 s", R"(histogram_quantile(0.95, x{service="api-gateway"}))"}}};
    const std::string html = RenderReportHtml(d);
    ExpectSelfContained(html);
    EXPECT_THAT(html, HasSubstr("API p95"));
    EXPECT_THAT(html, HasSubstr("0.005 s"));
    EXPECT_THAT(html, HasSubstr("x{service=&quot;api-gateway&quot;}"));
    EXPECT_EQ(Count(html, "http://"), 1U);
}

TEST(PaymentsSummary, SuccessRatioNeedsAFinalPayment) {
    PaymentsSummary p;
    p.in_flight = 3;
    EXPECT_EQ(p.SuccessRatio(), std::nullopt);
    p.settled = 1;
    p.reversed = 3;
    EXPECT_DOUBLE_EQ(*p.SuccessRatio(), 0.25);
}

TEST(SummarizeDlq, GroupsByTopicAndReasonLargestFirst) {
    const auto parked = [](std::string reason, std::string type) {
        return ParkedMessage{
            .position = "",
            .event_id = "",
            .aggregate_id = "",
            .reason = std::move(reason),
            .error_type = std::move(type),
            .replay_topic = "",
            .replayable = false};
    };
    const DlqSummary s = SummarizeDlq(
        {parked("timeouts", "RETRY_EXHAUSTED"),
         parked("bad card", "NON_RETRYABLE"),
         parked("timeouts", "RETRY_EXHAUSTED")},
        {parked("handler failed for 30 min", "")}
    );
    EXPECT_TRUE(s.read);
    EXPECT_EQ(s.total, 4);
    ASSERT_EQ(s.rows.size(), 3U);
    EXPECT_EQ(s.rows[0].topic, "payments.dlq");
    EXPECT_EQ(s.rows[0].reason, "RETRY_EXHAUSTED: timeouts");
    EXPECT_EQ(s.rows[0].count, 2);
    EXPECT_EQ(s.other, 0);
}

TEST(SummarizeDlq, KeepsTheTopRowsAndCountsTheRest) {
    std::vector<ParkedMessage> many;
    for (std::size_t i = 0; i < kTopDlqRows + 5; ++i) {
        many.push_back(
            {.position = "",
             .event_id = "",
             .aggregate_id = "",
             .reason = "r" + std::to_string(i),
             .error_type = "",
             .replay_topic = "",
             .replayable = false}
        );
    }
    const DlqSummary s = SummarizeDlq({}, many);
    EXPECT_EQ(s.rows.size(), kTopDlqRows);
    EXPECT_EQ(s.other, 5);
    EXPECT_EQ(s.total, static_cast<std::int64_t>(kTopDlqRows + 5));
}

TEST(InstantValue, ReadsTheFirstSeriesOrAScalar) {
    const auto vector = nlohmann::json::parse(
        R"({"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1.5,"0.25"]}]}})"
    );
    EXPECT_EQ(InstantValue(vector), 0.25);
    const auto scalar = nlohmann::json::parse(
        R"({"status":"success","data":{"resultType":"scalar","result":[1.5,"7"]}})"
    );
    EXPECT_EQ(InstantValue(scalar), 7.0);
    const auto empty =
        nlohmann::json::parse(R"({"status":"success","data":{"resultType":"vector","result":[]}})");
    EXPECT_EQ(InstantValue(empty), std::nullopt);
    EXPECT_EQ(
        InstantValue(nlohmann::json::parse(R"({"status":"error","error":"bad"})")), std::nullopt
    );
    EXPECT_EQ(InstantValue(nlohmann::json()), std::nullopt);
}

}  // namespace
}  // namespace sagapay::app::report
