#include "core/tracing/trace_context.hpp"

#include <set>

#include <gtest/gtest.h>

namespace sagapay {
namespace {

constexpr const char* kValid = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

TEST(Traceparent, ParsesTheSpecExample) {
    const auto context = ParseTraceparent(kValid, "congo=t61rcWkgMzE");
    ASSERT_TRUE(context.has_value());
    EXPECT_EQ(context->trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
    EXPECT_EQ(context->span_id, "00f067aa0ba902b7");
    EXPECT_TRUE(context->sampled);
    EXPECT_EQ(context->tracestate, "congo=t61rcWkgMzE");
    EXPECT_EQ(FormatTraceparent(*context), kValid);
}

TEST(Traceparent, KeepsTheSampledFlag) {
    const auto context =
        ParseTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00");
    ASSERT_TRUE(context.has_value());
    EXPECT_FALSE(context->sampled);
    EXPECT_EQ(
        FormatTraceparent(*context), "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00"
    );
}

TEST(Traceparent, RefusesWhatTheSpecRefuses) {
    for (const std::string_view bad : {
             "",
             "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",       // no flags
             "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x",  // 00 has no more fields
             "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",    // version ff
             "00-00000000000000000000000000000000-00f067aa0ba902b7-01",    // zero trace id
             "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",    // zero span id
             "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",    // upper case
             "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",    // separator
             "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01",    // not hex
         }) {
        EXPECT_FALSE(ParseTraceparent(bad).has_value()) << bad;
    }
}

TEST(Traceparent, ReadsALaterVersionAsVersion00) {
    const auto context =
        ParseTraceparent("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-later");
    ASSERT_TRUE(context.has_value());
    EXPECT_EQ(context->span_id, "00f067aa0ba902b7");
}

TEST(Traceparent, DropsATracestateThatIsTooLongOrNotPrintable) {
    EXPECT_EQ(ParseTraceparent(kValid, std::string(513, 'a'))->tracestate, "");
    EXPECT_EQ(ParseTraceparent(kValid, "a=b\nc=d")->tracestate, "");
    EXPECT_EQ(ParseTraceparent(kValid, std::string(512, 'a'))->tracestate.size(), 512U);
}

TEST(Traceparent, FormatsNothingWithoutASpan) {
    TraceContext context;
    context.trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    EXPECT_EQ(FormatTraceparent(context), "");
}

TEST(TraceIds, AreHexOfTheRightLengthAndDistinct) {
    std::set<std::string> seen;
    for (int i = 0; i < 1000; ++i) {
        const std::string trace = NewTraceId();
        const std::string span = NewSpanId();
        ASSERT_EQ(trace.size(), 32U);
        ASSERT_EQ(span.size(), 16U);
        std::string header = "00-";
        header.append(trace).append("-").append(span).append("-01");
        ASSERT_TRUE(ParseTraceparent(header).has_value());
        seen.insert(trace);
    }
    EXPECT_EQ(seen.size(), 1000U);
}

TEST(TraceIds, AUuidCorrelationIdGivesTheSameDigits) {
    EXPECT_EQ(
        TraceIdFromCorrelationId("4BF92F35-77B3-4DA6-A3CE-929D0E0E4736"),
        "4bf92f3577b34da6a3ce929d0e0e4736"
    );
    EXPECT_EQ(
        TraceIdFromCorrelationId("4bf92f3577b34da6a3ce929d0e0e4736"),
        "4bf92f3577b34da6a3ce929d0e0e4736"
    );
    EXPECT_EQ(
        TraceIdAsUuid("4bf92f3577b34da6a3ce929d0e0e4736"), "4bf92f35-77b3-4da6-a3ce-929d0e0e4736"
    );
    EXPECT_FALSE(TraceIdFromCorrelationId("corr-1").has_value());
    EXPECT_FALSE(TraceIdFromCorrelationId("00000000-0000-0000-0000-000000000000").has_value());
    EXPECT_FALSE(TraceIdFromCorrelationId("4bf92f35-77b3-4da6-a3ce-929d0e0e473z").has_value());
    EXPECT_FALSE(TraceIdFromCorrelationId("4bf92f35077b304da60a3ce0929d0e0e4736").has_value());
}

TEST(TraceIds, AnEventContinuesItsTraceparentElseItsSeedTraceId) {
    const auto from_parent = ContinueTrace(kValid, "", "4bf92f35-77b3-4da6-a3ce-929d0e0e0000");
    ASSERT_TRUE(from_parent.has_value());
    EXPECT_EQ(from_parent->span_id, "00f067aa0ba902b7");
    const auto from_seed = ContinueTrace("", "", "4bf92f35-77b3-4da6-a3ce-929d0e0e0000");
    ASSERT_TRUE(from_seed.has_value());
    EXPECT_EQ(from_seed->trace_id, "4bf92f3577b34da6a3ce929d0e0e0000");
    EXPECT_FALSE(from_seed->HasSpan());
    EXPECT_FALSE(ContinueTrace("garbage", "", "trace-1").has_value());
}

}  // namespace
}  // namespace sagapay
