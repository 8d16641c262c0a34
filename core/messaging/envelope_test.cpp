#include "core/messaging/envelope.hpp"

#include <gtest/gtest.h>

#include "core/ids.hpp"
#include "core/tracing/trace_context.hpp"
#include "testing/fake_clock.hpp"

namespace sagapay {
namespace {

using testing::FakeClock;

TEST(Envelope, RoundTripsEveryField) {
    const FakeClock clock(Clock::TimePoint(std::chrono::seconds(1771416000)));
    const Envelope original = MakeEnvelope(
        "payments.requested",
        "pay-1",
        "trace-1",
        {{"amount_cents", 1500}, {"currency", "USD"}},
        clock
    );

    const auto decoded = DecodeEnvelope(EncodeEnvelope(original));

    ASSERT_TRUE(decoded.has_value()) << decoded.error().message;
    EXPECT_EQ(decoded->event_id, original.event_id);
    EXPECT_TRUE(IsUuid(decoded->event_id));
    EXPECT_EQ(decoded->event_type, "payments.requested");
    EXPECT_EQ(decoded->aggregate_id, "pay-1");
    EXPECT_EQ(decoded->trace_id, "trace-1");
    EXPECT_EQ(decoded->occurred_at, "2026-02-18T12:00:00.000000+00:00");
    EXPECT_EQ(decoded->payload.at("amount_cents").get<std::int64_t>(), 1500);
    EXPECT_EQ(decoded->schema_version, Envelope::kSchemaVersion);
}

TEST(Envelope, CarriesTheW3cTraceContextWhenItHasOne) {
    const FakeClock clock(Clock::TimePoint(std::chrono::seconds(1771416000)));
    Envelope original =
        MakeEnvelope("risk.approved", "pay-1", "trace-1", nlohmann::json::object(), clock);
    EXPECT_EQ(EncodeEnvelope(original).find("traceparent"), std::string::npos);
    original.traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    original.tracestate = "congo=t61rcWkgMzE";

    const auto decoded = DecodeEnvelope(EncodeEnvelope(original));

    ASSERT_TRUE(decoded.has_value()) << decoded.error().message;
    EXPECT_EQ(decoded->traceparent, original.traceparent);
    EXPECT_EQ(decoded->tracestate, "congo=t61rcWkgMzE");
    EXPECT_EQ(decoded->trace_id, "trace-1");
}

TEST(Envelope, IsStampedWithTheThreadsCurrentTraceContext) {
    const FakeClock clock(Clock::TimePoint(std::chrono::seconds(1771416000)));
    const TraceContext current =
        *ParseTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "k=v");
    const TraceContext* previous = ExchangeCurrentTraceContext(&current);
    const Envelope stamped =
        MakeEnvelope("risk.approved", "pay-1", "trace-1", nlohmann::json::object(), clock);
    ExchangeCurrentTraceContext(previous);

    EXPECT_EQ(stamped.traceparent, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
    EXPECT_EQ(stamped.tracestate, "k=v");
    EXPECT_EQ(stamped.trace_id, "trace-1");
    EXPECT_EQ(
        MakeEnvelope("risk.approved", "pay-1", "trace-1", nlohmann::json::object(), clock)
            .traceparent,
        ""
    );
}

TEST(Envelope, IgnoresATraceContextOfTheWrongTypeRatherThanRefusingTheEvent) {
    const auto decoded = DecodeEnvelope(
        R"({"event_id":"e","event_type":"payments.settled","aggregate_id":"p",)"
        R"("occurred_at":"2026-02-18T12:00:00.123456+00:00","trace_id":"t","payload":{},)"
        R"("traceparent":42,"tracestate":["x"]})"
    );
    ASSERT_TRUE(decoded.has_value()) << decoded.error().message;
    EXPECT_EQ(decoded->traceparent, "");
    EXPECT_EQ(decoded->tracestate, "");
}

TEST(Envelope, AcceptsTheSeedsEnvelopeWithoutSchemaVersion) {
    const auto decoded = DecodeEnvelope(
        R"({"event_id":"e","event_type":"payments.settled","aggregate_id":"p",)"
        R"("occurred_at":"2026-02-18T12:00:00.123456+00:00","trace_id":"t","payload":{}})"
    );

    ASSERT_TRUE(decoded.has_value());
    EXPECT_EQ(decoded->schema_version, 1);
}

TEST(Envelope, MakesATraceIdWhenNoneIsGiven) {
    const FakeClock clock(Clock::TimePoint(std::chrono::seconds(1771416000)));
    EXPECT_TRUE(IsUuid(MakeEnvelope("t", "a", "", nlohmann::json::object(), clock).trace_id));
}

TEST(Envelope, RefusesWhatIsNotAnEnvelope) {
    const char* cases[] = {
        "not json",
        "[]",
        R"({"event_type":"x","aggregate_id":"a","occurred_at":"o","trace_id":"t","payload":{}})",
        R"({"event_id":"","event_type":"x","aggregate_id":"a","occurred_at":"o","trace_id":"t","payload":{}})",
        R"({"event_id":"e","event_type":"x","aggregate_id":"a","occurred_at":"o","trace_id":"t","payload":[]})",
        R"({"event_id":"e","event_type":"x","aggregate_id":"a","occurred_at":"o","trace_id":"t","payload":{},"schema_version":99})",
        R"({"event_id":7,"event_type":"x","aggregate_id":"a","occurred_at":"o","trace_id":"t","payload":{}})",
    };
    for (const char* text : cases) {
        const auto decoded = DecodeEnvelope(text);
        ASSERT_FALSE(decoded.has_value()) << text;
        EXPECT_EQ(decoded.error().code, ErrorCode::kInvalidArgument) << text;
    }
}

// Found by core/messaging/envelope_fuzz (the version decoded must be the version sent): a
// schema_version beyond int wrapped around to a supported one (2^32 + 1 read as 1).
TEST(Envelope, RefusesASchemaVersionBeyondIntInsteadOfWrappingIt) {
    const std::string head =
        R"({"event_id":"e","event_type":"x","aggregate_id":"a","occurred_at":"o","trace_id":"t",)"
        R"("payload":{},"schema_version":)";
    for (const char* version :
         {"4294967297", "-4294967295", "18446744073709551617", "9223372036854775809"}) {
        const auto decoded = DecodeEnvelope(head + version + "}");
        EXPECT_FALSE(decoded.has_value()) << version << " read as " << decoded->schema_version;
    }
    EXPECT_EQ(DecodeEnvelope(head + "1}")->schema_version, 1);
}

}  // namespace
}  // namespace sagapay
