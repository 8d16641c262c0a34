#include "runtime/otlp_exporter.hpp"

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace sagapay::tracing {
namespace {

SpanData MakeSpan(int n) {
    SpanData span;
    span.trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    span.span_id = "00f067aa0ba902b" + std::to_string(n % 10);
    span.parent_span_id = "1111111111111111";
    span.name = "span " + std::to_string(n);
    span.kind = SpanKind::kConsumer;
    span.start_unix_nano = 1'700'000'000'000'000'000;
    span.end_unix_nano = 1'700'000'000'001'000'000;
    span.attributes.push_back({"messaging.destination.name", std::string("payments.requested")});
    span.attributes.push_back({"messaging.batch.message_count", std::int64_t{7}});
    return span;
}

TEST(OtlpJson, IsAnExportTraceServiceRequestWithHexIdsAndStringTimes) {
    SpanData failed = MakeSpan(1);
    failed.error = true;
    failed.status_message = "boom";
    failed.links.push_back(
        *ParseTraceparent("00-22222222222222222222222222222222-3333333333333333-01")
    );
    const std::vector<SpanData> spans = {MakeSpan(0), failed};

    const auto json = nlohmann::json::parse(EncodeOtlpJson("orchestrator", spans));

    const auto& resource = json.at("resourceSpans").at(0);
    EXPECT_EQ(resource.at("resource").at("attributes").at(0).at("key"), "service.name");
    EXPECT_EQ(
        resource.at("resource").at("attributes").at(0).at("value").at("stringValue"), "orchestrator"
    );
    const auto& out = resource.at("scopeSpans").at(0).at("spans");
    ASSERT_EQ(out.size(), 2U);
    EXPECT_EQ(out[0].at("traceId"), "4bf92f3577b34da6a3ce929d0e0e4736");
    EXPECT_EQ(out[0].at("parentSpanId"), "1111111111111111");
    EXPECT_EQ(out[0].at("kind"), 5);
    EXPECT_EQ(out[0].at("startTimeUnixNano"), "1700000000000000000");
    EXPECT_EQ(out[0].at("attributes").at(1).at("value").at("intValue"), "7");
    EXPECT_FALSE(out[0].contains("status"));
    EXPECT_EQ(out[1].at("status").at("code"), 2);
    EXPECT_EQ(out[1].at("links").at(0).at("spanId"), "3333333333333333");
}

TEST(OtlpJson, ReplacesInvalidUtf8RatherThanThrowing) {
    SpanData span = MakeSpan(0);
    span.name = std::string("bad \xff name");
    EXPECT_NO_THROW((void)EncodeOtlpJson("risk", std::vector<SpanData>{span}));
}

TEST(OtlpTarget, FollowsTheOpenTelemetryVariables) {
    const auto base = ResolveOtlpTarget("", "http://127.0.0.1:4318/");
    ASSERT_TRUE(base.has_value());
    EXPECT_EQ(base->origin, "http://127.0.0.1:4318");
    EXPECT_EQ(base->path, "/v1/traces");
    const auto exact = ResolveOtlpTarget("http://collector:4318/custom/traces", "http://x:1");
    ASSERT_TRUE(exact.has_value());
    EXPECT_EQ(exact->origin, "http://collector:4318");
    EXPECT_EQ(exact->path, "/custom/traces");
    EXPECT_FALSE(ResolveOtlpTarget("", "https://collector:4318").has_value());
    EXPECT_FALSE(ResolveOtlpTarget("", "").has_value());
    EXPECT_FALSE(ResolveOtlpTarget("http:///v1/traces", "").has_value());
}

TEST(OtlpHeaders, ParsesCommaSeparatedPairsWithPercentDecoding) {
    const auto headers = ParseOtlpHeaders("api-key=abc%20def, x-tenant = t1,broken,=novalue");
    ASSERT_EQ(headers.size(), 2U);
    EXPECT_EQ(headers[0].first, "api-key");
    EXPECT_EQ(headers[0].second, "abc def");
    EXPECT_EQ(headers[1].first, "x-tenant");
    EXPECT_EQ(headers[1].second, "t1");
}

/// A collector that records bodies and can be told to refuse or to hold requests.
struct FakeCollector {
    std::mutex mutex;
    std::condition_variable changed;
    std::vector<nlohmann::json> bodies;
    bool refuse = false;
    bool hold = false;
    int arrived = 0;  ///< Requests that reached the collector (held ones included).

    OtlpPost Post() {
        return [this](const std::string& body) {
            std::unique_lock lock(mutex);
            ++arrived;
            changed.notify_all();
            changed.wait(lock, [this] { return !hold; });
            bodies.push_back(nlohmann::json::parse(body));
            changed.notify_all();
            return !refuse;
        };
    }
    std::size_t SpansReceived() {
        const std::lock_guard lock(mutex);
        std::size_t n = 0;
        for (const auto& body : bodies) {
            n += body.at("resourceSpans").at(0).at("scopeSpans").at(0).at("spans").size();
        }
        return n;
    }
    bool WaitForRequests(std::size_t n) {
        std::unique_lock lock(mutex);
        return changed.wait_for(lock, std::chrono::seconds(10), [&] { return bodies.size() >= n; });
    }
};

OtlpOptions Options(std::size_t queue, std::size_t batch, std::chrono::milliseconds delay) {
    OtlpOptions options;
    options.service_name = "test";
    options.max_queue = queue;
    options.max_batch = batch;
    options.schedule_delay = delay;
    return options;
}

TEST(OtlpExporter, SendsAFullBatchAtOnceWithoutWaitingForTheDelay) {
    FakeCollector collector;
    OtlpExporter exporter(Options(100, 4, std::chrono::hours(1)), collector.Post());
    for (int i = 0; i < 4; ++i) {
        exporter.Submit(MakeSpan(i));
    }
    ASSERT_TRUE(collector.WaitForRequests(1));
    EXPECT_EQ(collector.SpansReceived(), 4U);
}

TEST(OtlpExporter, SendsAPartialBatchAfterTheScheduleDelay) {
    FakeCollector collector;
    OtlpExporter exporter(Options(100, 50, std::chrono::milliseconds(20)), collector.Post());
    exporter.Submit(MakeSpan(0));
    ASSERT_TRUE(collector.WaitForRequests(1));
    EXPECT_EQ(collector.SpansReceived(), 1U);
}

TEST(OtlpExporter, AFullQueueDropsAndCountsInsteadOfBlockingTheCaller) {
    FakeCollector collector;
    collector.hold = true;  // the collector hangs: the queue fills
    {
        OtlpExporter exporter(Options(8, 4, std::chrono::hours(1)), collector.Post());
        for (int i = 0; i < 4; ++i) {
            exporter.Submit(MakeSpan(i));
        }
        {
            // The first batch is taken by the sender and held in the collector ...
            std::unique_lock lock(collector.mutex);
            ASSERT_TRUE(collector.changed.wait_for(lock, std::chrono::seconds(10), [&] {
                return collector.arrived == 1;
            }));
        }
        // ... so 8 more fill the queue and the next is dropped.
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        int submitted = 4;
        while (exporter.DroppedQueueFull() == 0 && std::chrono::steady_clock::now() < deadline) {
            exporter.Submit(MakeSpan(submitted++));
        }
        EXPECT_EQ(exporter.DroppedQueueFull(), 1);
        EXPECT_EQ(submitted, 4 + 8 + 1);
        {
            const std::lock_guard lock(collector.mutex);
            collector.hold = false;
        }
        collector.changed.notify_all();
    }  // destruction sends what was queued
    EXPECT_EQ(collector.SpansReceived(), 12U);
}

TEST(OtlpExporter, ARefusedExportIsCountedAsDropped) {
    FakeCollector collector;
    collector.refuse = true;
    {
        OtlpExporter exporter(Options(100, 2, std::chrono::hours(1)), collector.Post());
        exporter.Submit(MakeSpan(0));
        exporter.Submit(MakeSpan(1));
        ASSERT_TRUE(collector.WaitForRequests(1));
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (exporter.DroppedExportFailed() < 2 && std::chrono::steady_clock::now() < deadline) {
            std::this_thread::yield();
        }
        EXPECT_EQ(exporter.DroppedExportFailed(), 2);
        EXPECT_EQ(exporter.Exported(), 0);
    }
}

TEST(OtlpExporter, StoppingSendsWhatIsQueued) {
    FakeCollector collector;
    {
        OtlpExporter exporter(Options(100, 50, std::chrono::hours(1)), collector.Post());
        for (int i = 0; i < 3; ++i) {
            exporter.Submit(MakeSpan(i));
        }
    }
    EXPECT_EQ(collector.SpansReceived(), 3U);
}

TEST(OtlpExporter, AnUnreachableCollectorCountsDropsAndDoesNotHoldTheStop) {
    OtlpOptions options = Options(100, 10, std::chrono::hours(1));
    options.target = *ResolveOtlpTarget("", "http://127.0.0.1:1");  // nothing listens on port 1
    options.timeout = std::chrono::milliseconds(500);
    std::int64_t dropped = 0;
    {
        OtlpExporter exporter(options);
        for (int i = 0; i < 25; ++i) {
            exporter.Submit(MakeSpan(i));
        }
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (exporter.DroppedExportFailed() < 20 && std::chrono::steady_clock::now() < deadline) {
            std::this_thread::yield();
        }
        dropped = exporter.DroppedExportFailed();
    }
    EXPECT_GE(dropped, 20);
}

}  // namespace
}  // namespace sagapay::tracing
