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

    EXPECT_EQ(psp.Capture("k", "cap-k").outcome, CaptureOutcome::kRefused);
    EXPECT_EQ(psp.Capture("k", "cap-k").outcome, CaptureOutcome::kCaptured);
    EXPECT_EQ(psp.Void("k").outcome, VoidOutcome::kUnknown);
    EXPECT_EQ(psp.Void("k").outcome, VoidOutcome::kReleased);
    psp.SetDefaultCapture(FakePspClient::CaptureUnanswered());
    psp.SetDefaultVoid(FakePspClient::VoidUnanswered());
    EXPECT_EQ(psp.Capture("k", "cap-k").outcome, CaptureOutcome::kUnknown);
    EXPECT_EQ(psp.Void("k").outcome, VoidOutcome::kUnknown);
}

TEST(FakePspClient, RecordsEveryCall) {
    FakePspClient psp;
    (void)psp.Authorize(Call("k"));
    (void)psp.Inquire("k");
    (void)psp.Capture("k", "cap-k");
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

}  // namespace
}  // namespace sagapay::testing
