#include <future>
#include <map>
#include <thread>

#include <gtest/gtest.h>

#include "testing/test_env.hpp"
#include "tests/e2e/e2e_stack.hpp"

namespace sagapay::testing {
namespace {

class DecisionPaths : public StackSuite<DecisionPaths> {
public:
    static std::map<std::string, std::string> Environment() {
        return {
            {"RATE_LIMIT_PER_MINUTE", "100000"},
            {"SWEEPER_STUCK_AFTER_MS", "1500"},
            {"SWEEPER_INTERVAL_MS", "250"}};
    }

protected:
    static std::pair<int, nlohmann::json> Decide(
        const std::string& id, const std::string& verb, const std::string& key
    ) {
        http::Client client(stack_->Url("risk"));
        const auto result = client.Send(
            "POST",
            "/ops/reviews/" + id + "/" + verb,
            R"({"reviewed_by":"ops-user"})",
            {{"content-type", "application/json"}, {"x-api-key", key}}
        );
        if (!result.has_value()) {
            return {0, {}};
        }
        return {result->status, nlohmann::json::parse(result->body, nullptr, false)};
    }

    static std::vector<std::string> Reasons(const nlohmann::json& payment) {
        std::vector<std::string> reasons;
        for (const auto& row : payment["timeline"]) {
            reasons.push_back(row["reason"]);
        }
        return reasons;
    }

    static std::string PayAndGetId(const std::string& customer, std::int64_t amount) {
        const auto [status, body] = stack_->Pay(customer, amount, UniqueName("order"));
        EXPECT_EQ(status, 200) << body.dump();
        return body.value("payment_id", "");
    }

    /// Puts `envelope` on the bus through `service`'s outbox, as a writer outside the service's
    /// process does: its relay claims the row and publishes it on whichever bus the stack runs.
    static void PublishThroughOutbox(const std::string& service, const nlohmann::json& envelope) {
        auto db = stack_->Db(service);
        db.Exec(
            "INSERT INTO outbox_events (aggregate_id, event_type, topic, payload) "
            "VALUES ($1, $2, $2, $3::jsonb)",
            {envelope["aggregate_id"].get<std::string>(),
             envelope["event_type"].get<std::string>(),
             envelope.dump()}
        );
        db.ExecScript("NOTIFY sagapay_outbox");
    }

    /// The value of `series` (e.g. `stale_events_total{service="orchestrator",...}`) in the
    /// orchestrator's /metrics; 0 when it is not there yet.
    static double OrchestratorMetric(const std::string& series) {
        const auto metrics = stack_->Client("orchestrator").Get("/metrics");
        if (!metrics.has_value()) {
            return -1;
        }
        const auto at = metrics->body.find(series + " ");
        return at == std::string::npos ? 0
                                       : std::stod(metrics->body.substr(at + series.size() + 1));
    }
};

TEST_F(DecisionPaths, HighAmountGoesToReviewAndApprovalSettlesIt) {
    const std::string id = PayAndGetId(UniqueName("cust-risk"), 150000);
    ASSERT_EQ(stack_->WaitForStatus(id, {"RISK_REVIEW"})["status"], "RISK_REVIEW");

    const auto list = stack_->Client("risk").Send(
        "GET", "/ops/reviews?limit=1000", "", {{"x-api-key", stack_->ApiKey()}}
    );
    ASSERT_TRUE(list.has_value());
    bool listed = false;
    for (const auto& review : nlohmann::json::parse(list->body)) {
        listed = listed || (review["payment_id"] == id && review["status"] == "PENDING" &&
                            review["reason"] == "high_amount" && review["amount_cents"] == 150000);
    }
    EXPECT_TRUE(listed);

    const auto [status, body] = Decide(id, "approve", stack_->ApiKey());
    ASSERT_EQ(status, 200) << body.dump();
    EXPECT_EQ(body["status"], "APPROVED");
    EXPECT_EQ(body["reviewed_by"], "ops-user");

    const auto payment = stack_->WaitForStatus(id, {"SETTLED", "FAILED"});
    EXPECT_EQ(payment["status"], "SETTLED");
    const auto reasons = Reasons(payment);
    EXPECT_EQ(reasons.at(1), "risk_review_required:high_amount");
    EXPECT_EQ(reasons.at(2), "manual_approve");
}

TEST_F(DecisionPaths, DeniedReviewFailsAndIsNotifiedOnce) {
    const std::string id = PayAndGetId(UniqueName("cust-risk"), 250000);
    ASSERT_EQ(stack_->WaitForStatus(id, {"RISK_REVIEW"})["status"], "RISK_REVIEW");

    ASSERT_EQ(Decide(id, "deny", stack_->ApiKey()).first, 200);

    const auto payment = stack_->WaitForStatus(id, {"FAILED"});
    EXPECT_EQ(payment["status"], "FAILED");
    EXPECT_EQ(Reasons(payment).back(), "manual_deny");
    auto db = stack_->Db("notification");
    EXPECT_TRUE(Eventually([&] {
        return db.Exec(
                     "SELECT 1 FROM notification_logs WHERE payment_id = $1 AND outcome = 'FAILED'",
                     {id}
               )
                   .Size() == 1;
    }));
    EXPECT_EQ(
        db.Exec("SELECT count(*) FROM notification_logs WHERE payment_id = $1", {id}).GetInt(0, 0),
        1
    );
}

TEST_F(DecisionPaths, ConcurrentDecisionsLetExactlyOneWin) {
    for (int round = 0; round < 5; ++round) {
        const std::string id = PayAndGetId(UniqueName("cust-race"), 300000);
        ASSERT_EQ(stack_->WaitForStatus(id, {"RISK_REVIEW"})["status"], "RISK_REVIEW");

        auto approve = std::async(std::launch::async, [&] {
            return Decide(id, "approve", stack_->ApiKey()).first;
        });
        auto deny = std::async(std::launch::async, [&] {
            return Decide(id, "deny", stack_->ApiKey()).first;
        });
        const int a = approve.get();
        const int d = deny.get();

        EXPECT_TRUE((a == 200 && d == 409) || (a == 409 && d == 200)) << a << " " << d;
        auto risk = stack_->Db("risk");
        EXPECT_EQ(
            risk.Exec(
                    "SELECT count(*) FROM outbox_events WHERE aggregate_id = $1 AND "
                    "payload->'payload'->>'reason' IN ('manual_approve', 'manual_deny')",
                    {id}
            )
                .GetInt(0, 0),
            1
        );
        const auto payment = stack_->WaitForStatus(id, {"SETTLED", "FAILED"});
        EXPECT_EQ(payment["status"], a == 200 ? "SETTLED" : "FAILED");
    }
}

TEST_F(DecisionPaths, ReviewEndpointsAnswerWithTheRightCodes) {
    const std::string id = PayAndGetId(UniqueName("cust-risk"), 150001);
    ASSERT_EQ(stack_->WaitForStatus(id, {"RISK_REVIEW"})["status"], "RISK_REVIEW");

    EXPECT_EQ(Decide(id, "approve", "wrong-key").first, 401);
    EXPECT_EQ(
        Decide("00000000-0000-4000-8000-000000000000", "approve", stack_->ApiKey()).first, 404
    );
    EXPECT_EQ(Decide("not-a-uuid", "approve", stack_->ApiKey()).first, 404);
    EXPECT_EQ(Decide(id, "approve", stack_->ApiKey()).first, 200);
    const auto again = Decide(id, "deny", stack_->ApiKey());
    EXPECT_EQ(again.first, 409);
    EXPECT_EQ(again.second["error"]["code"], "review_already_decided");
}

TEST_F(DecisionPaths, VelocitySendsThe21stToReviewAndDeniesThe51st) {
    const std::string customer = UniqueName("cust-burst");
    std::vector<std::string> ids;
    for (int i = 1; i <= 51; ++i) {
        ids.push_back(PayAndGetId(customer, 1000));
    }

    // Risk counts a customer's payments in the order it receives them: the first 20 settle, the
    // 21st to 50th wait for review, the 51st is denied.
    std::map<std::string, int> by_status;
    std::map<std::string, int> by_reason;
    std::map<std::string, std::string> status_of;
    for (const auto& id : ids) {
        const auto payment = stack_->WaitForStatus(id, {"SETTLED", "RISK_REVIEW", "FAILED"});
        const std::string status = payment.value("status", "?");
        ++by_status[status];
        status_of[id] = status;
        if (status != "SETTLED") {
            ++by_reason[Reasons(payment).back()];
        }
    }
    EXPECT_EQ(
        by_status, (std::map<std::string, int>{{"SETTLED", 20}, {"RISK_REVIEW", 30}, {"FAILED", 1}})
    );
    EXPECT_EQ(
        by_reason,
        (std::map<std::string, int>{
            {"risk_review_required:velocity_threshold", 30}, {"risk_denied:high_frequency", 1}})
    );
    if (stack_->Bus() == "redis") {
        // One stream: risk receives them in POST order. On Kafka a customer's payments are spread
        // over partitions by payment id, so which one is the 21st is the order of arrival there
        // (docs/kafka.md, Differences).
        EXPECT_EQ(status_of[ids[19]], "SETTLED");
        EXPECT_EQ(status_of[ids[20]], "RISK_REVIEW");
        EXPECT_EQ(status_of[ids[49]], "RISK_REVIEW");
        EXPECT_EQ(status_of[ids[50]], "FAILED");
    }
}

TEST_F(DecisionPaths, ThreeProviderDeclinesSendTheNextPaymentToReview) {
    const std::string customer = UniqueName("force-decline");
    for (int i = 0; i < 3; ++i) {
        const std::string id = PayAndGetId(customer, 1000);
        ASSERT_EQ(stack_->WaitForStatus(id, {"FAILED"})["status"], "FAILED");
    }
    auto redis = stack_->Redis();  // risk's velocity store: Redis on every bus
    const std::string key = "risk:failed:" + std::to_string(customer.size()) + ":" + customer;
    ASSERT_TRUE(Eventually([&] { return redis.Command({"ZCARD", key}).integer == 3; }));

    const auto fourth =
        stack_->WaitForStatus(PayAndGetId(customer, 1000), {"RISK_REVIEW", "FAILED"});

    EXPECT_EQ(fourth["status"], "RISK_REVIEW");
    EXPECT_EQ(Reasons(fourth).back(), "risk_review_required:multiple_failed_attempts");
}

TEST_F(DecisionPaths, AnEventLostFromTheBusIsReEmittedByTheSweeper) {
    stack_->Stop("risk");
    const std::string customer = UniqueName("cust-lost");
    const std::string id = PayAndGetId(customer, 1200);
    if (stack_->Bus() == "redis") {
        // Redis only: the entry is deleted from its stream, as a Redis that lost it would.
        auto redis = stack_->Redis();
        const std::string stream = stack_->StreamPrefix() + "payments.requested";
        std::string entry;
        ASSERT_TRUE(Eventually([&] {
            const auto tail = redis.Command({"XREVRANGE", stream, "+", "-", "COUNT", "50"});
            for (const auto& e : tail.elements) {
                if (e.elements.size() == 2 && e.elements[1].elements.size() >= 4 &&
                    e.elements[1].elements[1].str == id) {
                    entry = e.elements[0].str;
                    return true;
                }
            }
            return false;
        }));
        EXPECT_EQ(redis.Command({"XDEL", stream, entry}).integer, 1);
    } else {
        // Any other bus (a Kafka log cannot lose one message on request): once published, the
        // request is marked consumed in risk's inbox, so risk acknowledges it without acting,
        // which is what a lost message comes to.
        auto orchestrator = stack_->Db("orchestrator");
        std::string event_id;
        ASSERT_TRUE(Eventually([&] {
            const auto rows = orchestrator.Exec(
                "SELECT payload->>'event_id' FROM outbox_events WHERE aggregate_id = $1 AND "
                "topic = 'payments.requested' AND status = 'SENT'",
                {id}
            );
            event_id = rows.Empty() ? "" : rows.GetString(0, 0);
            return !event_id.empty();
        }));
        stack_->Db("risk").Exec(
            "INSERT INTO inbox_events (event_id, consumed_by_service) VALUES ($1, 'risk')",
            {event_id}
        );
    }
    stack_->Start("risk");

    const auto payment = stack_->WaitForStatus(id, {"SETTLED"}, std::chrono::seconds(30));
    // Only the sweeper re-emits payments.requested: settling proves the re-drive.
    EXPECT_EQ(payment["status"], "SETTLED");
    auto db = stack_->Db("orchestrator");
    // Each step's progress reset the back-off, so no later state waited a doubled delay.
    EXPECT_EQ(
        db.Exec("SELECT redrive_count FROM payments WHERE payment_id = $1", {id}).GetInt(0, 0), 0
    );
}

TEST_F(DecisionPaths, RedeliveredRequestsAreCountedOnceForVelocity) {
    const std::string customer = UniqueName("cust-once");
    const std::string id = PayAndGetId(customer, 1300);
    ASSERT_EQ(stack_->WaitForStatus(id, {"SETTLED"})["status"], "SETTLED");
    auto risk = stack_->Db("risk");
    const std::string envelope = risk.Exec(
                                         "SELECT payload::text FROM outbox_events WHERE "
                                         "aggregate_id = $1 AND topic = 'risk.approved'",
                                         {id}
    )
                                     .GetString(0, 0);
    auto redis = stack_->Redis();  // risk's velocity store: Redis on every bus
    const std::string key = "risk:velocity:" + std::to_string(customer.size()) + ":" + customer;
    ASSERT_EQ(redis.Command({"ZCARD", key}).integer, 1);

    // The same payments.requested again, and a re-emission with a new event id.
    auto orchestrator = stack_->Db("orchestrator");
    const std::string requested =
        orchestrator
            .Exec(
                "SELECT payload::text FROM outbox_events WHERE aggregate_id = $1 "
                "AND topic = 'payments.requested'",
                {id}
            )
            .GetString(0, 0);
    auto fresh = nlohmann::json::parse(requested);
    fresh["event_id"] = "00000000-0000-4000-8000-" + UniqueName("x").substr(2, 12);
    // The sweeper may already have re-emitted the request on a slow start (Kafka's first
    // rebalance): each re-emission is answered again, so count from here.
    const auto risk_answers = [&] {
        return risk
            .Exec(
                "SELECT count(*) FROM outbox_events WHERE aggregate_id = $1 AND topic = "
                "'risk.approved'",
                {id}
            )
            .GetInt(0, 0);
    };
    const auto before = risk_answers();
    // Through the orchestrator's outbox, so that it works on every bus.
    PublishThroughOutbox("orchestrator", nlohmann::json::parse(requested));
    PublishThroughOutbox("orchestrator", fresh);

    // The re-emission is answered once more (the duplicate is absorbed by risk's inbox); what
    // this test is about is below: neither reached the customer's velocity window twice.
    EXPECT_TRUE(Eventually([&] { return risk_answers() >= before + 1; }));
    EXPECT_EQ(redis.Command({"ZCARD", key}).integer, 1);
    EXPECT_EQ(
        risk.Exec("SELECT count(*) FROM risk_decisions WHERE payment_id = $1", {id}).GetInt(0, 0), 1
    );
    EXPECT_EQ(stack_->Payment(id)["status"], "SETTLED");
    EXPECT_FALSE(envelope.empty());
}

TEST_F(DecisionPaths, AStaleEventIsAcknowledgedAndCountedNotLooped) {
    const std::string id = PayAndGetId(UniqueName("cust-stale"), 1400);
    ASSERT_EQ(stack_->WaitForStatus(id, {"SETTLED"})["status"], "SETTLED");
    nlohmann::json stale = {
        {"event_id", "11111111-1111-4111-8111-" + UniqueName("s").substr(2, 12)},
        {"event_type", "risk.approved"},
        {"aggregate_id", id},
        {"occurred_at", "2026-01-01T00:00:00.000000+00:00"},
        {"trace_id", "stale-test"},
        {"payload", {{"decision", "APPROVE"}, {"reason", "rule_passed"}, {"customer_id", "x"}}},
    };
    const std::string stale_series =
        R"(stale_events_total{service="orchestrator",topic="risk.approved"})";
    const std::string duplicate_series =
        R"(duplicate_events_skipped_total{service="orchestrator",topic="risk.approved"})";
    const double stale_before = OrchestratorMetric(stale_series);
    const double duplicates_before = OrchestratorMetric(duplicate_series);
    PublishThroughOutbox("risk", stale);

    auto db = stack_->Db("orchestrator");
    EXPECT_TRUE(Eventually([&] {
        return db.Exec(
                     "SELECT 1 FROM inbox_events WHERE event_id = $1",
                     {stale["event_id"].get<std::string>()}
               )
                   .Size() == 1;
    }));
    EXPECT_EQ(stack_->Payment(id)["status"], "SETTLED");
    EXPECT_TRUE(Eventually([&] { return OrchestratorMetric(stale_series) >= stale_before + 1; }));
    // Acknowledged, not looped: past the visibility timeout (3 s) it was not delivered again
    // (a second delivery would be skipped as a duplicate and counted). The stale count itself
    // may read 2 on Kafka (seen once in three runs; docs/kafka.md, Open): what must not happen
    // is a count that keeps growing.
    const double stale_after = OrchestratorMetric(stale_series);
    EXPECT_LE(stale_after, stale_before + 2);
    std::this_thread::sleep_for(std::chrono::milliseconds(3500));
    EXPECT_EQ(OrchestratorMetric(stale_series), stale_after);
    EXPECT_EQ(OrchestratorMetric(duplicate_series), duplicates_before);
    if (stack_->Bus() == "redis") {
        // Redis only: nothing is left pending in the consumer group.
        const auto pending = stack_->Redis().Command(
            {"XPENDING", stack_->StreamPrefix() + "risk.approved", "orchestrator-risk-approved"}
        );
        EXPECT_EQ(pending.elements.at(0).integer, 0);
    }
}

}  // namespace
}  // namespace sagapay::testing

namespace sagapay::testing {
namespace {

TEST(ReviewExpiry, AReviewNobodyDecidesIsDeniedAfterTheExpiry) {
    E2eStack stack(std::map<std::string, std::string>{{"RISK_REVIEW_EXPIRY_SECONDS", "1"}});
    for (const auto& service : E2eStack::AllServices()) {
        stack.Start(service);
    }
    const auto [status, body] = stack.Pay(UniqueName("cust-expiry"), 500000, UniqueName("order"));
    ASSERT_EQ(status, 200);

    const auto payment = stack.WaitForStatus(body["payment_id"], {"FAILED", "SETTLED"});

    EXPECT_EQ(payment["status"], "FAILED");
    EXPECT_EQ(payment["timeline"].back()["reason"], "manual_deny");
    const auto review = stack.Db("risk").Exec(
        "SELECT status, reviewed_by FROM risk_reviews WHERE payment_id = $1",
        {body["payment_id"].get<std::string>()}
    );
    ASSERT_EQ(review.Size(), 1);
    EXPECT_EQ(review.GetString(0, 0), "DENIED");
    EXPECT_EQ(review.GetString(0, 1), "system:expiry");
    if (HasFailure()) {
        stack.DumpLogs();
    }
}

}  // namespace
}  // namespace sagapay::testing
