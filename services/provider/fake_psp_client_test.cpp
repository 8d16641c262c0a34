// The PSP test double (testing/fake_psp_client.hpp) that the provider's tests rely on.
#include "testing/fake_psp_client.hpp"

#include <gtest/gtest.h>

namespace sagapay::testing {
namespace {

using namespace std::chrono_literals;

AuthorizeCall Call(std::string key) {
    return {
        std::move(key), PaymentId("p-1"), CustomerId("c-1"), Money{100, *Currency::Parse("EUR")}};
}

TEST(FakePspClient, AnswersScriptedAnswersInOrderThenTheDefault) {
    FakePspClient psp;
    psp.ScriptAuthorize(FakePspClient::Declined());
    psp.ScriptAuthorize(FakePspClient::NoAnswer(5ms));

    EXPECT_EQ(psp.Authorize(Call("k1")).outcome, PspOutcome::kDeclined);
    const PspAnswer second = psp.Authorize(Call("k2"));
    EXPECT_EQ(second.outcome, PspOutcome::kUnknown);
    EXPECT_EQ(second.latency, 5ms);
    EXPECT_EQ(psp.Authorize(Call("k3")).authorization_id, "psp-auth-1");
    psp.SetDefaultAuthorize(FakePspClient::Slow(900ms));
    EXPECT_EQ(psp.Authorize(Call("k4")).latency, 900ms);
}

TEST(FakePspClient, InquiryFindsWhatWasProcessedUnderTheKey) {
    FakePspClient psp;
    psp.ScriptLostResponse("psp-auth-7");
    psp.ScriptAuthorize(FakePspClient::NoAnswer());
    psp.ScriptAuthorize(FakePspClient::Declined());

    EXPECT_EQ(psp.Authorize(Call("lost")).outcome, PspOutcome::kUnknown);
    EXPECT_EQ(psp.Authorize(Call("never")).outcome, PspOutcome::kUnknown);
    EXPECT_EQ(psp.Authorize(Call("declined")).outcome, PspOutcome::kDeclined);

    const PspAnswer lost = psp.Inquire("lost");
    EXPECT_EQ(lost.outcome, PspOutcome::kAuthorized);
    EXPECT_EQ(lost.authorization_id, "psp-auth-7");
    EXPECT_EQ(psp.Inquire("never").outcome, PspOutcome::kNotFound);
    EXPECT_EQ(psp.Inquire("declined").outcome, PspOutcome::kDeclined);
    psp.ScriptInquire(FakePspClient::VoidedAtPsp("psp-auth-7"));
    EXPECT_EQ(psp.Inquire("never").authorization_id, "psp-auth-7");
    psp.SetDefaultInquire(FakePspClient::NoAnswer());
    EXPECT_EQ(psp.Inquire("lost").outcome, PspOutcome::kUnknown);
}

TEST(FakePspClient, CaptureAndVoidFollowTheirScripts) {
    FakePspClient psp;
    psp.ScriptCapture(FakePspClient::CaptureRefused());
    psp.ScriptVoid(FakePspClient::VoidUnanswered());

    EXPECT_EQ(psp.Capture("k", "cap-k", 0).outcome, CaptureOutcome::kRefused);
    EXPECT_EQ(psp.Capture("k", "cap-k", 0).outcome, CaptureOutcome::kCaptured);
    EXPECT_EQ(psp.Void("k").outcome, VoidOutcome::kUnknown);
    EXPECT_EQ(psp.Void("k").outcome, VoidOutcome::kReleased);
    psp.SetDefaultCapture(FakePspClient::CaptureUnanswered());
    psp.SetDefaultVoid(FakePspClient::VoidUnanswered());
    EXPECT_EQ(psp.Capture("k", "cap-k", 0).outcome, CaptureOutcome::kUnknown);
    EXPECT_EQ(psp.Void("k").outcome, VoidOutcome::kUnknown);
}

TEST(FakePspClient, RecordsEveryCall) {
    FakePspClient psp;
    (void)psp.Authorize(Call("k"));
    (void)psp.Inquire("k");
    (void)psp.Capture("k", "cap-k", 0);
    (void)psp.Void("k");

    const auto calls = psp.Calls();
    ASSERT_EQ(calls.size(), 4U);
    EXPECT_EQ(calls[0].operation, PspOperation::kAuthorize);
    EXPECT_EQ(calls[0].amount, (Money{100, *Currency::Parse("EUR")}));
    EXPECT_EQ(calls[1].operation, PspOperation::kInquire);
    EXPECT_FALSE(calls[1].amount.has_value());
    EXPECT_EQ(calls[2].capture_key, "cap-k");
    EXPECT_EQ(calls[3].operation, PspOperation::kVoid);
    EXPECT_EQ(psp.Count(PspOperation::kCapture), 1U);
    EXPECT_EQ(psp.CallsOf(PspOperation::kVoid).at(0).key, "k");
}

TEST(FakePspClient, BooksAPartialCaptureAndRefusesAnotherOrAboveTheAuthorization) {
    FakePspClient psp;
    (void)psp.Authorize(Call("k"));  // 100 EUR cents

    EXPECT_EQ(psp.Capture("k", "cap-k", 101).outcome, CaptureOutcome::kRefused);
    const CaptureAnswer captured = psp.Capture("k", "cap-k", 60);
    EXPECT_EQ(captured.outcome, CaptureOutcome::kCaptured);
    EXPECT_EQ(captured.captured_minor, 60);
    EXPECT_EQ(psp.CapturedMinor("k"), 60);
    EXPECT_EQ(psp.Capture("k", "cap-k", 60).captured_minor, 60);                // replayed
    EXPECT_EQ(psp.Capture("k", "cap-k", 0).outcome, CaptureOutcome::kRefused);  // all: 100
    EXPECT_EQ(psp.Capture("k", "cap-k", 70).outcome, CaptureOutcome::kRefused);
    EXPECT_EQ(psp.Capture("k", "cap-other", 0).outcome, CaptureOutcome::kRefused);
    EXPECT_EQ(psp.Inquire("k").outcome, PspOutcome::kCaptured);
    EXPECT_EQ(psp.CallsOf(PspOperation::kCapture).at(1).amount_minor, 60);

    (void)psp.Authorize(Call("whole"));
    EXPECT_EQ(psp.Capture("whole", "cap-whole", 0).captured_minor, 100);
    EXPECT_EQ(psp.Capture("whole", "cap-whole", 0).captured_minor, 100);    // replayed
    EXPECT_EQ(psp.Capture("whole", "cap-whole", 100).captured_minor, 100);  // the same amount
}

TEST(FakePspClient, BooksRefundsUpToTheCaptureAndAnswersInquiriesFromThem) {
    FakePspClient psp;
    (void)psp.Authorize(Call("k"));
    ASSERT_EQ(psp.Capture("k", "cap-k", 80).outcome, CaptureOutcome::kCaptured);
    EXPECT_EQ(psp.InquireRefund("k", "r-1").outcome, RefundOutcome::kNotFound);

    EXPECT_EQ(psp.Refund("k", "r-1", 30).outcome, RefundOutcome::kRefunded);
    EXPECT_EQ(psp.Refund("k", "r-2", 40).outcome, RefundOutcome::kRefunded);
    EXPECT_EQ(psp.Refund("k", "r-3", 11).outcome, RefundOutcome::kRefused);   // 10 left
    EXPECT_EQ(psp.Refund("k", "r-1", 30).outcome, RefundOutcome::kRefunded);  // replayed
    EXPECT_EQ(psp.Refund("k", "r-1", 31).outcome, RefundOutcome::kRefused);
    EXPECT_EQ(psp.RefundedMinor("k"), 70);
    EXPECT_EQ(psp.Inquire("k").outcome, PspOutcome::kCaptured) << "partly refunded";
    EXPECT_EQ(psp.InquireRefund("k", "r-2").outcome, RefundOutcome::kRefunded);
    EXPECT_EQ(psp.InquireRefund("k", "r-3").outcome, RefundOutcome::kNotFound);

    EXPECT_EQ(psp.Refund("k", "r-rest", 0).outcome, RefundOutcome::kRefunded);
    EXPECT_EQ(psp.RefundedMinor("k"), 80);
    EXPECT_EQ(psp.Inquire("k").outcome, PspOutcome::kRefunded);
    EXPECT_EQ(psp.Refund("k", "r-more", 0).outcome, RefundOutcome::kRefused);
    EXPECT_EQ(psp.Count(PspOperation::kInquireRefund), 3U);
    EXPECT_EQ(psp.CallsOf(PspOperation::kInquireRefund).at(0).capture_key, "r-1");
}

TEST(FakePspClient, ScriptedRefundsWinAndWhatTheySayHappenedIsBooked) {
    FakePspClient psp;
    (void)psp.Authorize(Call("k"));
    ASSERT_EQ(psp.Capture("k", "cap-k", 0).outcome, CaptureOutcome::kCaptured);
    psp.ScriptRefund(FakePspClient::RefundUnanswered());
    psp.ScriptRefund(FakePspClient::RefundRefused());
    psp.ScriptInquireRefund(FakePspClient::RefundUnanswered());

    EXPECT_EQ(psp.Refund("k", "r-1", 0).outcome, RefundOutcome::kUnknown);
    EXPECT_EQ(psp.Refund("k", "r-1", 0).outcome, RefundOutcome::kRefused);
    EXPECT_EQ(psp.RefundedMinor("k"), 0);
    EXPECT_EQ(psp.InquireRefund("k", "r-1").outcome, RefundOutcome::kUnknown);
    EXPECT_EQ(psp.InquireRefund("k", "r-1").outcome, RefundOutcome::kNotFound);
    psp.ScriptRefund(FakePspClient::Refunded());
    EXPECT_EQ(psp.Refund("k", "r-1", 25).outcome, RefundOutcome::kRefunded);
    EXPECT_EQ(psp.RefundedMinor("k"), 25);
    psp.SetDefaultRefund(FakePspClient::RefundUnanswered());
    EXPECT_EQ(psp.Refund("k", "r-2", 0).outcome, RefundOutcome::kUnknown);
    EXPECT_EQ(psp.RefundedMinor("k"), 25);
}

}  // namespace
}  // namespace sagapay::testing
