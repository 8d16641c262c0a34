#include "services/provider/provider_handler.hpp"

#include <chrono>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "runtime/event_consumer.hpp"
#include "services/provider/in_memory_provider_store.hpp"
#include "services/provider/psp_work.hpp"
#include "testing/fake_clock.hpp"
#include "testing/fake_psp_client.hpp"
#include "testing/recording_outbox.hpp"

namespace sagapay::provider {
namespace {

using namespace std::chrono_literals;
using testing::FakePspClient;

const PaymentId kPayment("00000000-0000-4000-8000-000000000001");
const std::string kKey = "auth-" + kPayment.Value();

Money Usd(std::int64_t minor) {
    return Money{minor, *Currency::Parse("USD")};
}

class ProviderHandlerTest : public ::testing::Test {
protected:
    /// A provider.authorize.requested for `payment` (1500 USD from cust-1).
    Envelope AuthorizeRequest(
        const PaymentId& payment = kPayment, bool replay = false, bool capture = false
    ) {
        AuthorizeRequested request;
        request.facts = {CustomerId("cust-1"), Usd(1500)};
        request.replay = replay;
        request.capture_on_authorize = capture;
        return NewEnvelope(request, payment, "trace-1", clock_);
    }
    /// An automatic-capture request: the provider captures right after authorizing.
    Envelope CaptureOnAuthorizeRequest() { return AuthorizeRequest(kPayment, false, true); }

    Envelope CaptureRequest(const PaymentId& payment = kPayment) {
        CaptureRequested request;
        request.facts = {CustomerId("cust-1"), Usd(1500)};
        return NewEnvelope(request, payment, "trace-1", clock_);
    }

    /// Runs one consumer's unit of work and commits it; when it throws, undoes it (store and
    /// outbox) as the database would and rethrows.
    template <class Fn>
    void UnitOfWork(Fn fn) {
        units_.Run([&](ProviderStore& store, Outbox& outbox) {
            ProviderHandler handler(deps_, store, outbox);
            fn(handler);
        });
    }

    void Authorize(const Envelope& request) {
        UnitOfWork([&](ProviderHandler& h) { h.OnAuthorizeRequested(request); });
    }
    void Capture(const Envelope& request) {
        UnitOfWork([&](ProviderHandler& h) { h.OnCaptureRequested(request); });
    }
    void Release(const PaymentId& payment = kPayment) {
        const Envelope request = NewEnvelope(
            ReleaseRequested{{CustomerId("cust-1"), Usd(1500)}, "test"}, payment, "trace-1", clock_
        );
        UnitOfWork([&](ProviderHandler& h) { h.OnReleaseRequested(request); });
    }
    /// One worker round: claim, call, record.
    int WorkDue(int limit = 16) { return PspWork(deps_, units_).WorkDue(limit); }
    /// Worker rounds until nothing is due at the clock's now.
    void WorkAllDue() {
        for (int round = 0; round < 20 && WorkDue() > 0; ++round) {
        }
    }

    /// A payment authorized on its first attempt (as "psp-auth-1"), events cleared.
    void AuthorizedPayment() {
        Authorize(AuthorizeRequest());
        ASSERT_EQ(WorkDue(), 1);
        ASSERT_EQ(store_.Get(kPayment).status, ProviderStatus::kAuthorized);
        outbox_ = testing::RecordingOutbox();
    }

    /// A payment whose attempts ran out (seed policy, the PSP never answers), events cleared.
    void TimedOutPayment() {
        psp_.SetDefaultAuthorize(FakePspClient::NoAnswer());
        Authorize(AuthorizeRequest());
        for (const auto wait : {0s, 1s, 2s, 4s}) {
            clock_.Advance(wait);
            ASSERT_EQ(WorkDue(), 1);
        }
        ASSERT_EQ(store_.Get(kPayment).status, ProviderStatus::kTimedOut);
        outbox_ = testing::RecordingOutbox();
    }

    /// The PSP refused the capture of the authorization it holds: an inquiry found it, it was
    /// voided, and the payment failed PROVIDER_CAPTURE_REFUSED with no capture announced.
    void ExpectRefusedCaptureReleasedAndFailed() const {
        EXPECT_EQ(
            Attempts(),
            (std::vector<std::string>{
                "AUTHORIZE AUTHORIZED", "CAPTURE REFUSED", "INQUIRE AUTHORIZED", "VOID VOIDED"})
        );
        EXPECT_EQ(store_.Get(kPayment).status, ProviderStatus::kVoided);
        EXPECT_EQ(outbox_.Only<PaymentFailed>().error_code, FailureCode::kCaptureRefused);
        EXPECT_TRUE(outbox_.On(CaptureCompleted::kTopic).empty());
    }

    [[nodiscard]] std::vector<std::string> Attempts() const {
        std::vector<std::string> out;
        for (const AttemptRecord& a : store_.Attempts()) {
            out.push_back(
                std::string(ToString(a.operation)) + " " + std::string(ToString(a.result))
            );
        }
        return out;
    }

    testing::FakeClock clock_;
    FakePspClient psp_;
    InMemoryProviderUnitsOfWork units_;
    InMemoryProviderStore& store_ = units_.Store();
    testing::RecordingOutbox& outbox_ = units_.Events();
    int retries_ = 0;
    int wakes_ = 0;
    std::vector<std::string> dlq_types_;
    ProviderDeps deps_{
        clock_,
        psp_,
        RetryPolicy{},
        {.retry = [this] { ++retries_; },
         .dlq_published = [this](std::string_view type) { dlq_types_.emplace_back(type); },
         .payment_due = [this] { ++wakes_; }}};
};

// --- First attempt -------------------------------------------------------------------------

TEST_F(ProviderHandlerTest, RequestIsRecordedAsDueNowAndWakesAWorkerWithoutCallingThePsp) {
    Authorize(AuthorizeRequest());

    const ProviderPayment& row = store_.Get(kPayment);
    EXPECT_EQ(row.status, ProviderStatus::kAuthorizing);
    EXPECT_EQ(row.next_attempt_at, clock_.Now());
    EXPECT_EQ(row.attempts, 0);
    EXPECT_EQ(row.authorization_key, kKey);
    EXPECT_EQ(row.customer_id, CustomerId("cust-1"));
    EXPECT_EQ(row.amount, Usd(1500));
    EXPECT_EQ(row.trace_id, "trace-1");
    ASSERT_TRUE(row.source_event.has_value());
    EXPECT_EQ(row.source_event->event_type, AuthorizeRequested::kTopic);
    EXPECT_EQ(wakes_, 1);
    EXPECT_TRUE(psp_.Calls().empty());
    EXPECT_EQ(outbox_.Size(), 0U);
}

TEST_F(ProviderHandlerTest, FirstAttemptAuthorizedEmitsAuthorizedWithItsLatency) {
    psp_.ScriptAuthorize(FakePspClient::Authorized("psp-auth-9", 35ms));
    Authorize(AuthorizeRequest());

    EXPECT_EQ(WorkDue(), 1);

    const auto calls = psp_.Calls();
    ASSERT_EQ(calls.size(), 1U);
    EXPECT_EQ(calls[0].operation, PspOperation::kAuthorize);
    EXPECT_EQ(calls[0].key, kKey);
    EXPECT_EQ(calls[0].amount, Usd(1500));
    const ProviderPayment& row = store_.Get(kPayment);
    EXPECT_EQ(row.status, ProviderStatus::kAuthorized);
    EXPECT_EQ(row.authorization_id, "psp-auth-9");
    EXPECT_EQ(row.attempts, 1);
    EXPECT_FALSE(row.next_attempt_at.has_value());
    const auto authorized = outbox_.Only<PaymentAuthorized>();
    EXPECT_EQ(authorized.attempt_number, 1);
    EXPECT_EQ(authorized.latency_ms, 35);
    EXPECT_EQ(authorized.authorization_id, "psp-auth-9");
    EXPECT_EQ(outbox_.On(PaymentAuthorized::kTopic).front().aggregate_id, kPayment.Value());
    EXPECT_EQ(outbox_.On(PaymentAuthorized::kTopic).front().trace_id, "trace-1");
    ASSERT_EQ(store_.Attempts().size(), 1U);
    const AttemptRecord& attempt = store_.Attempts().front();
    EXPECT_EQ(attempt.payment_id, kPayment);
    EXPECT_EQ(attempt.attempt_number, 1);
    EXPECT_EQ(attempt.operation, PspOperation::kAuthorize);
    EXPECT_EQ(attempt.result, AttemptResult::kAuthorized);
    EXPECT_EQ(attempt.latency, 35ms);
    EXPECT_FALSE(attempt.error_code.has_value());
    EXPECT_EQ(retries_, 0);
}

TEST_F(ProviderHandlerTest, FirstAttemptDeclinedFailsThePayment) {
    psp_.ScriptAuthorize(FakePspClient::Declined(12ms));
    Authorize(AuthorizeRequest());

    WorkDue();

    EXPECT_EQ(store_.Get(kPayment).status, ProviderStatus::kDeclined);
    // The janitor confirms later that nothing is held for it.
    EXPECT_EQ(store_.Get(kPayment).next_attempt_at, clock_.Now() + 30s);
    const auto failed = outbox_.Only<PaymentFailed>();
    EXPECT_EQ(failed.error_code, FailureCode::kProviderDecline);
    EXPECT_EQ(failed.customer_id, CustomerId("cust-1"));
    EXPECT_EQ(failed.attempt_number, 1);
    EXPECT_EQ(failed.latency_ms, 12);
    ASSERT_EQ(store_.Attempts().size(), 1U);
    EXPECT_EQ(store_.Attempts()[0].result, AttemptResult::kDeclined);
    EXPECT_EQ(store_.Attempts()[0].error_code, FailureCode::kProviderDecline);
}

TEST_F(ProviderHandlerTest, FirstAttemptUnansweredSchedulesAnInquiryAfterTheFirstBackoff) {
    psp_.ScriptAuthorize(FakePspClient::NoAnswer(2000ms));
    Authorize(AuthorizeRequest());
    const auto first = clock_.Now();

    WorkDue();

    const ProviderPayment& row = store_.Get(kPayment);
    EXPECT_EQ(row.status, ProviderStatus::kAuthorizing);
    EXPECT_EQ(row.attempts, 1);
    EXPECT_EQ(row.next_attempt_at, first + 1s);
    EXPECT_EQ(outbox_.Size(), 0U);
    EXPECT_EQ(retries_, 1);
    ASSERT_EQ(store_.Attempts().size(), 1U);
    EXPECT_EQ(store_.Attempts()[0].result, AttemptResult::kTimeout);
    EXPECT_EQ(store_.Attempts()[0].error_code, FailureCode::kProviderTimeout);
    EXPECT_EQ(store_.Attempts()[0].latency, 2000ms);
    // Not due before its time, by the injected clock.
    clock_.Advance(999ms);
    EXPECT_EQ(WorkDue(), 0);
    clock_.Advance(1ms);
    EXPECT_EQ(WorkDue(), 1);
    EXPECT_EQ(psp_.Count(PspOperation::kInquire), 1U);
}

// --- Retries: never blind -----------------------------------------------------------------

TEST_F(ProviderHandlerTest, LostResponseIsFoundByInquiryWithoutASecondAuthorization) {
    psp_.ScriptLostResponse("psp-auth-lost");
    Authorize(AuthorizeRequest());
    WorkDue();

    clock_.Advance(1s);
    WorkDue();

    EXPECT_EQ(psp_.Count(PspOperation::kAuthorize), 1U);
    EXPECT_EQ(psp_.CallsOf(PspOperation::kInquire).at(0).key, kKey);
    EXPECT_EQ(store_.Get(kPayment).status, ProviderStatus::kAuthorized);
    EXPECT_EQ(store_.Get(kPayment).authorization_id, "psp-auth-lost");
    const auto authorized = outbox_.Only<PaymentAuthorized>();
    EXPECT_EQ(authorized.attempt_number, 1);
    EXPECT_EQ(authorized.authorization_id, "psp-auth-lost");
    EXPECT_EQ(Attempts(), (std::vector<std::string>{"AUTHORIZE TIMEOUT", "INQUIRE AUTHORIZED"}));
}

TEST_F(ProviderHandlerTest, InquiryThatFindsNothingAuthorizesAgainUnderTheSameKey) {
    psp_.ScriptAuthorize(FakePspClient::NoAnswer());
    psp_.ScriptAuthorize(FakePspClient::Authorized("psp-auth-2", 20ms));
    Authorize(AuthorizeRequest());
    WorkDue();

    clock_.Advance(1s);
    WorkDue();

    const auto authorizations = psp_.CallsOf(PspOperation::kAuthorize);
    ASSERT_EQ(authorizations.size(), 2U);
    EXPECT_EQ(authorizations[1].key, kKey);
    const auto authorized = outbox_.Only<PaymentAuthorized>();
    EXPECT_EQ(authorized.attempt_number, 2);
    EXPECT_EQ(authorized.latency_ms, 20);
    EXPECT_EQ(store_.Get(kPayment).attempts, 2);
    EXPECT_EQ(retries_, 2);  // the reschedule and the second attempt
    EXPECT_EQ(
        Attempts(),
        (std::vector<std::string>{"AUTHORIZE TIMEOUT", "INQUIRE NOT_FOUND", "AUTHORIZE AUTHORIZED"})
    );
    EXPECT_EQ(store_.Attempts()[1].attempt_number, 1);
    EXPECT_EQ(store_.Attempts()[2].attempt_number, 2);
}

TEST_F(ProviderHandlerTest, InquiryThatFindsADeclineFailsThePayment) {
    psp_.ScriptAuthorize(FakePspClient::NoAnswer());
    psp_.ScriptInquire(FakePspClient::Declined(7ms));
    Authorize(AuthorizeRequest());
    WorkDue();
    clock_.Advance(1s);

    WorkDue();

    EXPECT_EQ(store_.Get(kPayment).status, ProviderStatus::kDeclined);
    EXPECT_EQ(outbox_.Only<PaymentFailed>().latency_ms, 7);
    EXPECT_EQ(psp_.Count(PspOperation::kAuthorize), 1U);
}

TEST_F(ProviderHandlerTest, UnansweredInquiryAsksAgainLater) {
    psp_.ScriptAuthorize(FakePspClient::NoAnswer());
    psp_.ScriptInquire(FakePspClient::NoAnswer());
    Authorize(AuthorizeRequest());
    WorkDue();
    clock_.Advance(1s);

    WorkDue();

    EXPECT_EQ(store_.Get(kPayment).attempts, 1);
    EXPECT_EQ(store_.Get(kPayment).next_attempt_at, clock_.Now() + 1s);
    EXPECT_EQ(psp_.Count(PspOperation::kAuthorize), 1U);
    EXPECT_EQ(store_.Attempts()[1].error_code, FailureCode::kProviderTimeout);
}

TEST_F(ProviderHandlerTest, BackoffFollowsThePolicyThenVoidsFailsAndParksAReplayableRequest) {
    psp_.SetDefaultAuthorize(FakePspClient::NoAnswer());
    const Envelope request = AuthorizeRequest();
    Authorize(request);
    const auto start = clock_.Now();

    WorkDue();  // attempt 1
    EXPECT_EQ(store_.Get(kPayment).next_attempt_at, start + 1s);
    clock_.Advance(1s);
    WorkDue();  // inquiry, attempt 2
    EXPECT_EQ(store_.Get(kPayment).next_attempt_at, start + 3s);
    clock_.Advance(2s - 1ms);
    EXPECT_EQ(WorkDue(), 0);
    clock_.Advance(1ms);
    WorkDue();  // inquiry, attempt 3
    EXPECT_EQ(store_.Get(kPayment).next_attempt_at, start + 7s);
    clock_.Advance(4s);
    ASSERT_TRUE(outbox_.Published().empty());
    WorkDue();  // final inquiry, then give up

    EXPECT_EQ(
        Attempts(),
        (std::vector<std::string>{
            "AUTHORIZE TIMEOUT",
            "INQUIRE NOT_FOUND",
            "AUTHORIZE TIMEOUT",
            "INQUIRE NOT_FOUND",
            "AUTHORIZE TIMEOUT",
            "INQUIRE NOT_FOUND",
            "VOID VOIDED"})
    );
    EXPECT_EQ(psp_.CallsOf(PspOperation::kVoid).at(0).key, kKey);
    const ProviderPayment& row = store_.Get(kPayment);
    EXPECT_EQ(row.status, ProviderStatus::kTimedOut);
    EXPECT_EQ(row.next_attempt_at, clock_.Now() + 30s);  // the janitor's first check
    const auto failed = outbox_.Only<PaymentFailed>();
    EXPECT_EQ(failed.error_code, FailureCode::kProviderTimeout);
    EXPECT_EQ(failed.attempt_number, 3);
    EXPECT_EQ(failed.customer_id, CustomerId("cust-1"));
    const auto dlq = outbox_.Only<DlqRecorded>();
    EXPECT_EQ(dlq.reason, "PROVIDER_TIMEOUT");
    EXPECT_EQ(dlq.error_type, "RETRY_EXHAUSTED");
    EXPECT_TRUE(dlq.retryable);
    EXPECT_EQ(dlq.source, "provider-adapter");
    EXPECT_EQ(dlq.source_event_id, EventId(request.event_id));
    EXPECT_EQ(dlq.replay_topic, AuthorizeRequested::kTopic);
    ASSERT_TRUE(dlq.failed_event.has_value());
    EXPECT_EQ(dlq.failed_event->event_id, request.event_id);
    EXPECT_EQ(dlq.failed_event->payload, request.payload);
    EXPECT_EQ(outbox_.On(DlqRecorded::kTopic).front().aggregate_id, kPayment.Value());
    EXPECT_EQ(dlq_types_, std::vector<std::string>{"RETRY_EXHAUSTED"});
    EXPECT_EQ(retries_, 5);  // three reschedules and two further attempts
}

TEST_F(ProviderHandlerTest, FollowsAConfiguredBackoff) {
    deps_.policy = RetryPolicy{{10ms, 20ms}};
    psp_.SetDefaultAuthorize(FakePspClient::NoAnswer());
    Authorize(AuthorizeRequest());
    const auto start = clock_.Now();

    WorkDue();
    EXPECT_EQ(store_.Get(kPayment).next_attempt_at, start + 10ms);
    clock_.Advance(10ms);
    WorkDue();
    EXPECT_EQ(store_.Get(kPayment).next_attempt_at, start + 30ms);
    clock_.Advance(20ms);
    WorkDue();

    EXPECT_EQ(store_.Get(kPayment).status, ProviderStatus::kTimedOut);
    EXPECT_EQ(psp_.Count(PspOperation::kAuthorize), 2U);
}

TEST_F(ProviderHandlerTest, UnansweredVoidIsTriedAgainLaterBeforeThePaymentFails) {
    deps_.policy = RetryPolicy{{10ms}};
    psp_.ScriptAuthorize(FakePspClient::NoAnswer());
    psp_.ScriptVoid(FakePspClient::VoidUnanswered());
    Authorize(AuthorizeRequest());
    WorkDue();
    clock_.Advance(10ms);

    EXPECT_EQ(WorkDue(), 1);  // inquiry, give up, a void without answer: nothing thrown

    EXPECT_EQ(store_.Get(kPayment).status, ProviderStatus::kAuthorizing);
    EXPECT_EQ(store_.Get(kPayment).next_attempt_at, clock_.Now() + 10ms);
    EXPECT_EQ(outbox_.Size(), 0U);
    EXPECT_TRUE(dlq_types_.empty());
    clock_.Advance(10ms);
    EXPECT_EQ(WorkDue(), 1);  // inquiry again, then a void that is answered
    EXPECT_EQ(psp_.Count(PspOperation::kVoid), 2U);
    EXPECT_EQ(store_.Get(kPayment).status, ProviderStatus::kTimedOut);
    EXPECT_EQ(outbox_.Only<PaymentFailed>().error_code, FailureCode::kProviderTimeout);
}

TEST_F(ProviderHandlerTest, GivingUpWithoutAStoredRequestStillFailsThePayment) {
    deps_.policy = RetryPolicy{{10ms}};
    psp_.SetDefaultAuthorize(FakePspClient::NoAnswer());
    Authorize(AuthorizeRequest());
    WorkDue();
    ProviderPayment row = store_.Get(kPayment);
    row.source_event.reset();  // the stored text no longer decodes
    store_.Put(row);
    clock_.Advance(10ms);

    WorkDue();

    EXPECT_EQ(outbox_.Only<PaymentFailed>().error_code, FailureCode::kProviderTimeout);
    EXPECT_TRUE(outbox_.On(DlqRecorded::kTopic).empty());
}

TEST_F(ProviderHandlerTest, WorkDueClaimsAtMostItsLimitFirstAttemptsFirst) {
    const PaymentId retry("00000000-0000-4000-8000-000000000002");
    const PaymentId second("00000000-0000-4000-8000-000000000003");
    const PaymentId third("00000000-0000-4000-8000-000000000004");
    psp_.ScriptAuthorize(FakePspClient::NoAnswer());
    Authorize(AuthorizeRequest(retry));
    WorkDue();  // `retry` waits for its inquiry
    clock_.Advance(5s);
    Authorize(AuthorizeRequest(second));
    Authorize(AuthorizeRequest(third));

    EXPECT_EQ(WorkDue(2), 2);

    EXPECT_EQ(store_.Get(second).status, ProviderStatus::kAuthorized);
    EXPECT_EQ(store_.Get(third).status, ProviderStatus::kAuthorized);
    EXPECT_EQ(store_.Get(retry).status, ProviderStatus::kAuthorizing);
    EXPECT_EQ(WorkDue(2), 1);
    EXPECT_EQ(WorkDue(2), 0);
}

// --- Requests that can never succeed --------------------------------------------------------

TEST_F(ProviderHandlerTest, UndecodableRequestFailsThePaymentAndIsParkedNonRetryable) {
    Envelope request = AuthorizeRequest();
    request.payload["currency"] = "XXX";

    Authorize(request);

    const auto dlq = outbox_.Only<DlqRecorded>();
    EXPECT_EQ(dlq.error_type, "NON_RETRYABLE");
    EXPECT_FALSE(dlq.retryable);
    EXPECT_NE(dlq.reason.find("currency"), std::string::npos) << dlq.reason;
    EXPECT_EQ(dlq.source, "provider-adapter");
    EXPECT_EQ(dlq.source_event_id, EventId(request.event_id));
    EXPECT_TRUE(dlq.replay_topic.empty());
    EXPECT_FALSE(dlq.failed_event.has_value());
    const auto failed = outbox_.Only<PaymentFailed>();
    EXPECT_EQ(failed.error_code, FailureCode::kProviderInvalidRequest);
    EXPECT_EQ(failed.attempt_number, 0);
    EXPECT_EQ(outbox_.On(PaymentFailed::kTopic).front().aggregate_id, kPayment.Value());
    EXPECT_EQ(dlq_types_, std::vector<std::string>{"NON_RETRYABLE"});
    EXPECT_EQ(store_.NextDue(), std::nullopt);
    EXPECT_EQ(wakes_, 0);
}

TEST_F(ProviderHandlerTest, RequestForAPaymentIdThatIsNotAUuidIsParked) {
    Authorize(AuthorizeRequest(PaymentId("not-a-uuid")));

    EXPECT_EQ(outbox_.Only<DlqRecorded>().reason, "invalid payment id");
    const auto failed = outbox_.Only<PaymentFailed>();
    EXPECT_EQ(failed.error_code, FailureCode::kProviderInvalidRequest);
    EXPECT_EQ(failed.customer_id, CustomerId("cust-1"));
    EXPECT_EQ(store_.NextDue(), std::nullopt);
}

// --- Repeated requests ------------------------------------------------------------------------

TEST_F(ProviderHandlerTest, RepeatedRequestForAnAuthorizedPaymentAnswersAuthorizedAgain) {
    AuthorizedPayment();

    Authorize(AuthorizeRequest());

    const auto authorized = outbox_.Only<PaymentAuthorized>();
    EXPECT_EQ(authorized.authorization_id, "psp-auth-1");
    EXPECT_EQ(authorized.attempt_number, 1);
    EXPECT_EQ(psp_.Count(PspOperation::kAuthorize), 1U);
    EXPECT_EQ(wakes_, 1);  // only the first request's
}

TEST_F(ProviderHandlerTest, RepeatedRequestForACapturedPaymentAnswersAuthorizedAgain) {
    AuthorizedPayment();
    Capture(CaptureRequest());
    outbox_ = testing::RecordingOutbox();

    Authorize(AuthorizeRequest());

    EXPECT_EQ(outbox_.Only<PaymentAuthorized>().authorization_id, "psp-auth-1");
    EXPECT_EQ(psp_.Count(PspOperation::kAuthorize), 1U);
}

TEST_F(ProviderHandlerTest, RepeatedRequestForADeclinedPaymentAnswersDeclinedAgain) {
    psp_.ScriptAuthorize(FakePspClient::Declined());
    Authorize(AuthorizeRequest());
    WorkDue();
    outbox_ = testing::RecordingOutbox();

    Authorize(AuthorizeRequest());

    const auto failed = outbox_.Only<PaymentFailed>();
    EXPECT_EQ(failed.error_code, FailureCode::kProviderDecline);
    EXPECT_EQ(failed.attempt_number, 1);
    EXPECT_EQ(psp_.Count(PspOperation::kAuthorize), 1U);
}

TEST_F(ProviderHandlerTest, RepeatedRequestForATimedOutPaymentAnswersTimedOutAgain) {
    TimedOutPayment();
    const auto calls = psp_.Calls().size();

    Authorize(AuthorizeRequest());

    const auto failed = outbox_.Only<PaymentFailed>();
    EXPECT_EQ(failed.error_code, FailureCode::kProviderTimeout);
    EXPECT_EQ(failed.attempt_number, 3);
    EXPECT_TRUE(outbox_.On(DlqRecorded::kTopic).empty());
    EXPECT_EQ(store_.Get(kPayment).status, ProviderStatus::kTimedOut);
    EXPECT_EQ(psp_.Calls().size(), calls);
}

TEST_F(ProviderHandlerTest, ReplayOfATimedOutPaymentAnswersTheTimeoutAndNeverAuthorizes) {
    // Finding 2: the saga reversed this payment when it was told of the timeout; a replayed
    // request authorizing it again would hold money for a payment the customer sees REVERSED.
    TimedOutPayment();
    clock_.Advance(1h);
    psp_.SetDefaultAuthorize(FakePspClient::Authorized("psp-auth-replayed"));

    Authorize(AuthorizeRequest(kPayment, /*replay=*/true));
    WorkAllDue();

    EXPECT_EQ(store_.Get(kPayment).status, ProviderStatus::kTimedOut);
    EXPECT_EQ(outbox_.Only<PaymentFailed>().error_code, FailureCode::kProviderTimeout);
    EXPECT_TRUE(outbox_.On(PaymentAuthorized::kTopic).empty());
    EXPECT_EQ(psp_.Count(PspOperation::kAuthorize), 3U);  // the three attempts before, no more
}

TEST_F(ProviderHandlerTest, ReplayOfAPaymentThatIsNotTimedOutIsAnsweredLikeARepeat) {
    AuthorizedPayment();

    Authorize(AuthorizeRequest(kPayment, /*replay=*/true));

    EXPECT_EQ(outbox_.Only<PaymentAuthorized>().authorization_id, "psp-auth-1");
    EXPECT_EQ(store_.Get(kPayment).status, ProviderStatus::kAuthorized);
}

TEST_F(ProviderHandlerTest, RepeatedRequestWhileAuthorizingLeavesItToTheWorker) {
    Authorize(AuthorizeRequest());

    Authorize(AuthorizeRequest());

    EXPECT_EQ(outbox_.Size(), 0U);
    EXPECT_EQ(store_.Get(kPayment).next_attempt_at, clock_.Now());
    EXPECT_EQ(wakes_, 1);
}

// --- Capture ---------------------------------------------------------------------------------

TEST_F(ProviderHandlerTest, CaptureRequestMakesTheCaptureDueAndAWorkerCapturesWithItsKey) {
    AuthorizedPayment();
    psp_.ScriptCapture({CaptureOutcome::kCaptured, 40ms});
    const int wakes = wakes_;

    Capture(CaptureRequest());

    EXPECT_EQ(psp_.Count(PspOperation::kCapture), 0U);  // the consumer never calls the PSP
    EXPECT_EQ(store_.Get(kPayment).status, ProviderStatus::kCapturing);
    EXPECT_EQ(store_.Get(kPayment).next_attempt_at, clock_.Now());
    EXPECT_EQ(wakes_, wakes + 1);
    EXPECT_EQ(WorkDue(), 1);
    const auto captures = psp_.CallsOf(PspOperation::kCapture);
    ASSERT_EQ(captures.size(), 1U);
    EXPECT_EQ(captures[0].key, kKey);
    EXPECT_EQ(captures[0].capture_key, "cap-" + kPayment.Value());
    EXPECT_EQ(store_.Get(kPayment).status, ProviderStatus::kCaptured);
    EXPECT_FALSE(store_.Get(kPayment).next_attempt_at.has_value());
    const auto completed = outbox_.Only<CaptureCompleted>();
    EXPECT_EQ(completed.authorization_id, "psp-auth-1");
    EXPECT_EQ(completed.amount, Usd(1500));
    const AttemptRecord& attempt = store_.Attempts().back();
    EXPECT_EQ(attempt.operation, PspOperation::kCapture);
    EXPECT_EQ(attempt.result, AttemptResult::kCaptured);
    EXPECT_EQ(attempt.attempt_number, 1);
    EXPECT_EQ(attempt.latency, 40ms);
    EXPECT_FALSE(attempt.error_code.has_value());
}

TEST_F(ProviderHandlerTest, CaptureOfACapturedPaymentAnswersCompletedAgainWithoutACall) {
    AuthorizedPayment();
    Capture(CaptureRequest());
    WorkDue();
    outbox_ = testing::RecordingOutbox();

    Capture(CaptureRequest());

    EXPECT_EQ(outbox_.Only<CaptureCompleted>().authorization_id, "psp-auth-1");
    EXPECT_EQ(psp_.Count(PspOperation::kCapture), 1U);
    EXPECT_EQ(WorkDue(), 0);
}

TEST_F(ProviderHandlerTest, RepeatedCaptureRequestWhileCapturingLeavesItToTheWorker) {
    AuthorizedPayment();
    Capture(CaptureRequest());

    Capture(CaptureRequest());

    EXPECT_EQ(outbox_.Size(), 0U);
    EXPECT_EQ(WorkDue(), 1);
    EXPECT_EQ(psp_.Count(PspOperation::kCapture), 1U);
}

TEST_F(ProviderHandlerTest, CaptureOfAPaymentThatIsNotAuthorizedDoesNothing) {
    Authorize(AuthorizeRequest());  // still AUTHORIZING

    Capture(CaptureRequest());

    EXPECT_EQ(outbox_.Size(), 0U);
    EXPECT_EQ(psp_.Count(PspOperation::kCapture), 0U);
    EXPECT_EQ(store_.Get(kPayment).status, ProviderStatus::kAuthorizing);
}

TEST_F(ProviderHandlerTest, CaptureOfAnUnknownPaymentIsPermanent) {
    EXPECT_THROW(Capture(CaptureRequest()), PermanentEventError);
    EXPECT_EQ(psp_.Count(PspOperation::kCapture), 0U);
}

TEST_F(ProviderHandlerTest, CaptureRequestThatDoesNotDecodeIsPermanent) {
    AuthorizedPayment();
    Envelope request = CaptureRequest();
    request.payload.erase("customer_id");

    EXPECT_THROW(Capture(request), PermanentEventError);
    EXPECT_EQ(psp_.Count(PspOperation::kCapture), 0U);
}

TEST_F(ProviderHandlerTest, RefusedCaptureVoidsWhatIsHeldAndFailsThePayment) {
    // Finding 1: a refused capture (an expired authorization, a PSP restart) used to leave the
    // payment AUTHORIZED forever.
    AuthorizedPayment();
    psp_.ScriptCapture(FakePspClient::CaptureRefused());
    Capture(CaptureRequest());

    EXPECT_EQ(WorkDue(), 1);

    ExpectRefusedCaptureReleasedAndFailed();
    // The saga, still waiting, asks again: it is told the same.
    outbox_ = testing::RecordingOutbox();
    Capture(CaptureRequest());
    EXPECT_EQ(outbox_.Only<PaymentFailed>().error_code, FailureCode::kCaptureRefused);
}

TEST_F(ProviderHandlerTest, RefusedCaptureThatThePspMadeEarlierIsACapture) {
    AuthorizedPayment();
    psp_.ScriptCapture(FakePspClient::CaptureRefused());
    psp_.ScriptInquire({PspOutcome::kCaptured, "psp-auth-1", "http 200 CAPTURED", {}});
    Capture(CaptureRequest());

    WorkDue();

    EXPECT_EQ(store_.Get(kPayment).status, ProviderStatus::kCaptured);
    EXPECT_EQ(outbox_.Only<CaptureCompleted>().amount, Usd(1500));
    EXPECT_EQ(psp_.Count(PspOperation::kVoid), 0U);
}

TEST_F(ProviderHandlerTest, RefusedCaptureOfAVoidedAuthorizationFailsWithoutAVoid) {
    AuthorizedPayment();
    psp_.ScriptCapture(FakePspClient::CaptureRefused());
    psp_.ScriptInquire(FakePspClient::VoidedAtPsp());
    Capture(CaptureRequest());

    WorkDue();

    EXPECT_EQ(store_.Get(kPayment).status, ProviderStatus::kVoided);
    EXPECT_EQ(outbox_.Only<PaymentFailed>().error_code, FailureCode::kCaptureRefused);
    EXPECT_EQ(psp_.Count(PspOperation::kVoid), 0U);
}

TEST_F(ProviderHandlerTest, CaptureWithoutAnswerIsRetriedLaterUnderTheSameCaptureKey) {
    deps_.policy = RetryPolicy{{100ms}, {30s}, 1s};
    AuthorizedPayment();
    psp_.ScriptCapture(FakePspClient::CaptureUnanswered());
    psp_.ScriptCapture(FakePspClient::CaptureUnanswered());
    Capture(CaptureRequest());

    WorkDue();
    EXPECT_EQ(store_.Get(kPayment).status, ProviderStatus::kCapturing);
    EXPECT_EQ(store_.Get(kPayment).next_attempt_at, clock_.Now() + 100ms);
    clock_.Advance(100ms);
    WorkDue();
    EXPECT_EQ(store_.Get(kPayment).next_attempt_at, clock_.Now() + 200ms);  // backing off
    clock_.Advance(200ms);
    WorkDue();

    const auto captures = psp_.CallsOf(PspOperation::kCapture);
    ASSERT_EQ(captures.size(), 3U);
    EXPECT_EQ(captures[0].capture_key, captures[2].capture_key);
    EXPECT_EQ(retries_, 2);
    EXPECT_EQ(store_.Get(kPayment).status, ProviderStatus::kCaptured);
    EXPECT_EQ(outbox_.Only<CaptureCompleted>().amount, Usd(1500));
}

// --- Automatic capture: captured by the worker that authorized ---------------------------------

TEST_F(ProviderHandlerTest, CaptureOnAuthorizeCapturesInTheSameWorkAndSaysBothTogether) {
    psp_.ScriptAuthorize(FakePspClient::Authorized("psp-auth-9", 35ms));
    psp_.ScriptCapture({CaptureOutcome::kCaptured, 40ms});
    Authorize(CaptureOnAuthorizeRequest());
    EXPECT_TRUE(store_.Get(kPayment).capture_on_authorize);

    EXPECT_EQ(WorkDue(), 1);

    EXPECT_EQ(Attempts(), (std::vector<std::string>{"AUTHORIZE AUTHORIZED", "CAPTURE CAPTURED"}));
    const auto captures = psp_.CallsOf(PspOperation::kCapture);
    ASSERT_EQ(captures.size(), 1U);
    EXPECT_EQ(captures[0].key, kKey);
    EXPECT_EQ(captures[0].capture_key, "cap-" + kPayment.Value());
    const ProviderPayment& row = store_.Get(kPayment);
    EXPECT_EQ(row.status, ProviderStatus::kCaptured);
    EXPECT_EQ(row.authorization_id, "psp-auth-9");
    EXPECT_FALSE(row.next_attempt_at.has_value());
    // One outcome, one transaction: the authorization (with the authorization's latency) and
    // the capture, so the saga may let the capture make both steps.
    const auto authorized = outbox_.Only<PaymentAuthorized>();
    EXPECT_TRUE(authorized.capture_follows);
    EXPECT_TRUE(authorized.captured);
    EXPECT_EQ(authorized.latency_ms, 35);
    EXPECT_EQ(authorized.authorization_id, "psp-auth-9");
    const auto completed = outbox_.Only<CaptureCompleted>();
    EXPECT_EQ(completed.authorization_id, "psp-auth-9");
    EXPECT_EQ(completed.amount, Usd(1500));
    EXPECT_EQ(outbox_.Size(), 2U);
    EXPECT_EQ(WorkDue(), 0);

    // A repeated authorization request is answered the same way, without a call; a capture
    // request (the sweeper's) with the capture again.
    outbox_ = testing::RecordingOutbox();
    Authorize(CaptureOnAuthorizeRequest());
    EXPECT_TRUE(outbox_.Only<PaymentAuthorized>().captured);
    EXPECT_EQ(outbox_.Only<CaptureCompleted>().amount, Usd(1500));
    outbox_ = testing::RecordingOutbox();
    Capture(CaptureRequest());
    EXPECT_EQ(outbox_.Only<CaptureCompleted>().amount, Usd(1500));
    EXPECT_EQ(psp_.Count(PspOperation::kAuthorize), 1U);
    EXPECT_EQ(psp_.Count(PspOperation::kCapture), 1U);
}

TEST_F(ProviderHandlerTest, CaptureOnAuthorizeWithoutAnswerIsAuthorizedAndCapturedLater) {
    deps_.policy = RetryPolicy{{100ms}, {30s}, 1s};
    psp_.ScriptCapture(FakePspClient::CaptureUnanswered());
    Authorize(CaptureOnAuthorizeRequest());

    EXPECT_EQ(WorkDue(), 1);

    // The saga learns of the authorization and that the capture follows: it asks for none.
    EXPECT_EQ(store_.Get(kPayment).status, ProviderStatus::kCapturing);
    EXPECT_EQ(store_.Get(kPayment).next_attempt_at, clock_.Now() + 100ms);
    const auto authorized = outbox_.Only<PaymentAuthorized>();
    EXPECT_TRUE(authorized.capture_follows);
    EXPECT_FALSE(authorized.captured);
    EXPECT_TRUE(outbox_.On(CaptureCompleted::kTopic).empty());
    // A capture request meanwhile (the sweeper's) leaves it to the worker.
    Capture(CaptureRequest());
    EXPECT_EQ(outbox_.Size(), 1U);

    outbox_ = testing::RecordingOutbox();
    clock_.Advance(100ms);
    EXPECT_EQ(WorkDue(), 1);

    const auto captures = psp_.CallsOf(PspOperation::kCapture);
    ASSERT_EQ(captures.size(), 2U);
    EXPECT_EQ(captures[0].capture_key, captures[1].capture_key);
    EXPECT_EQ(psp_.Count(PspOperation::kAuthorize), 1U);
    EXPECT_EQ(store_.Get(kPayment).status, ProviderStatus::kCaptured);
    EXPECT_EQ(outbox_.Only<CaptureCompleted>().amount, Usd(1500));
    EXPECT_TRUE(outbox_.On(PaymentAuthorized::kTopic).empty());  // said once, before
}

TEST_F(ProviderHandlerTest, CaptureOnAuthorizeRefusedReleasesAndFailsWithoutAnAuthorization) {
    psp_.ScriptCapture(FakePspClient::CaptureRefused());
    Authorize(CaptureOnAuthorizeRequest());

    EXPECT_EQ(WorkDue(), 1);

    ExpectRefusedCaptureReleasedAndFailed();
    EXPECT_EQ(outbox_.Size(), 1U);  // no payments.authorized either
}

TEST_F(ProviderHandlerTest, WithoutCaptureOnAuthorizeTheProviderOnlyAuthorizes) {
    // An older orchestrator's request (no flag): the saga asks for the capture itself.
    Authorize(AuthorizeRequest());

    EXPECT_EQ(WorkDue(), 1);

    EXPECT_EQ(store_.Get(kPayment).status, ProviderStatus::kAuthorized);
    EXPECT_EQ(psp_.Count(PspOperation::kCapture), 0U);
    const auto authorized = outbox_.Only<PaymentAuthorized>();
    EXPECT_FALSE(authorized.capture_follows);
    EXPECT_FALSE(authorized.captured);
}

TEST_F(ProviderHandlerTest, HooksMayBeLeftEmpty) {
    deps_.hooks = {};
    psp_.SetDefaultAuthorize(FakePspClient::NoAnswer());
    deps_.policy = RetryPolicy{{10ms}};
    Authorize(AuthorizeRequest());
    WorkDue();
    clock_.Advance(10ms);

    WorkDue();

    EXPECT_EQ(store_.Get(kPayment).status, ProviderStatus::kTimedOut);
}

// --- Monotonic state (finding 4) ---------------------------------------------------------

TEST_F(ProviderHandlerTest, RepeatedRequestNeverMovesACapturedPaymentBack) {
    AuthorizedPayment();
    Capture(CaptureRequest());
    WorkDue();

    Authorize(AuthorizeRequest());

    EXPECT_EQ(store_.Get(kPayment).status, ProviderStatus::kCaptured);
    EXPECT_EQ(psp_.Count(PspOperation::kAuthorize), 1U);
}

TEST(ProviderStatus, MovesOnlyForward) {
    using S = ProviderStatus;
    EXPECT_TRUE(CanMove(S::kAuthorizing, S::kAuthorized));
    EXPECT_TRUE(CanMove(S::kAuthorized, S::kCapturing));
    EXPECT_TRUE(CanMove(S::kCapturing, S::kCaptured));
    EXPECT_TRUE(CanMove(S::kCaptured, S::kRefunded));
    EXPECT_TRUE(CanMove(S::kCapturing, S::kVoided));
    EXPECT_TRUE(CanMove(S::kAuthorizing, S::kCaptured));  // captured on authorization
    EXPECT_TRUE(CanMove(S::kAuthorizing, S::kCapturing));
    EXPECT_FALSE(CanMove(S::kCaptured, S::kCapturing));
    EXPECT_FALSE(CanMove(S::kCaptured, S::kAuthorized));
    EXPECT_FALSE(CanMove(S::kCapturing, S::kAuthorized));
    EXPECT_FALSE(CanMove(S::kTimedOut, S::kAuthorizing));
    EXPECT_FALSE(CanMove(S::kVoided, S::kCapturing));
    EXPECT_FALSE(CanMove(S::kDeclined, S::kAuthorized));
}

// --- Claim, commit, call, record (finding 3) --------------------------------------------------

/// Calls `during` before each call reaches the fake PSP: what else happens while a worker waits.
class DuringCalls final : public PspClient {
public:
    DuringCalls(FakePspClient& psp, std::function<void(PspOperation)> during)
        : psp_(psp), during_(std::move(during)) {}

    PspAnswer Authorize(const AuthorizeCall& call) override {
        during_(PspOperation::kAuthorize);
        return psp_.Authorize(call);
    }
    PspAnswer Inquire(const std::string& key) override {
        during_(PspOperation::kInquire);
        return psp_.Inquire(key);
    }
    CaptureAnswer Capture(
        const std::string& key, const std::string& capture_key, std::int64_t amount_minor
    ) override {
        during_(PspOperation::kCapture);
        return psp_.Capture(key, capture_key, amount_minor);
    }
    VoidAnswer Void(const std::string& key) override {
        during_(PspOperation::kVoid);
        return psp_.Void(key);
    }
    RefundAnswer Refund(
        const std::string& key, const std::string& refund_key, std::int64_t amount_minor
    ) override {
        during_(PspOperation::kRefund);
        return psp_.Refund(key, refund_key, amount_minor);
    }
    RefundAnswer InquireRefund(const std::string& key, const std::string& refund_key) override {
        during_(PspOperation::kInquireRefund);
        return psp_.InquireRefund(key, refund_key);
    }

private:
    FakePspClient& psp_;
    std::function<void(PspOperation)> during_;
};

TEST_F(ProviderHandlerTest, NoUnitOfWorkIsOpenWhileThePspIsCalled) {
    int calls = 0;
    DuringCalls psp(psp_, [&](PspOperation) {
        ++calls;
        EXPECT_FALSE(units_.Open()) << "a transaction is held across a PSP call";
    });
    const ProviderDeps deps{clock_, psp, RetryPolicy{{10ms}}, {}};
    psp_.ScriptAuthorize(FakePspClient::NoAnswer());
    Authorize(AuthorizeRequest());
    PspWork(deps, units_).WorkDue(16);
    clock_.Advance(10ms);
    PspWork(deps, units_).WorkDue(16);  // inquiry, give up, void

    EXPECT_EQ(calls, 3);
    EXPECT_EQ(store_.Get(kPayment).status, ProviderStatus::kTimedOut);
}

TEST_F(ProviderHandlerTest, AnUnansweredVoidDoesNotUndoAnotherPaymentsAuthorization) {
    const PaymentId other("00000000-0000-4000-8000-000000000002");
    deps_.policy = RetryPolicy{{10ms}};
    psp_.ScriptAuthorize(FakePspClient::NoAnswer());
    Authorize(AuthorizeRequest());
    WorkDue();
    clock_.Advance(10ms);
    Authorize(AuthorizeRequest(other));
    psp_.ScriptVoid(FakePspClient::VoidUnanswered());

    EXPECT_EQ(WorkDue(), 2);

    EXPECT_EQ(store_.Get(other).status, ProviderStatus::kAuthorized);
    EXPECT_EQ(outbox_.On(PaymentAuthorized::kTopic).size(), 1U);
    EXPECT_EQ(store_.Get(kPayment).status, ProviderStatus::kAuthorizing);
}

TEST_F(ProviderHandlerTest, APaymentWhoseRecordFailsDoesNotUndoTheOthersOutcomes) {
    const PaymentId other("00000000-0000-4000-8000-000000000002");
    Authorize(AuthorizeRequest());
    Authorize(AuthorizeRequest(other));
    store_.FailSavesOf(kPayment);

    EXPECT_EQ(WorkDue(), 2);

    EXPECT_EQ(store_.Get(other).status, ProviderStatus::kAuthorized);
    EXPECT_EQ(outbox_.Only<PaymentAuthorized>().authorization_id, "psp-auth-1");
    // The failed one stays claimed until its lease ends, then is worked again (same key).
    EXPECT_EQ(store_.Get(kPayment).status, ProviderStatus::kAuthorizing);
    EXPECT_EQ(store_.Get(kPayment).next_attempt_at, clock_.Now() + deps_.lease);  // claimed 1st
    store_.FailSavesOf(PaymentId());
    clock_.Advance(deps_.lease);
    EXPECT_EQ(WorkDue(), 1);
    EXPECT_EQ(store_.Get(kPayment).status, ProviderStatus::kAuthorized);
}

TEST_F(ProviderHandlerTest, AWorkerThatDiesAfterItsClaimLeavesThePaymentDueWhenTheLeaseEnds) {
    Authorize(AuthorizeRequest());
    units_.Run([&](ProviderStore& store, Outbox&) {
        (void)store.ClaimDue(clock_.Now(), 16, deps_.lease);
    });  // claimed, then the worker died

    EXPECT_EQ(WorkDue(), 0);
    clock_.Advance(deps_.lease);
    EXPECT_EQ(WorkDue(), 1);
    EXPECT_EQ(store_.Get(kPayment).status, ProviderStatus::kAuthorized);
}

TEST_F(ProviderHandlerTest, EachPaymentOfABatchIsLeasedForItsTurn) {
    const PaymentId second("00000000-0000-4000-8000-000000000002");
    Authorize(AuthorizeRequest());
    Authorize(AuthorizeRequest(second));
    units_.Run([&](ProviderStore& store, Outbox&) {
        const auto claimed = store.ClaimDue(clock_.Now(), 16, 8s);
        ASSERT_EQ(claimed.size(), 2U);
        EXPECT_EQ(claimed[0].payment_id, kPayment);
    });

    EXPECT_EQ(store_.Get(kPayment).next_attempt_at, clock_.Now() + 8s);
    EXPECT_EQ(store_.Get(second).next_attempt_at, clock_.Now() + 16s);
}

TEST_F(ProviderHandlerTest, AnOutcomeIsNotRecordedOverAWriteMadeWhileThePspWasCalled) {
    AuthorizedPayment();
    Capture(CaptureRequest());
    bool released = false;
    DuringCalls psp(psp_, [&](PspOperation operation) {
        if (operation == PspOperation::kCapture && !released) {
            released = true;
            Release();  // the saga ended the payment meanwhile
        }
    });
    const ProviderDeps deps{clock_, psp, RetryPolicy{}, {}};

    PspWork(deps, units_).WorkDue(16);

    EXPECT_EQ(store_.Get(kPayment).status, ProviderStatus::kVoided);
    EXPECT_TRUE(outbox_.On(CaptureCompleted::kTopic).empty());
    // The janitor's check, due now, finds the capture and refunds it.
    PspWork(deps, units_).WorkDue(16);
    EXPECT_EQ(psp_.Count(PspOperation::kRefund), 1U);
}

// --- The janitor (finding 11) and release requests (finding 2) --------------------------------

TEST_F(ProviderHandlerTest, JanitorVoidsALateAuthorizationOfATimedOutPayment) {
    TimedOutPayment();
    psp_.ProcessLate(kKey);  // the PSP processed the first attempt after all

    clock_.Advance(30s);
    EXPECT_EQ(WorkDue(), 1);

    const auto voids = psp_.CallsOf(PspOperation::kVoid);
    ASSERT_EQ(voids.size(), 2U);  // the give-up's, then the janitor's
    EXPECT_EQ(psp_.Inquire(kKey).outcome, PspOutcome::kVoided);
    EXPECT_EQ(store_.Get(kPayment).status, ProviderStatus::kTimedOut);
    EXPECT_EQ(store_.Get(kPayment).checks, 1);
    EXPECT_EQ(store_.Get(kPayment).next_attempt_at, clock_.Now() + 5min);
    EXPECT_EQ(outbox_.Size(), 0U);  // the saga was told once; the janitor only releases
}

TEST_F(ProviderHandlerTest, JanitorRefundsACaptureFoundForAFailedPayment) {
    psp_.ScriptAuthorize(FakePspClient::Declined());
    Authorize(AuthorizeRequest());
    WorkDue();
    psp_.ScriptInquire({PspOutcome::kCaptured, "psp-auth-1", "http 200 CAPTURED", {}});

    clock_.Advance(30s);
    WorkDue();

    const auto refunds = psp_.CallsOf(PspOperation::kRefund);
    ASSERT_EQ(refunds.size(), 1U);
    EXPECT_EQ(refunds[0].capture_key, "refund-" + kPayment.Value());
    EXPECT_EQ(Attempts().back(), "REFUND REFUNDED");
}

TEST_F(ProviderHandlerTest, JanitorChecksOnItsScheduleThenStops) {
    deps_.policy.janitor_checks = {30s, 5min};
    psp_.ScriptAuthorize(FakePspClient::Declined());
    Authorize(AuthorizeRequest());
    WorkDue();

    clock_.Advance(30s);
    EXPECT_EQ(WorkDue(), 1);
    clock_.Advance(5min);
    EXPECT_EQ(WorkDue(), 1);

    EXPECT_FALSE(store_.Get(kPayment).next_attempt_at.has_value());
    EXPECT_EQ(psp_.Count(PspOperation::kInquire), 2U);
    EXPECT_EQ(psp_.Count(PspOperation::kVoid), 0U);
}

TEST_F(ProviderHandlerTest, JanitorKeepsTryingAVoidThatGetsNoAnswer) {
    TimedOutPayment();
    psp_.ProcessLate(kKey);
    psp_.ScriptVoid(FakePspClient::VoidUnanswered());

    clock_.Advance(30s);
    WorkDue();
    EXPECT_EQ(store_.Get(kPayment).retries, 1);
    clock_.Advance(1s);
    WorkDue();

    EXPECT_EQ(psp_.Inquire(kKey).outcome, PspOutcome::kVoided);
    EXPECT_EQ(store_.Get(kPayment).retries, 0);
}

TEST_F(ProviderHandlerTest, ReleaseOfAnAuthorizedPaymentVoidsIt) {
    AuthorizedPayment();

    Release();
    WorkDue();

    EXPECT_EQ(store_.Get(kPayment).status, ProviderStatus::kVoided);
    EXPECT_EQ(psp_.Inquire(kKey).outcome, PspOutcome::kVoided);
    EXPECT_EQ(outbox_.Size(), 0U);
}

TEST_F(ProviderHandlerTest, ReleaseOfACapturedPaymentRefundsIt) {
    AuthorizedPayment();
    Capture(CaptureRequest());
    WorkDue();

    Release();
    WorkDue();

    EXPECT_EQ(store_.Get(kPayment).status, ProviderStatus::kRefunded);
    EXPECT_EQ(psp_.Inquire(kKey).outcome, PspOutcome::kRefunded);
}

TEST_F(ProviderHandlerTest, ReleaseOfAPaymentThePspNeverSawDoesNothing) {
    Release();

    EXPECT_EQ(outbox_.Size(), 0U);
    EXPECT_EQ(WorkDue(), 0);
}

}  // namespace
}  // namespace sagapay::provider
