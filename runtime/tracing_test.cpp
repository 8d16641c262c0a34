#include "runtime/tracing.hpp"

#include <mutex>
#include <vector>

#include <gtest/gtest.h>

namespace sagapay::tracing {
namespace {

class RecordingSink final : public SpanSink {
public:
    void Submit(SpanData span) noexcept override {
        const std::lock_guard lock(mutex_);
        spans_.push_back(std::move(span));
    }
    std::vector<SpanData> Spans() {
        const std::lock_guard lock(mutex_);
        return spans_;
    }

private:
    std::mutex mutex_;
    std::vector<SpanData> spans_;
};

class TracingTest : public ::testing::Test {
protected:
    void SetUp() override { SetSink(&sink_); }
    void TearDown() override { SetSink(nullptr); }
    RecordingSink sink_;
};

TEST_F(TracingTest, ASpanWithoutParentStartsATraceAndNestedSpansAreItsChildren) {
    std::string root_trace;
    std::string root_span;
    {
        const Span root("POST /payments", SpanKind::kServer);
        root_trace = root.Context().trace_id;
        root_span = root.Context().span_id;
        ASSERT_NE(Current(), nullptr);
        EXPECT_EQ(CurrentTraceparent(), root.Traceparent());
        {
            Span child("postgresql transaction", SpanKind::kClient);
            child.SetAttribute("db.system", std::string("postgresql"));
            child.SetAttribute("rows", std::int64_t{3});
            EXPECT_EQ(Current()->span_id, child.Context().span_id);
        }
        EXPECT_EQ(Current()->span_id, root_span);
    }
    EXPECT_EQ(Current(), nullptr);

    const auto spans = sink_.Spans();
    ASSERT_EQ(spans.size(), 2U);
    const SpanData& child = spans[0];  // ends first
    const SpanData& root = spans[1];
    EXPECT_EQ(root.name, "POST /payments");
    EXPECT_EQ(root.kind, SpanKind::kServer);
    EXPECT_EQ(root.parent_span_id, "");
    EXPECT_EQ(child.trace_id, root_trace);
    EXPECT_EQ(child.parent_span_id, root_span);
    ASSERT_EQ(child.attributes.size(), 2U);
    EXPECT_EQ(std::get<std::int64_t>(child.attributes[1].value), 3);
    EXPECT_LE(root.start_unix_nano, child.start_unix_nano);
    EXPECT_LE(child.end_unix_nano, root.end_unix_nano);
}

TEST_F(TracingTest, AnExplicitParentWinsOverTheThreadsCurrentSpan) {
    const auto remote = ParseTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
    const Span outer("outer", SpanKind::kInternal);
    {
        const Span consumer("payments.requested process", SpanKind::kConsumer, remote);
        EXPECT_EQ(consumer.Context().trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
    }
    const auto spans = sink_.Spans();
    ASSERT_EQ(spans.size(), 1U);
    EXPECT_EQ(spans[0].parent_span_id, "00f067aa0ba902b7");
}

TEST_F(TracingTest, AParentWithATraceButNoSpanGivesASpanOfThatTraceWithoutParent) {
    TraceContext seed;
    seed.trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    { const Span span("ledger.requested process", SpanKind::kConsumer, seed); }
    const auto spans = sink_.Spans();
    ASSERT_EQ(spans.size(), 1U);
    EXPECT_EQ(spans[0].trace_id, seed.trace_id);
    EXPECT_EQ(spans[0].parent_span_id, "");
}

TEST_F(TracingTest, AnUnsampledTraceIsPropagatedButNotRecorded) {
    const auto remote = ParseTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00");
    {
        const Span span("not sampled", SpanKind::kServer, remote);
        EXPECT_EQ(span.Traceparent().substr(0, 36), "00-4bf92f3577b34da6a3ce929d0e0e4736-");
        EXPECT_EQ(span.Traceparent().substr(53), "00");
    }
    EXPECT_TRUE(sink_.Spans().empty());
}

TEST_F(TracingTest, ErrorsAndLinksAreRecorded) {
    const auto other = ParseTraceparent("00-11111111111111111111111111111111-2222222222222222-01");
    {
        Span span("batch", SpanKind::kInternal);
        span.SetError("deadlock detected");
        span.AddLink(*other);
    }
    const auto spans = sink_.Spans();
    ASSERT_EQ(spans.size(), 1U);
    EXPECT_TRUE(spans[0].error);
    EXPECT_EQ(spans[0].status_message, "deadlock detected");
    ASSERT_EQ(spans[0].links.size(), 1U);
    EXPECT_EQ(spans[0].links[0].span_id, "2222222222222222");
}

TEST_F(TracingTest, AScopedContextIsCurrentWithoutRecordingASpan) {
    TraceContext resumed;
    resumed.trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    resumed.span_id = "00f067aa0ba902b7";
    {
        const ScopedContext scope(resumed);
        EXPECT_EQ(CurrentTraceparent(), "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
    }
    EXPECT_EQ(Current(), nullptr);
    EXPECT_TRUE(sink_.Spans().empty());
}

TEST(TracingWithoutSink, SpansStillCarryTheContextOnward) {
    SetSink(nullptr);
    const Span span("no exporter", SpanKind::kServer);
    EXPECT_FALSE(Recording());
    EXPECT_EQ(span.Traceparent().size(), 55U);
    EXPECT_EQ(CurrentTraceparent(), span.Traceparent());
}

}  // namespace
}  // namespace sagapay::tracing
