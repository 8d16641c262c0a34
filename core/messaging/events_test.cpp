#include "core/messaging/events.hpp"

#include <gtest/gtest.h>

#include "testing/fake_clock.hpp"

namespace sagapay {
namespace {

const Currency kUsd = *Currency::Parse("USD");
const PaymentId kPayment{"0b6c1a52-7a4e-4a57-9d6f-6b1f1d2c3e4f"};

PaymentFacts Facts() {
    return PaymentFacts{CustomerId("cust-1"), Money{1500, kUsd}};
}

/// Encodes `event` into an envelope as a publisher would, then decodes it as a consumer would.
template <class T>
T RoundTrip(const T& event) {
    const testing::FakeClock clock;
    const Envelope sent = NewEnvelope(event, kPayment, "trace-1", clock);
    EXPECT_EQ(sent.event_type, T::kTopic);
    EXPECT_EQ(sent.aggregate_id, kPayment.Value());
    EXPECT_EQ(sent.trace_id, "trace-1");
    auto wire = DecodeEnvelope(EncodeEnvelope(sent));
    EXPECT_TRUE(wire.has_value());
    auto decoded = DecodeEvent<T>(*wire);
    EXPECT_TRUE(decoded.has_value()) << (decoded ? "" : decoded.error().message);
    return decoded ? *decoded : T{};
}

Envelope WithPayload(std::string_view topic, nlohmann::json payload) {
    Envelope envelope;
    envelope.event_id = "e-1";
    envelope.event_type = std::string(topic);
    envelope.aggregate_id = kPayment.Value();
    envelope.payload = std::move(payload);
    return envelope;
}

TEST(Events, EveryEventSurvivesTheWire) {
    EXPECT_EQ(RoundTrip(PaymentRequested{Facts(), true}).facts, Facts());
    EXPECT_TRUE(RoundTrip(PaymentRequested{Facts(), true}).replay);

    RiskApproved approved;
    approved.decision = Verdict::kApprove;
    approved.reason = "manual_approve";
    approved.customer_id = CustomerId("cust-1");
    approved.review = ManualReview{"alice", "2026-01-01T00:00:00.000000+00:00", "APPROVED"};
    const RiskApproved approved_back = RoundTrip(approved);
    EXPECT_EQ(approved_back.decision, Verdict::kApprove);
    EXPECT_EQ(approved_back.reason, "manual_approve");
    ASSERT_TRUE(approved_back.review.has_value());
    EXPECT_EQ(approved_back.review->reviewed_by, "alice");
    EXPECT_EQ(approved_back.review->review_status, "APPROVED");

    RiskDenied review;
    review.decision = Verdict::kReview;
    review.reason = "high_amount";
    review.customer_id = CustomerId("cust-1");
    const RiskDenied review_back = RoundTrip(review);
    EXPECT_EQ(review_back.decision, Verdict::kReview);
    EXPECT_FALSE(review_back.review.has_value());

    EXPECT_EQ(RoundTrip(AuthorizeRequested{Facts(), false}).facts, Facts());
    const auto authorized = RoundTrip(PaymentAuthorized{2, 37, "auth-9"});
    EXPECT_EQ(authorized.attempt_number, 2);
    EXPECT_EQ(authorized.latency_ms, 37);
    EXPECT_EQ(authorized.authorization_id, "auth-9");
    EXPECT_FALSE(authorized.capture_follows);
    EXPECT_FALSE(authorized.captured);
    EXPECT_FALSE(RoundTrip(AuthorizeRequested{Facts(), false}).capture_on_authorize);
    EXPECT_TRUE(RoundTrip(AuthorizeRequested{Facts(), false, true}).capture_on_authorize);
    const auto captured_too = RoundTrip(PaymentAuthorized{1, 3, "auth-9", true, true});
    EXPECT_TRUE(captured_too.capture_follows);
    EXPECT_TRUE(captured_too.captured);
    EXPECT_EQ(RoundTrip(CaptureRequested{Facts(), "auth-9"}).authorization_id, "auth-9");
    EXPECT_EQ(RoundTrip(CaptureCompleted{"auth-9", Money{1500, kUsd}}).amount, (Money{1500, kUsd}));
    EXPECT_EQ(RoundTrip(PaymentCaptured{Facts()}).facts, Facts());
    EXPECT_EQ(RoundTrip(PaymentSettled{"tx-1", Money{1500, kUsd}}).transaction_id, "tx-1");
    const auto reversed = RoundTrip(PaymentReversed{"compensation", EventId("e-0"), Facts()});
    EXPECT_EQ(reversed.source_event_id, EventId("e-0"));
    EXPECT_EQ(reversed.facts, Facts());
    const auto release = RoundTrip(ReleaseRequested{Facts(), "late authorization"});
    EXPECT_EQ(release.facts, Facts());
    EXPECT_EQ(release.reason, "late authorization");
}

TEST(Events, FailuresKeepTheirCodeAndWhoSentThem) {
    PaymentFailed provider;
    provider.error_code = FailureCode::kProviderTimeout;
    provider.customer_id = CustomerId("cust-1");
    provider.attempt_number = 3;
    provider.latency_ms = 2000;
    const auto provider_back = RoundTrip(provider);
    EXPECT_EQ(provider_back.error_code, FailureCode::kProviderTimeout);
    EXPECT_EQ(provider_back.attempt_number, 3);
    EXPECT_EQ(provider_back.latency_ms, 2000);
    EXPECT_FALSE(provider_back.from_orchestrator);
    EXPECT_FALSE(provider_back.amount.has_value());

    PaymentFailed saga;
    saga.error_code = FailureCode::kRiskDenied;
    saga.reason = "high_frequency";
    saga.amount = Money{1500, kUsd};
    saga.from_orchestrator = true;
    const auto saga_back = RoundTrip(saga);
    EXPECT_TRUE(saga_back.from_orchestrator);
    EXPECT_EQ(saga_back.reason, "high_frequency");
    ASSERT_TRUE(saga_back.amount.has_value());
    EXPECT_EQ(*saga_back.amount, (Money{1500, kUsd}));

    // A code this build does not know is kept as text and sent on unchanged.
    const auto unknown = DecodeEvent<PaymentFailed>(
        WithPayload(topics::kPaymentsFailed, {{"error_code", "NEW_CODE"}})
    );
    ASSERT_TRUE(unknown.has_value());
    EXPECT_EQ(unknown->error_code, FailureCode::kUnknown);
    EXPECT_EQ(EncodePayload(*unknown)["error_code"], "NEW_CODE");
}

TEST(Events, DlqRecordCarriesTheReplayableEvent) {
    const testing::FakeClock clock;
    DlqRecorded record;
    record.reason = "PROVIDER_TIMEOUT";
    record.error_type = "RETRY_EXHAUSTED";
    record.retryable = true;
    record.source = "provider-adapter";
    record.source_event_id = EventId("e-0");
    record.replay_topic = std::string(topics::kProviderAuthorizeRequested);
    record.failed_event = NewEnvelope(AuthorizeRequested{Facts(), false}, kPayment, "t", clock);
    const auto back = RoundTrip(record);
    EXPECT_TRUE(back.retryable);
    EXPECT_EQ(back.replay_topic, topics::kProviderAuthorizeRequested);
    ASSERT_TRUE(back.failed_event.has_value());
    EXPECT_EQ(back.failed_event->event_id, record.failed_event->event_id);
    EXPECT_EQ(DecodeEvent<AuthorizeRequested>(*back.failed_event)->facts, Facts());

    const auto broken = DecodeEvent<DlqRecorded>(
        WithPayload(topics::kPaymentsDlq, {{"reason", "x"}, {"failed_event", {{"event_id", 1}}}})
    );
    ASSERT_FALSE(broken.has_value());
    EXPECT_NE(broken.error().message.find("failed_event"), std::string::npos);
}

TEST(Events, AMissingOrMistypedFieldIsAPermanentErrorNamingTheField) {
    struct Case {
        std::string_view topic;
        nlohmann::json payload;
        std::string field;
    };
    const std::vector<Case> cases = {
        {topics::kPaymentsRequested, {{"amount_cents", 1}, {"currency", "USD"}}, "customer_id"},
        {topics::kPaymentsRequested,
         {{"customer_id", "c"}, {"amount_cents", "1"}, {"currency", "USD"}},
         "amount_cents"},
        {topics::kPaymentsRequested,
         {{"customer_id", "c"}, {"amount_cents", 0}, {"currency", "USD"}},
         "amount_cents"},
        {topics::kPaymentsRequested,
         {{"customer_id", "c"}, {"amount_cents", 18446744073709551615ULL}, {"currency", "USD"}},
         "amount_cents"},
        {topics::kPaymentsRequested,
         {{"customer_id", "c"}, {"amount_cents", 1}, {"currency", "XXX"}},
         "currency"},
        {topics::kPaymentsRequested,
         {{"customer_id", "c"}, {"amount_cents", 1}, {"currency", "USD"}, {"replay", "yes"}},
         "replay"},
        {topics::kProviderAuthorizeRequested,
         {{"customer_id", "c"},
          {"amount_cents", 1},
          {"currency", "USD"},
          {"capture_on_authorize", 1}},
         "capture_on_authorize"},
        {topics::kPaymentsAuthorized, {{"captured", "yes"}}, "captured"},
        {topics::kRiskApproved, {{"reason", "x"}}, "decision"},
        {topics::kRiskDenied, {{"decision", "MAYBE"}}, "decision"},
        {topics::kRiskDenied, {{"decision", "DENY"}, {"reason", 7}}, "reason"},
        {topics::kPaymentsAuthorized, {{"attempt_number", "one"}}, "attempt_number"},
        // Found by core/messaging/envelope_fuzz: beyond int, attempt_number wrapped (2^32 + 2
        // read as attempt 2) instead of being refused.
        {topics::kPaymentsAuthorized, {{"attempt_number", 4294967298LL}}, "attempt_number"},
        {topics::kPaymentsFailed,
         {{"error_code", "PROVIDER_DECLINE"}, {"attempt_number", -4294967295LL}},
         "attempt_number"},
        {topics::kProviderCaptureCompleted, {{"authorization_id", "a"}}, "amount_cents"},
        {topics::kPaymentsSettled, {{"amount_cents", 5}}, "currency"},
        {topics::kPaymentsDlq, {{"error_type", "X"}}, "reason"},
    };
    for (const auto& c : cases) {
        const auto decoded = DecodeSagaEvent(WithPayload(c.topic, c.payload));
        ASSERT_FALSE(decoded.has_value()) << c.topic << " " << c.payload.dump();
        EXPECT_EQ(decoded.error().code, ErrorCode::kInvalidArgument);
        EXPECT_NE(decoded.error().message.find("'" + c.field + "'"), std::string::npos)
            << decoded.error().message;
    }
}

TEST(Events, UnknownTopicsAndTheWrongTypeAreRefused) {
    const auto unknown = DecodeSagaEvent(WithPayload("payments.unknown", nlohmann::json::object()));
    ASSERT_FALSE(unknown.has_value());
    EXPECT_EQ(unknown.error().code, ErrorCode::kInvalidArgument);

    const auto wrong = DecodeEvent<PaymentCaptured>(
        WithPayload(topics::kPaymentsSettled, {{"amount_cents", 5}, {"currency", "USD"}})
    );
    ASSERT_FALSE(wrong.has_value());
    EXPECT_NE(wrong.error().message.find("expected a payments.captured"), std::string::npos);
}

TEST(Events, VerdictsAndFailureCodesHaveTheSeedsNames) {
    for (const Verdict v : {Verdict::kApprove, Verdict::kReview, Verdict::kDeny}) {
        EXPECT_EQ(ParseVerdict(ToString(v)), v);
    }
    EXPECT_FALSE(ParseVerdict("approve").has_value());
    for (const FailureCode code :
         {FailureCode::kRiskDenied,
          FailureCode::kManualDeny,
          FailureCode::kProviderDecline,
          FailureCode::kProviderTimeout,
          FailureCode::kProviderInvalidRequest,
          FailureCode::kCaptureRefused}) {
        EXPECT_EQ(ParseFailureCode(ToString(code)), code);
    }
    EXPECT_EQ(ToString(FailureCode::kProviderTimeout), "PROVIDER_TIMEOUT");
    EXPECT_EQ(ToString(FailureCode::kUnknown), "UNKNOWN");
    EXPECT_EQ(ParseFailureCode("whatever"), FailureCode::kUnknown);
}

TEST(StrongId, ComparesHashesAndPrintsItsText) {
    const PaymentId a("a");
    const PaymentId b("b");
    EXPECT_LT(a, b);
    EXPECT_EQ(a, PaymentId(std::string("a")));
    EXPECT_EQ(std::hash<PaymentId>{}(a), std::hash<std::string>{}("a"));
    EXPECT_TRUE(PaymentId().Empty());
    std::ostringstream out;
    out << a;
    EXPECT_EQ(out.str(), "a");
}

}  // namespace
}  // namespace sagapay
