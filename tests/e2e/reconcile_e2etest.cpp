#include <gtest/gtest.h>

#include "testing/test_env.hpp"
#include "tests/e2e/e2e_stack.hpp"

namespace sagapay::testing {
namespace {

TEST(Reconcile, CleanAfterHundredsOfPaymentsOverEveryOutcomeAndNotAfterAPlantedMismatch) {
    E2eStack stack(std::map<std::string, std::string>{{"RATE_LIMIT_PER_MINUTE", "100000"}});
    for (const auto& service : E2eStack::AllServices()) {
        stack.Start(service);
    }
    const char* kinds[] = {
        "cust", "cust", "cust", "force-decline", "force-timeout", "force-lost-response"};
    std::vector<std::string> ids;
    std::vector<std::string> reviews;
    for (int i = 0; i < 240; ++i) {
        const bool review = i % 20 == 0;
        const auto [status, body] = stack.Pay(
            UniqueName(kinds[i % 6]),
            review ? 200000 : 1000 + i,
            UniqueName("order"),
            i % 2 == 0 ? "USD" : "EUR"
        );
        ASSERT_EQ(status, 200) << body.dump();
        ids.push_back(body["payment_id"]);
        if (review) {
            reviews.push_back(body["payment_id"]);
        }
    }
    for (std::size_t i = 0; i < reviews.size(); ++i) {
        ASSERT_EQ(stack.WaitForStatus(reviews[i], {"RISK_REVIEW"})["status"], "RISK_REVIEW");
        http::Client risk(stack.Url("risk"));
        const auto decided = risk.Send(
            "POST",
            "/ops/reviews/" + reviews[i] + (i % 2 == 0 ? "/approve" : "/deny"),
            R"({"reviewed_by":"ops"})",
            {{"content-type", "application/json"}, {"x-api-key", stack.ApiKey()}}
        );
        ASSERT_TRUE(decided.has_value() && decided->status == 200);
    }
    std::map<std::string, int> outcomes;
    for (const auto& id : ids) {
        outcomes[stack
                     .WaitForStatus(id, {"SETTLED", "FAILED", "REVERSED"}, std::chrono::seconds(60))
                     .value("status", "?")] += 1;
    }
    EXPECT_GT(outcomes["SETTLED"], 100);
    EXPECT_GT(outcomes["FAILED"], 20);
    EXPECT_GT(outcomes["REVERSED"], 20);
    EXPECT_EQ(outcomes["?"], 0);

    const auto clean = stack.RunTool({"reconcile", "--ledger-url", stack.Url("ledger")});
    EXPECT_EQ(clean.first, 0) << clean.second;
    EXPECT_NE(clean.second.find("\"mismatch_count\": 0"), std::string::npos) << clean.second;
    EXPECT_EQ(clean.second.find("\"provider_psp_checked\": -1"), std::string::npos)
        << "the provider ↔ PSP check ran: " << clean.second;

    // Every invariant holds over the live stack once it has settled: the checker reads the five
    // databases, the sandbox's books and the dead letters. A payment that ended a moment ago
    // may still be on its way to the notification service: ask again until it holds.
    std::pair<int, std::string> verified;
    EXPECT_TRUE(Eventually(
        [&] {
            verified = stack.RunTool({"verify", "--json", "--grace", "0"});
            return verified.first == 0;
        },
        std::chrono::seconds(30)
    )) << verified.second;
    const auto report = nlohmann::json::parse(verified.second, nullptr, false);
    ASSERT_TRUE(report.is_object()) << verified.second;
    EXPECT_EQ(report.value("ok", false), true) << verified.second;
    EXPECT_EQ(report["by_status"].value("SETTLED", 0), outcomes["SETTLED"]) << verified.second;
    EXPECT_EQ(report["payments"], ids.size()) << verified.second;
    EXPECT_EQ(
        report["checked"],
        (nlohmann::json{
            {"accepted", false},
            {"psp", true},
            {"ledger", true},
            {"notices", true},
            {"outbox", true},
            {"dead_letters", true},
            {"refunds", true}})
    ) << verified.second;
    EXPECT_GT(report["read"].value("dead_letters", 0), 0) << "force-timeout parks RETRY_EXHAUSTED";

    // Plant a balanced settlement for a payment that failed: the ledger accepts it, the
    // cross-service check must not.
    std::string failed;
    for (const auto& id : ids) {
        if (stack.Payment(id).value("status", "") == "FAILED") {
            failed = id;
            break;
        }
    }
    ASSERT_FALSE(failed.empty());
    auto ledger = stack.Db("ledger");
    ledger.ExecScript(
        "BEGIN;"
        "INSERT INTO ledger_accounts (account_id, account_code, account_type, currency) VALUES "
        "('customer_cash:USD','customer_cash','CUSTOMER','USD'), "
        "('merchant_receivable:USD','merchant_receivable','MERCHANT','USD') ON CONFLICT DO NOTHING;"
        "INSERT INTO ledger_transactions (transaction_id, payment_id, purpose, currency, "
        "amount_minor, "
        "source_event_id) VALUES ('settlement:" +
        failed + "', '" + failed +
        "', 'SETTLEMENT', 'USD', 4242, 'planted');"
        "INSERT INTO ledger_entries (transaction_id, account_id, direction, amount_cents, "
        "currency) VALUES "
        "('settlement:" +
        failed +
        "', 'customer_cash:USD', 'DEBIT', 4242, 'USD'), "
        "('settlement:" +
        failed +
        "', 'merchant_receivable:USD', 'CREDIT', 4242, 'USD');"
        "COMMIT;"
    );

    // Plant a provider record that says a settled payment timed out: the PSP holds its capture,
    // the provider ↔ PSP check must see money taken for a payment the provider calls failed.
    std::string settled;
    for (const auto& id : ids) {
        if (stack.Payment(id).value("status", "") == "SETTLED") {
            settled = id;
            break;
        }
    }
    ASSERT_FALSE(settled.empty());
    stack.Db("provider")
        .Exec("UPDATE provider_payments SET status = 'TIMED_OUT' WHERE payment_id = $1", {settled});

    const auto dirty = stack.RunTool({"reconcile", "--ledger-url", stack.Url("ledger")});
    EXPECT_EQ(dirty.first, 1) << dirty.second;
    EXPECT_NE(dirty.second.find(failed), std::string::npos) << dirty.second;
    // verify sees the planted settlement too (the provider row is not a PSP fact: it does not).
    const auto broken = stack.RunTool({"verify", "--grace", "0"});
    EXPECT_EQ(broken.first, 1) << broken.second;
    EXPECT_NE(broken.second.find("posted_without_settling " + failed), std::string::npos)
        << broken.second;
    EXPECT_NE(
        dirty.second.find(
            "payment " + settled +
            " failed (TIMED_OUT at the provider) but is "
            "CAPTURED at the PSP"
        ),
        std::string::npos
    ) << dirty.second;
    if (HasFailure()) {
        stack.DumpLogs();
    }
}

}  // namespace
}  // namespace sagapay::testing
