// The provider's HttpPspClient against the sandbox's real routes and books over HTTP on
// 127.0.0.1: partial capture, partial and multiple refunds, refund inquiries and the force-error
// 5xx, as the provider would see them.
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include <gtest/gtest.h>

#include "adapters/http/http.hpp"
#include "services/provider/http_psp_client.hpp"
#include "services/psp_sandbox/psp_ledger.hpp"
#include "services/psp_sandbox/psp_service.hpp"

namespace sagapay::psp {
namespace {

using namespace std::chrono_literals;

class PspClientRoundTripTest : public ::testing::Test {
public:
    PspClientRoundTripTest(const PspClientRoundTripTest&) = delete;
    PspClientRoundTripTest& operator=(const PspClientRoundTripTest&) = delete;
    PspClientRoundTripTest(PspClientRoundTripTest&&) = delete;
    PspClientRoundTripTest& operator=(PspClientRoundTripTest&&) = delete;
    ~PspClientRoundTripTest() override { server_->Stop(); }

protected:
    PspClientRoundTripTest() {
        http::Router router;
        AddPspRoutes(router, ledger_, 0ms);
        http::ServerOptions options;
        options.host = "127.0.0.1";
        options.port = 0;
        server_.emplace(options, std::move(router));
        server_->Start();
        client_ = provider::MakeHttpPspClient(
            "http://127.0.0.1:" + std::to_string(server_->Port()), 2000ms
        );
    }

    /// Authorizes `key` for `amount` USD cents, retrying what is unknown (force-error).
    void Authorize(const std::string& key, const std::string& customer, std::int64_t amount) {
        const AuthorizeCall call{
            key,
            PaymentId("p-" + key),
            CustomerId(customer),
            Money{amount, *Currency::Parse("USD")}};
        PspOutcome outcome = PspOutcome::kUnknown;
        for (int attempt = 0; attempt < 30 && outcome == PspOutcome::kUnknown; ++attempt) {
            outcome = client_->Authorize(call).outcome;
        }
        ASSERT_EQ(outcome, PspOutcome::kAuthorized) << key;
    }

    PspLedger ledger_{7};
    std::optional<http::Server> server_;
    std::unique_ptr<PspClient> client_;
};

TEST_F(PspClientRoundTripTest, PartialCaptureTakesWhatIsAskedAndSaysSo) {
    Authorize("auth-1", "cust-1", 1500);

    const CaptureAnswer captured = client_->Capture("auth-1", "cap-1", 1000);

    EXPECT_EQ(captured.outcome, CaptureOutcome::kCaptured);
    EXPECT_EQ(captured.captured_minor, 1000);
    EXPECT_EQ(ledger_.Find("auth-1").body.at("captured_amount_cents"), 1000);
    EXPECT_EQ(client_->Capture("auth-1", "cap-1", 1000).outcome, CaptureOutcome::kCaptured);
    EXPECT_EQ(client_->Capture("auth-1", "cap-1", 1000).captured_minor, 1000);
    EXPECT_EQ(client_->Capture("auth-1", "cap-2", 0).outcome, CaptureOutcome::kRefused);
    EXPECT_EQ(client_->Capture("auth-1", "cap-1", 900).outcome, CaptureOutcome::kRefused);
    EXPECT_EQ(client_->Inquire("auth-1").outcome, PspOutcome::kCaptured);
    EXPECT_EQ(ledger_.Find("auth-1").body.at("captures"), 1);
}

TEST_F(PspClientRoundTripTest, CaptureAboveTheAuthorizationIsRefused) {
    Authorize("auth-1", "cust-1", 1500);

    EXPECT_EQ(client_->Capture("auth-1", "cap-1", 1501).outcome, CaptureOutcome::kRefused);
    EXPECT_EQ(client_->Capture("auth-1", "cap-1", -1).outcome, CaptureOutcome::kRefused);
    EXPECT_EQ(client_->Inquire("auth-1").outcome, PspOutcome::kAuthorized);
    EXPECT_EQ(client_->Capture("never", "cap-1", 0).outcome, CaptureOutcome::kRefused);
}

TEST_F(PspClientRoundTripTest, SeveralPartialRefundsUpToTheCaptureThenRefunded) {
    Authorize("auth-1", "cust-1", 1500);
    ASSERT_EQ(client_->Capture("auth-1", "cap-1", 1000).outcome, CaptureOutcome::kCaptured);
    EXPECT_EQ(client_->InquireRefund("auth-1", "refund-a").outcome, RefundOutcome::kNotFound);

    EXPECT_EQ(client_->Refund("auth-1", "refund-a", 300).outcome, RefundOutcome::kRefunded);
    EXPECT_EQ(client_->Refund("auth-1", "refund-b", 500).outcome, RefundOutcome::kRefunded);
    EXPECT_EQ(client_->Refund("auth-1", "refund-c", 300).outcome, RefundOutcome::kRefused);
    EXPECT_EQ(client_->Refund("auth-1", "refund-a", 300).outcome, RefundOutcome::kRefunded);
    EXPECT_EQ(client_->Refund("auth-1", "refund-a", 400).outcome, RefundOutcome::kRefused);
    EXPECT_EQ(client_->Inquire("auth-1").outcome, PspOutcome::kCaptured) << "partly refunded";
    EXPECT_EQ(client_->InquireRefund("auth-1", "refund-a").outcome, RefundOutcome::kRefunded);
    EXPECT_EQ(client_->InquireRefund("auth-1", "refund-c").outcome, RefundOutcome::kNotFound);

    EXPECT_EQ(client_->Refund("auth-1", "refund-rest", 0).outcome, RefundOutcome::kRefunded);
    EXPECT_EQ(client_->Inquire("auth-1").outcome, PspOutcome::kRefunded);
    EXPECT_EQ(client_->Refund("auth-1", "refund-more", 0).outcome, RefundOutcome::kRefused);
    const auto record = ledger_.Find("auth-1").body;
    EXPECT_EQ(record.at("refunded_amount_cents"), 1000);
    EXPECT_EQ(record.at("refunds").size(), 3U);
    EXPECT_EQ(ledger_.FindRefund("auth-1", "refund-rest").body.at("amount_cents"), 200);
}

TEST_F(PspClientRoundTripTest, TheWholeCaptureAndTheJanitorsFullRefundWorkAsBefore) {
    Authorize("auth-1", "cust-1", 1500);

    const CaptureAnswer captured = client_->Capture("auth-1", "cap-p-auth-1", 0);
    EXPECT_EQ(captured.outcome, CaptureOutcome::kCaptured);
    EXPECT_EQ(captured.captured_minor, 1500);
    EXPECT_EQ(client_->Refund("auth-1", "refund-p-auth-1", 0).outcome, RefundOutcome::kRefunded);
    EXPECT_EQ(client_->Refund("auth-1", "refund-p-auth-1", 0).outcome, RefundOutcome::kRefunded);
    EXPECT_EQ(client_->Inquire("auth-1").outcome, PspOutcome::kRefunded);
    EXPECT_EQ(client_->Refund("auth-2", "refund-2", 0).outcome, RefundOutcome::kRefused);
    EXPECT_EQ(client_->InquireRefund("auth-2", "refund-2").outcome, RefundOutcome::kNotFound);
}

TEST_F(PspClientRoundTripTest, ForceErrorRefundsAreUnknownUntilRetriedAndRefundOnce) {
    int unknown = 0;
    for (int i = 0; i < 20; ++i) {
        const std::string key = "auth-e" + std::to_string(i);
        Authorize(key, "force-error-" + std::to_string(i), 1000);
        CaptureOutcome captured = CaptureOutcome::kUnknown;
        for (int attempt = 0; attempt < 30 && captured == CaptureOutcome::kUnknown; ++attempt) {
            captured = client_->Capture(key, "cap", 600).outcome;
        }
        ASSERT_EQ(captured, CaptureOutcome::kCaptured);

        RefundOutcome refunded = client_->Refund(key, "refund", 250).outcome;
        if (refunded == RefundOutcome::kUnknown) {
            ++unknown;
            // The inquiry tells a 503 (never made) from a 500 (made, answer lost).
            const RefundOutcome inquired = client_->InquireRefund(key, "refund").outcome;
            EXPECT_TRUE(
                inquired == RefundOutcome::kNotFound || inquired == RefundOutcome::kRefunded
            );
        }
        for (int attempt = 0; attempt < 30 && refunded == RefundOutcome::kUnknown; ++attempt) {
            refunded = client_->Refund(key, "refund", 250).outcome;
        }
        EXPECT_EQ(refunded, RefundOutcome::kRefunded);
        EXPECT_EQ(ledger_.Find(key).body.at("refunded_amount_cents"), 250) << "refunded once";
    }
    EXPECT_GT(unknown, 5);
}

}  // namespace
}  // namespace sagapay::psp
