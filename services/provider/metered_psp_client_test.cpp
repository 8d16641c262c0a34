// Every PSP call is reported once, with a bounded outcome label, and answered unchanged.
#include "services/provider/metered_psp_client.hpp"

#include <string>
#include <tuple>
#include <vector>

#include <gtest/gtest.h>

#include "services/provider/provider_store.hpp"
#include "testing/fake_psp_client.hpp"

namespace sagapay::provider {
namespace {

using namespace std::chrono_literals;
using testing::FakePspClient;

using Seen = std::tuple<PspOperation, std::string, std::chrono::milliseconds>;

AuthorizeCall Call(std::string key) {
    return {
        std::move(key), PaymentId("p-1"), CustomerId("c-1"), Money{100, *Currency::Parse("EUR")}};
}

class MeteredPspClientTest : public ::testing::Test {
protected:
    FakePspClient psp_;
    std::vector<Seen> seen_;
    MeteredPspClient metered_{
        psp_,
        2000ms,
        [this](
            PspOperation operation, std::string_view outcome, std::chrono::milliseconds latency
        ) { seen_.emplace_back(operation, std::string(outcome), latency); }};
};

TEST_F(MeteredPspClientTest, ReportsEachAuthorizationWithItsOutcomeAndLatency) {
    psp_.ScriptAuthorize(FakePspClient::Authorized("a-1", 12ms));
    psp_.ScriptAuthorize(FakePspClient::Declined(3ms));
    psp_.ScriptAuthorize(FakePspClient::NoAnswer(2000ms));
    psp_.ScriptAuthorize(FakePspClient::NoAnswer(40ms));

    EXPECT_EQ(metered_.Authorize(Call("k1")).authorization_id, "a-1");
    EXPECT_EQ(metered_.Authorize(Call("k2")).outcome, PspOutcome::kDeclined);
    EXPECT_EQ(metered_.Authorize(Call("k3")).outcome, PspOutcome::kUnknown);
    EXPECT_EQ(metered_.Authorize(Call("k4")).outcome, PspOutcome::kUnknown);

    EXPECT_EQ(
        seen_,
        (std::vector<Seen>{
            {PspOperation::kAuthorize, "ok", 12ms},
            {PspOperation::kAuthorize, "declined", 3ms},
            {PspOperation::kAuthorize, "timeout", 2000ms},
            {PspOperation::kAuthorize, "error", 40ms},
        })
    );
}

TEST_F(MeteredPspClientTest, ReportsInquiriesCapturesVoidsAndRefunds) {
    psp_.ScriptInquire(FakePspClient::NotFound());
    psp_.ScriptCapture(FakePspClient::CaptureRefused());
    psp_.ScriptVoid(FakePspClient::VoidUnanswered());
    psp_.ScriptRefund(FakePspClient::RefundUnanswered());

    EXPECT_EQ(metered_.Inquire("k1").outcome, PspOutcome::kNotFound);
    EXPECT_EQ(metered_.Capture("k1", "c1", 0).outcome, CaptureOutcome::kRefused);
    EXPECT_EQ(metered_.Void("k1").outcome, VoidOutcome::kUnknown);
    EXPECT_EQ(metered_.Refund("k1", "r1", 0).outcome, RefundOutcome::kUnknown);
    EXPECT_EQ(metered_.Capture("k2", "c2", 0).outcome, CaptureOutcome::kCaptured);

    EXPECT_EQ(
        seen_,
        (std::vector<Seen>{
            {PspOperation::kInquire, "ok", 0ms},
            {PspOperation::kCapture, "refused", 0ms},
            {PspOperation::kVoid, "error", 0ms},
            {PspOperation::kRefund, "error", 0ms},
            {PspOperation::kCapture, "ok", 0ms},
        })
    );
    EXPECT_EQ(psp_.Calls().size(), 5U) << "each call reaches the PSP once";
}

TEST_F(MeteredPspClientTest, ReportsRefundInquiriesAndPassesTheAmountsOn) {
    psp_.ScriptInquireRefund(FakePspClient::RefundNotFound());
    psp_.ScriptInquireRefund(FakePspClient::RefundUnanswered());
    psp_.ScriptRefund(FakePspClient::RefundRefused());

    EXPECT_EQ(metered_.InquireRefund("k1", "r1").outcome, RefundOutcome::kNotFound);
    EXPECT_EQ(metered_.InquireRefund("k1", "r1").outcome, RefundOutcome::kUnknown);
    EXPECT_EQ(metered_.Refund("k1", "r1", 40).outcome, RefundOutcome::kRefused);
    EXPECT_EQ(metered_.Capture("k1", "c1", 70).captured_minor, 70);

    EXPECT_EQ(
        seen_,
        (std::vector<Seen>{
            {PspOperation::kInquireRefund, "ok", 0ms},
            {PspOperation::kInquireRefund, "error", 0ms},
            {PspOperation::kRefund, "refused", 0ms},
            {PspOperation::kCapture, "ok", 0ms},
        })
    );
    EXPECT_EQ(psp_.CallsOf(PspOperation::kRefund).at(0).amount_minor, 40);
    EXPECT_EQ(psp_.CallsOf(PspOperation::kCapture).at(0).amount_minor, 70);
    EXPECT_EQ(ToString(PspOperation::kInquireRefund), "INQUIRE_REFUND");
}

TEST(OutcomeLabel, IsOneOfFiveWords) {
    EXPECT_EQ(OutcomeLabel(PspOperation::kAuthorize, true, false, 1ms, 2s), "ok");
    EXPECT_EQ(OutcomeLabel(PspOperation::kAuthorize, true, true, 1ms, 2s), "declined");
    EXPECT_EQ(OutcomeLabel(PspOperation::kRefund, true, true, 1ms, 2s), "refused");
    EXPECT_EQ(OutcomeLabel(PspOperation::kVoid, false, false, 2s, 2s), "timeout");
    EXPECT_EQ(OutcomeLabel(PspOperation::kVoid, false, false, 1999ms, 2s), "error");
}

}  // namespace
}  // namespace sagapay::provider
