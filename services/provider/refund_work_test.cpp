// Refunds at the provider: the consumer records them, the workers call the PSP outside any
// transaction and tell the saga what came of each.
#include "services/provider/refund_work.hpp"

#include <gtest/gtest.h>

#include "services/provider/in_memory_provider_store.hpp"
#include "services/provider/psp_work.hpp"
#include "testing/fake_clock.hpp"
#include "testing/fake_psp_client.hpp"

namespace sagapay::provider {
namespace {

using namespace std::chrono_literals;
using testing::FakePspClient;

const PaymentId kPayment{"0b6c1a52-7a4e-4a57-9d6f-6b1f1d2c3e4f"};
const std::string kRefund = "5e0c2f4a-9b1d-4c3e-8f7a-112233445566";
const Money kUsd900{900, *Currency::Parse("USD")};

TEST(RefundActions, AskBeforeRepeatingAndNeverGiveUpOnAnUnknownOutcome) {
    EXPECT_EQ(AfterRefundCall(RefundOutcome::kRefunded), RefundAction::kSucceeded);
    EXPECT_EQ(AfterRefundCall(RefundOutcome::kRefused), RefundAction::kFailed);
    EXPECT_EQ(AfterRefundCall(RefundOutcome::kUnknown), RefundAction::kRetryLater);
    EXPECT_EQ(AfterRefundInquiry(RefundOutcome::kRefunded), RefundAction::kSucceeded);
    EXPECT_EQ(AfterRefundInquiry(RefundOutcome::kNotFound), RefundAction::kSend);
    EXPECT_EQ(AfterRefundInquiry(RefundOutcome::kUnknown), RefundAction::kRetryLater);
}

class RefundWorkTest : public ::testing::Test {
protected:
    void SetUp() override {
        // A payment authorized and captured (900 of 1500) at the PSP and at the provider.
        psp_.Authorize({"auth-1", kPayment, CustomerId("c-1"), Money{1500, kUsd900.currency}});
        psp_.Capture("auth-1", "cap-1", 900);
        ProviderPayment payment;
        payment.payment_id = kPayment;
        payment.customer_id = CustomerId("c-1");
        payment.amount = Money{1500, kUsd900.currency};
        payment.status = ProviderStatus::kCaptured;
        payment.authorization_key = "auth-1";
        payment.capture_amount_minor = 900;
        store_.Put(payment);
    }

    void Request(const std::string& refund_id, Money amount) {
        units_.Run([&](ProviderStore& store, Outbox& outbox) {
            ProviderHandler(deps_, store, outbox)
                .OnRefundRequested(NewEnvelope(
                    RefundRequested{refund_id, amount, CustomerId("c-1"), "duplicate"},
                    kPayment,
                    "trace-r",
                    clock_
                ));
        });
    }

    int Work() { return RefundWork(deps_, units_).WorkDue(16); }

    std::vector<RefundCompleted> Told() {
        std::vector<RefundCompleted> told;
        for (const Envelope& e : outbox_.On(RefundCompleted::kTopic)) {
            told.push_back(*DecodeEvent<RefundCompleted>(e));
        }
        return told;
    }

    testing::FakeClock clock_;
    FakePspClient psp_;
    InMemoryProviderUnitsOfWork units_;
    InMemoryProviderStore& store_ = units_.Store();
    testing::RecordingOutbox& outbox_ = units_.Events();
    int retries_ = 0;
    int wakes_ = 0;
    ProviderDeps deps_{
        clock_,
        psp_,
        RetryPolicy{},
        {.retry = [this] { ++retries_; },
         .dlq_published = {},
         .payment_due = [this] { ++wakes_; }}};
};

TEST_F(RefundWorkTest, ARefundIsRecordedOnceAndRefundedOutsideTheConsumer) {
    Request(kRefund, Money{400, kUsd900.currency});
    Request(kRefund, Money{400, kUsd900.currency});    // a redelivery
    EXPECT_EQ(psp_.Count(PspOperation::kRefund), 0U);  // the consumer calls no PSP
    EXPECT_EQ(wakes_, 1);

    EXPECT_EQ(Work(), 1);
    const auto calls = psp_.CallsOf(PspOperation::kRefund);
    ASSERT_EQ(calls.size(), 1U);
    EXPECT_EQ(calls[0].key, "auth-1");
    EXPECT_EQ(calls[0].amount_minor, 400);
    EXPECT_EQ(psp_.RefundedMinor("auth-1"), 400);
    ASSERT_EQ(Told().size(), 1U);
    EXPECT_TRUE(Told()[0].succeeded);
    EXPECT_EQ(Told()[0].amount.amount_minor, 400);
    EXPECT_EQ(store_.GetRefund(kRefund).status, RefundState::kSucceeded);
    EXPECT_EQ(Work(), 0);  // nothing due any more

    // A request repeated after the end is answered again (its answer may have been lost).
    Request(kRefund, Money{400, kUsd900.currency});
    EXPECT_EQ(Told().size(), 2U);
    EXPECT_EQ(psp_.Count(PspOperation::kRefund), 1U);
}

TEST_F(RefundWorkTest, AnUnansweredRefundIsAskedAboutThenRetriedUnderTheSameKey) {
    Request(kRefund, Money{400, kUsd900.currency});
    psp_.ScriptRefund(FakePspClient::RefundUnanswered());
    EXPECT_EQ(Work(), 1);
    EXPECT_TRUE(Told().empty());
    EXPECT_EQ(retries_, 1);
    EXPECT_EQ(Work(), 0);  // not due before its backoff

    clock_.Advance(2min);
    EXPECT_EQ(Work(), 1);
    // Asked first (never processed), then sent again under the same refund key.
    ASSERT_EQ(psp_.Count(PspOperation::kInquireRefund), 1U);
    const auto refunds = psp_.CallsOf(PspOperation::kRefund);
    ASSERT_EQ(refunds.size(), 2U);
    EXPECT_EQ(refunds[0].capture_key, refunds[1].capture_key);  // the refund key
    EXPECT_EQ(psp_.RefundedMinor("auth-1"), 400);
    ASSERT_EQ(Told().size(), 1U);
    EXPECT_TRUE(Told()[0].succeeded);
}

TEST_F(RefundWorkTest, ARefundProcessedButUnansweredIsFoundByTheInquiryAndNotRepeated) {
    Request(kRefund, Money{400, kUsd900.currency});
    psp_.ScriptRefund(FakePspClient::RefundUnanswered());
    Work();
    psp_.ScriptInquireRefund(FakePspClient::Refunded());  // it was made after all
    clock_.Advance(2min);
    Work();
    EXPECT_EQ(psp_.Count(PspOperation::kRefund), 1U);
    ASSERT_EQ(Told().size(), 1U);
    EXPECT_TRUE(Told()[0].succeeded);
}

TEST_F(RefundWorkTest, ARefundThePspRefusesFailsAndIsTold) {
    Request(kRefund, Money{901, kUsd900.currency});  // more than the 900 captured
    Work();
    ASSERT_EQ(Told().size(), 1U);
    EXPECT_FALSE(Told()[0].succeeded);
    EXPECT_EQ(Told()[0].failure_reason, "refused_by_psp");
    EXPECT_EQ(store_.GetRefund(kRefund).status, RefundState::kFailed);
    EXPECT_EQ(psp_.RefundedMinor("auth-1"), 0);
}

TEST_F(RefundWorkTest, ARefundOfAPaymentNotCapturedFailsAtOnce) {
    ProviderPayment authorized = store_.Get(kPayment);
    authorized.status = ProviderStatus::kAuthorized;
    store_.Put(authorized);
    Request(kRefund, Money{100, kUsd900.currency});
    ASSERT_EQ(Told().size(), 1U);
    EXPECT_FALSE(Told()[0].succeeded);
    EXPECT_EQ(Told()[0].failure_reason, "payment_not_captured");
    EXPECT_EQ(Work(), 0);
}

TEST_F(RefundWorkTest, APartialCaptureAsksThePspForItsAmountAndReportsIt) {
    ProviderPayment authorized = store_.Get(kPayment);
    authorized.status = ProviderStatus::kAuthorized;
    authorized.capture_amount_minor = 0;
    authorized.authorization_key = "auth-2";
    store_.Put(authorized);
    psp_.Authorize({"auth-2", kPayment, CustomerId("c-1"), Money{1500, kUsd900.currency}});
    units_.Run([&](ProviderStore& store, Outbox& outbox) {
        CaptureRequested request{{CustomerId("c-1"), Money{1500, kUsd900.currency}}, "", 900};
        ProviderHandler(deps_, store, outbox)
            .OnCaptureRequested(NewEnvelope(request, kPayment, "trace-c", clock_));
    });
    EXPECT_EQ(store_.Get(kPayment).capture_amount_minor, 900);

    EXPECT_EQ(PspWork(deps_, units_).WorkDue(16), 1);
    const auto captures = psp_.CallsOf(PspOperation::kCapture);
    ASSERT_EQ(captures.size(), 2U);  // SetUp's, then this one
    EXPECT_EQ(captures[1].key, "auth-2");
    EXPECT_EQ(captures[1].amount_minor, 900);
    EXPECT_EQ(psp_.CapturedMinor("auth-2"), 900);
    EXPECT_EQ(outbox_.Only<CaptureCompleted>().amount.amount_minor, 900);
}

}  // namespace
}  // namespace sagapay::provider
