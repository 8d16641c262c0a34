// The ops console in a real browser: tests/console/console_test.mjs drives Debian's chromium
// with playwright-core against `sagapay console` on a whole stack, with reviews and parked
// messages made here the way production makes them.
#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "testing/process.hpp"
#include "testing/test_env.hpp"
#include "tests/e2e/e2e_stack.hpp"

namespace sagapay::testing {
namespace {

constexpr int kIdleSeconds = 8;

class Console : public StackSuite<Console> {
public:
    static std::map<std::string, std::string> Environment() {
        return {
            {"RATE_LIMIT_PER_MINUTE", "100000"},
            {"RISK_REVIEW_AMOUNT_CENTS", "100000"},
            {"BUS_MAX_DELIVERIES", "2"},
            {"BUS_RETRY_INITIAL_DELAY_MS", "100"},
            {"BUS_PARK_AFTER_MS", "1000"},
            {"BUS_VISIBILITY_TIMEOUT_MS", "500"},
            {"SWEEPER_STUCK_AFTER_MS", "600000"},
            {"CONSOLE_SESSION_IDLE_SECONDS", std::to_string(kIdleSeconds)},
        };
    }

protected:
    static std::string PayAndGetId(const std::string& customer, std::int64_t amount) {
        const auto [status, body] = stack_->Pay(customer, amount, UniqueName("order"));
        EXPECT_EQ(status, 200) << body.dump();
        return body.value("payment_id", "");
    }

    /// The event id of the parked message of `payment_id` on `topic`, once `dlq list` shows it.
    static std::string ParkedEventId(const std::string& topic, const std::string& payment_id) {
        std::string event_id;
        Eventually(
            [&] {
                const auto [code, out] = stack_->RunTool({"dlq", "list", "--dlq-topic", topic});
                std::istringstream lines(out);
                for (std::string line; std::getline(lines, line);) {
                    const auto json = nlohmann::json::parse(line, nullptr, false);
                    if (json.is_object() && json.value("aggregate_id", "") == payment_id) {
                        event_id = json.value("event_id", "");
                    }
                }
                return !event_id.empty();
            },
            std::chrono::seconds(30)
        );
        return event_id;
    }
};

TEST_F(Console, AnOperatorTriagesReviewsInspectsPaymentsAndReplaysParkedEventsInABrowser) {
    stack_->Start("console");

    // Five payments over the review amount: five pending reviews.
    nlohmann::json fixtures;
    for (int i = 0; i < 5; ++i) {
        const std::string customer = UniqueName("console-review");
        fixtures["reviews"].push_back(PayAndGetId(customer, 250'000 + i));
        fixtures["review_customers"].push_back(customer);
    }
    for (const auto& id : fixtures["reviews"]) {
        ASSERT_EQ(stack_->WaitForStatus(id, {"RISK_REVIEW"})["status"], "RISK_REVIEW");
    }
    // A payment the PSP never answers: voided, REVERSED, its request parked on payments.dlq.
    const std::string reversed = PayAndGetId(UniqueName("force-timeout"), 1500);
    ASSERT_EQ(
        stack_->WaitForStatus(reversed, {"REVERSED"}, std::chrono::seconds(40))["status"],
        "REVERSED"
    );
    fixtures["refused_dlq_payment_id"] = reversed;
    fixtures["refused_dlq_event_id"] = ParkedEventId("payments.dlq", reversed);
    // A request the provider could not handle (its table away): parked on deadletter while the
    // payment waits in APPROVED; replaying it must settle the payment.
    auto provider_db = stack_->Db("provider");
    provider_db.ExecScript("ALTER TABLE provider_payments RENAME TO provider_payments_away");
    const std::string waiting = PayAndGetId(UniqueName("console-replay"), 1500);
    const std::string parked = ParkedEventId("deadletter", waiting);
    provider_db.ExecScript("ALTER TABLE provider_payments_away RENAME TO provider_payments");
    ASSERT_FALSE(parked.empty());
    fixtures["replayable_dlq_payment_id"] = waiting;
    fixtures["replayable_dlq_event_id"] = parked;
    // A manual capture of 1,000 of 1,500, then a refund of 300: PARTIALLY_REFUNDED.
    const auto [created_status, created] = stack_->Gateway(
        "POST",
        "/payments",
        {{"customer_id", UniqueName("console-refund")},
         {"amount_cents", 1500},
         {"currency", "USD"},
         {"idempotency_key", UniqueName("order")},
         {"capture_method", "manual"}}
    );
    ASSERT_EQ(created_status, 200) << created.dump();
    const std::string refunded = created["payment_id"];
    ASSERT_EQ(stack_->WaitForStatus(refunded, {"AUTHORIZED"})["status"], "AUTHORIZED");
    ASSERT_EQ(
        stack_->Gateway(
                  "POST", "/payments/" + refunded + "/capture", {{"amount_cents", 1000}}
        ).first,
        200
    );
    ASSERT_EQ(stack_->WaitForStatus(refunded, {"SETTLED"})["status"], "SETTLED");
    const auto [refund_status, refund] = stack_->Gateway(
        "POST",
        "/payments/" + refunded + "/refunds",
        {{"amount_cents", 300}, {"idempotency_key", UniqueName("refund")}}
    );
    ASSERT_EQ(refund_status, 200) << refund.dump();
    ASSERT_EQ(
        stack_->WaitForStatus(refunded, {"PARTIALLY_REFUNDED"})["status"], "PARTIALLY_REFUNDED"
    );
    fixtures["refunded_payment_id"] = refunded;
    fixtures["refund_id"] = refund["refund_id"];
    fixtures["idle_timeout_seconds"] = kIdleSeconds;
    ASSERT_FALSE(fixtures["refused_dlq_event_id"].get<std::string>().empty());

    const std::filesystem::path out = stack_->LogDir() + "/console-browser.log";
    const std::string screenshots = std::string(SAGAPAY_E2E_LOG_DIR) + "/console-screenshots";
    const std::string test_dir = std::string(SAGAPAY_SOURCE_DIR) + "/tests/console";
    setenv("CONSOLE_URL", stack_->Url("console").c_str(), 1);
    setenv("OPS_KEY", stack_->ApiKey().c_str(), 1);
    setenv("CONSOLE_FIXTURES", fixtures.dump().c_str(), 1);
    setenv("SCREENSHOT_DIR", screenshots.c_str(), 1);
    const int code = RunProgram({"node", test_dir + "/console_test.mjs"}, out);

    EXPECT_EQ(code, 0) << ReadFile(out) << "\nconsole log:\n"
                       << ReadFile(stack_->LogDir() + "/console.log");
    // What the browser did, seen from the services: the replayed payment settled, and every
    // action is in the audit log.
    EXPECT_EQ(stack_->WaitForStatus(waiting, {"SETTLED", "FAILED"})["status"], "SETTLED");
    auto console_db = stack_->Db("console");
    const auto actions = console_db.Exec(
        "SELECT action, count(*) FROM console_audit WHERE operator = 'e2e-operator' "
        "GROUP BY action ORDER BY action"
    );
    std::map<std::string, std::int64_t> counts;
    for (int i = 0; i < actions.Size(); ++i) {
        counts[actions.GetString(i, 0)] = actions.GetInt(i, 1);
    }
    EXPECT_GE(counts["review.approve"], 1);
    EXPECT_GE(counts["review.deny"], 2);
    EXPECT_GE(counts["dlq.replay"], 2);
    EXPECT_GE(counts["session.login"], 1);
}

}  // namespace
}  // namespace sagapay::testing
