#include <algorithm>

#include <gtest/gtest.h>

#include "core/clock.hpp"
#include "testing/test_env.hpp"
#include "tests/e2e/e2e_stack.hpp"

namespace sagapay::testing {
namespace {

class HappyPath : public StackSuite<HappyPath> {
public:
    static std::map<std::string, std::string> Environment() { return {}; }
};

double Seconds(const std::string& iso) {
    const auto t = ParseIsoUtc(iso);
    EXPECT_TRUE(t.has_value()) << iso;
    return t ? std::chrono::duration<double>(t->time_since_epoch()).count() : 0.0;
}

TEST_F(HappyPath, OnePaymentSettlesWithItsTimelineLedgerEntriesAndNotification) {
    const std::string customer = UniqueName("cust");
    const auto [status, created] = stack_->Pay(customer, 1500, UniqueName("order"));
    ASSERT_EQ(status, 200) << created.dump();
    ASSERT_EQ(created["status"], "CREATED");
    const std::string id = created["payment_id"];

    const nlohmann::json payment = stack_->WaitForStatus(id, {"SETTLED", "FAILED", "REVERSED"});

    ASSERT_EQ(payment["status"], "SETTLED") << payment.dump(2);
    std::vector<std::string> reasons;
    std::vector<std::string> states;
    for (const auto& row : payment["timeline"]) {
        reasons.push_back(row["reason"]);
        states.push_back(row["to_state"]);
    }
    EXPECT_EQ(
        reasons,
        (std::vector<std::string>{
            "payment_created",
            "risk_approved",
            "provider_authorized",
            "provider_captured",
            "ledger_settled"})
    );
    EXPECT_EQ(
        states,
        (std::vector<std::string>{"CREATED", "APPROVED", "AUTHORIZED", "CAPTURED", "SETTLED"})
    );
    EXPECT_EQ(payment["state_version"], 4);
    EXPECT_EQ(payment["amount_cents"], 1500);

    const auto ledger = stack_->Client("ledger").Send(
        "GET", "/reconciliation/settlement:" + id, "", {{"x-api-key", stack_->ApiKey()}}
    );
    ASSERT_TRUE(ledger.has_value());
    const auto posting = nlohmann::json::parse(ledger->body);
    EXPECT_EQ(posting["balanced"], true);
    EXPECT_EQ(posting["debits"], 1500);
    EXPECT_EQ(posting["credits"], 1500);
    ASSERT_EQ(posting["entries"].size(), 2U);
    EXPECT_EQ(posting["entries"][0]["account_id"], "customer_cash:USD");
    EXPECT_EQ(posting["entries"][1]["account_id"], "merchant_receivable:USD");

    auto notifications = stack_->Db("notification");
    ASSERT_TRUE(Eventually([&] {
        return notifications
                   .Exec("SELECT outcome FROM notification_logs WHERE payment_id = $1", {id})
                   .Size() == 1;
    }));
    EXPECT_EQ(
        notifications.Exec("SELECT outcome FROM notification_logs WHERE payment_id = $1", {id})
            .GetString(0, 0),
        "SETTLED"
    );

    const auto psp = stack_->Client("psp-sandbox").Get("/v1/records");
    ASSERT_TRUE(psp.has_value());
    int charges = 0;
    for (const auto& record : nlohmann::json::parse(psp->body)) {
        if (record["payment_id"] == id) {
            EXPECT_EQ(record["status"], "CAPTURED");
            EXPECT_EQ(record["captures"], 1);
            ++charges;
        }
    }
    EXPECT_EQ(charges, 1);

    // Automatic capture: asked with the authorization and made by the worker that authorized
    // (no capture request in between), each call once.
    auto provider = stack_->Db("provider");
    EXPECT_EQ(
        provider
            .Exec(
                "SELECT status, capture_on_authorize::text FROM provider_payments "
                "WHERE payment_id = $1",
                {id}
            )
            .GetString(0, 1),
        "true"
    );
    const auto calls = provider.Exec(
        "SELECT operation || ' ' || result FROM provider_attempts WHERE payment_id = $1 "
        "ORDER BY attempt_id",
        {id}
    );
    ASSERT_EQ(calls.Size(), 2);
    EXPECT_EQ(calls.GetString(0, 0), "AUTHORIZE AUTHORIZED");
    EXPECT_EQ(calls.GetString(1, 0), "CAPTURE CAPTURED");
}

TEST_F(HappyPath, SameKeyAndBodyReturnTheSamePaymentAndAnotherBodyIsRefused) {
    const std::string customer = UniqueName("cust");
    const std::string key = UniqueName("order");

    const auto first = stack_->Pay(customer, 2500, key);
    const auto again = stack_->Pay(customer, 2500, key);
    const auto other_body = stack_->Pay(customer, 9999, key);
    const auto other_customer = stack_->Pay(UniqueName("cust"), 2500, key);

    ASSERT_EQ(first.first, 200);
    EXPECT_EQ(again.first, 200);
    EXPECT_EQ(again.second["payment_id"], first.second["payment_id"]);
    EXPECT_EQ(other_body.first, 422);
    EXPECT_EQ(other_body.second["error"]["code"], "idempotency_key_reused");
    ASSERT_EQ(other_customer.first, 200);
    EXPECT_NE(other_customer.second["payment_id"], first.second["payment_id"]);
}

TEST_F(HappyPath, IdlePaymentsSettleEndToEndWithinMilliseconds) {
    std::vector<double> millis;
    for (int i = 0; i < 20; ++i) {
        const auto [status, created] =
            stack_->Pay(UniqueName("idle"), 1000 + i, UniqueName("order"));
        ASSERT_EQ(status, 200);
        const auto payment = stack_->WaitForStatus(created["payment_id"], {"SETTLED"});
        ASSERT_EQ(payment["status"], "SETTLED");
        // Server-side timestamps: creation to the SETTLED transition, free of polling delay.
        millis.push_back(
            (Seconds(payment["timeline"].back()["created_at"]) - Seconds(payment["created_at"])) *
            1000.0
        );
    }
    std::sort(millis.begin(), millis.end());
    const double p50 = millis[millis.size() / 2];
    std::cout << "idle POST->SETTLED (server clock, this build) p50_ms=" << p50
              << " max_ms=" << millis.back() << "\n";
    // A generous bound for an instrumented build on a shared machine; the release figure is in
    // docs/benchmarks.md. The seed's best case was 1,500 ms.
    EXPECT_LT(p50, 1000.0);
}

}  // namespace
}  // namespace sagapay::testing
