#include "app/console/console_api.hpp"

#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "testing/fake_clock.hpp"
#include "testing/http_request.hpp"

namespace sagapay::console {
namespace {

constexpr const char* kPending = "11111111-1111-4111-8111-111111111111";
constexpr const char* kDecided = "22222222-2222-4222-8222-222222222222";
constexpr const char* kMissing = "33333333-3333-4333-8333-333333333333";

class FakeStore final : public ConsoleStore {
public:
    nlohmann::json ListReviews(const ReviewFilter& filter) override {
        last_filter = filter;
        return {{"reviews", nlohmann::json::array()}, {"has_more", false}};
    }
    nlohmann::json ReviewOf(const std::string& payment_id) override {
        const auto it = reviews.find(payment_id);
        return it == reviews.end() ? nlohmann::json() : it->second;
    }
    nlohmann::json SearchPayments(const PaymentFilter&) override {
        return {{"payments", nlohmann::json::array()}, {"has_more", false}};
    }
    std::optional<nlohmann::json> PaymentPage(const std::string& payment_id) override {
        if (payment_id != kPending) {
            return std::nullopt;
        }
        return nlohmann::json{{"payment", {{"payment_id", payment_id}}}};
    }
    std::map<std::string, std::string> PaymentStatuses(const std::vector<std::string>& ids
    ) override {
        std::map<std::string, std::string> out;
        for (const auto& id : ids) {
            if (id == kDecided) {
                out[id] = "REVERSED";
            }
        }
        return out;
    }
    nlohmann::json ListAudit(const Page&) override {
        return {{"entries", nlohmann::json::array()}, {"has_more", false}};
    }
    void RecordAudit(const AuditEntry& entry) override { audit.push_back(entry); }

    std::map<std::string, nlohmann::json> reviews = {
        {kPending, {{"status", "PENDING"}, {"reviewed_by", nullptr}, {"reviewed_at", nullptr}}},
        {kDecided, {{"status", "DENIED"}, {"reviewed_by", "bob"}, {"reviewed_at", "t0"}}},
    };
    std::vector<AuditEntry> audit;
    std::optional<ReviewFilter> last_filter;
};

/// Risk as the review API answers: 200 once for a pending review, 409 after, 404 unknown.
class FakeDecider final : public ReviewDecider {
public:
    explicit FakeDecider(FakeStore& store) : store_(store) {}
    Answer Decide(const std::string& payment_id, bool approve, const std::string& by) override {
        calls.push_back(payment_id + ":" + (approve ? "approve" : "deny") + ":" + by);
        const auto it = store_.reviews.find(payment_id);
        if (it == store_.reviews.end()) {
            return {404, {{"error", {{"code", "review_not_found"}}}}, {}};
        }
        if (it->second["status"] != "PENDING") {
            return {409, {{"error", {{"code", "review_already_decided"}}}}, {}};
        }
        const std::string status = approve ? "APPROVED" : "DENIED";
        it->second = {{"status", status}, {"reviewed_by", by}, {"reviewed_at", "t1"}};
        return {200, {{"payment_id", payment_id}, {"status", status}}, {}};
    }
    std::vector<std::string> calls;

private:
    FakeStore& store_;
};

class FakeDeadLetters final : public DeadLetters {
public:
    std::vector<app::ParkedMessage> List(const std::string& topic) override {
        return {
            {.position = "1-0",
             .event_id = "e-final",
             .aggregate_id = kDecided,
             .reason = "RETRY_EXHAUSTED",
             .error_type = "",
             .replay_topic = topic,
             .replayable = true},
            {.position = "2-0",
             .event_id = "e-other",
             .aggregate_id = kMissing,
             .reason = "handler_failed",
             .error_type = "",
             .replay_topic = topic,
             .replayable = true},
        };
    }
    std::optional<app::ParkedDetail> Find(const std::string&, const std::string& id) override {
        if (id != "e-final") {
            return std::nullopt;
        }
        app::ParkedDetail detail;
        detail.summary.event_id = id;
        detail.summary.aggregate_id = kDecided;
        detail.envelope = {{"event_id", id}};
        return detail;
    }
    app::ReplayOutcome Replay(const std::string& topic, const std::string& id) override {
        using Kind = app::ReplayOutcome::Kind;
        app::ReplayOutcome outcome;
        outcome.replay_topic = topic;
        if (id == "e-final") {
            outcome.kind = Kind::kRefused;
            outcome.payment_id = kDecided;
            outcome.message = "the payment is REVERSED; a replay could move money again";
        } else if (id == "e-waiting") {
            outcome.kind = Kind::kReplayed;
            outcome.payment_id = kPending;
            outcome.new_event_id = "e-new";
        } else {
            outcome.kind = Kind::kNoMatch;
        }
        return outcome;
    }
};

class FakeHealth final : public HealthSource {
public:
    nlohmann::json Snapshot() override { return {{"source", "services"}}; }
};

constexpr Asset kAssets[] = {{"/", "text/html; charset=utf-8", "<html></html>"}};

class ConsoleApiTest : public ::testing::Test {
protected:
    ConsoleApiTest()
        : sessions_(
              {.idle_timeout = std::chrono::seconds(60), .max_sessions = 8},
              clock_,
              [this] { return "tok" + std::to_string(++tokens_); }
          ),
          decider_(store_),
          api_(
              {.ops_api_key = "ops-secret", .assets = kAssets},
              sessions_,
              store_,
              decider_,
              dead_letters_,
              health_
          ) {
        api_.AddRoutes(router_);
    }

    http::Response Call(
        const std::string& method,
        const std::string& target,
        const std::string& body = {},
        std::vector<std::pair<std::string, std::string>> headers = {}
    ) {
        http::Request request = testing::RequestFor(method, target, body, std::move(headers));
        return router_.Dispatch(request);
    }

    /// Logs in; returns the headers a page would send (cookie and CSRF token).
    std::vector<std::pair<std::string, std::string>> LogIn(const std::string& name = "alice") {
        const auto response = Call(
            "POST", "/api/login", R"({"operator": ")" + name + R"(", "ops_key": "ops-secret"})"
        );
        EXPECT_EQ(response.status, 200) << response.body;
        const std::string cookie(response.Header("set-cookie"));
        const auto body = nlohmann::json::parse(response.body);
        return {
            {"cookie", cookie.substr(0, cookie.find(';'))},
            {"x-csrf-token", body["csrf_token"].get<std::string>()},
        };
    }

    static std::string Code(const http::Response& response) {
        return nlohmann::json::parse(response.body)["error"]["code"].get<std::string>();
    }

    testing::FakeClock clock_;
    int tokens_ = 0;
    FakeStore store_;
    SessionStore sessions_;
    FakeDecider decider_;
    FakeDeadLetters dead_letters_;
    FakeHealth health_;
    ConsoleApi api_;
    http::Router router_;
};

TEST_F(ConsoleApiTest, AWrongKeyOpensNoSessionAndIsNotAudited) {
    const auto response =
        Call("POST", "/api/login", R"({"operator": "mallory", "ops_key": "guess"})");

    EXPECT_EQ(response.status, 401);
    EXPECT_EQ(Code(response), "unauthorized");
    EXPECT_TRUE(response.Header("set-cookie").empty());
    EXPECT_EQ(sessions_.Size(), 0U);
    EXPECT_TRUE(store_.audit.empty());
    EXPECT_EQ(Call("POST", "/api/login", "not json").status, 400);
    EXPECT_EQ(Call("POST", "/api/login", R"({"ops_key": "ops-secret"})").status, 422);
}

TEST_F(ConsoleApiTest, LoginSetsAnHttpOnlyStrictCookieAndReturnsTheCsrfToken) {
    const auto response =
        Call("POST", "/api/login", R"({"operator": "alice", "ops_key": "ops-secret"})");

    ASSERT_EQ(response.status, 200);
    EXPECT_EQ(
        response.Header("set-cookie"), "sagapay_console=tok1; HttpOnly; SameSite=Strict; Path=/"
    );
    const auto body = nlohmann::json::parse(response.body);
    EXPECT_EQ(body["operator"], "alice");
    EXPECT_EQ(body["csrf_token"], "tok2");
    EXPECT_EQ(body["idle_timeout_seconds"], 60);
    ASSERT_EQ(store_.audit.size(), 1U);
    EXPECT_EQ(store_.audit[0].action, "session.login");
}

TEST_F(ConsoleApiTest, EveryApiCallNeedsTheSessionAndEveryChangeTheCsrfToken) {
    EXPECT_EQ(Code(Call("GET", "/api/reviews")), "session_required");
    EXPECT_EQ(
        Code(Call("GET", "/api/session", {}, {{"cookie", "sagapay_console=forged"}})),
        "session_required"
    );
    const auto headers = LogIn();
    const std::string body =
        R"({"decision": "deny", "payment_ids": [")" + std::string(kPending) + R"("]})";

    const auto without = Call("POST", "/api/reviews/decide", body, {headers[0]});
    const auto wrong =
        Call("POST", "/api/reviews/decide", body, {headers[0], {"x-csrf-token", "tok1"}});

    EXPECT_EQ(without.status, 403);
    EXPECT_EQ(Code(without), "csrf_invalid");
    EXPECT_EQ(wrong.status, 403);
    EXPECT_TRUE(decider_.calls.empty());
    EXPECT_EQ(Call("GET", "/api/reviews", {}, {headers[0]}).status, 200);  // reads need no token
}

TEST_F(ConsoleApiTest, ASessionIdleForTheTimeoutIsRefused) {
    const auto headers = LogIn();
    clock_.Advance(std::chrono::seconds(59));
    EXPECT_EQ(Call("GET", "/api/session", {}, headers).status, 200);
    clock_.Advance(std::chrono::seconds(60));
    EXPECT_EQ(Code(Call("GET", "/api/session", {}, headers)), "session_required");
}

TEST_F(ConsoleApiTest, BulkDecisionsReportEachOutcomeAndWhoDecidedFirstAndAreAudited) {
    const auto headers = LogIn("carol");
    const std::string body =
        std::string(R"({"decision": "deny", "note": "card reported stolen", )") +
        R"("payment_ids": [")" + kPending + R"(", ")" + kDecided + R"(", ")" + kMissing + R"("]})";

    const auto response = Call("POST", "/api/reviews/decide", body, headers);

    ASSERT_EQ(response.status, 200) << response.body;
    const auto results = nlohmann::json::parse(response.body)["results"];
    ASSERT_EQ(results.size(), 3U);
    EXPECT_EQ(results[0]["outcome"], "denied");
    EXPECT_EQ(results[0]["decided_by"], "carol");
    EXPECT_EQ(results[1]["outcome"], "already_decided");
    EXPECT_EQ(results[1]["decided_by"], "bob");
    EXPECT_EQ(results[1]["status"], "DENIED");
    EXPECT_EQ(results[2]["outcome"], "not_found");
    EXPECT_EQ(decider_.calls[0], std::string(kPending) + ":deny:carol");
    ASSERT_EQ(store_.audit.size(), 4U);  // the login and three decisions
    const AuditEntry& denied = store_.audit[1];
    EXPECT_EQ(denied.operator_name, "carol");
    EXPECT_EQ(denied.action, "review.deny");
    EXPECT_EQ(denied.target, kPending);
    EXPECT_EQ(denied.outcome, "denied");
    EXPECT_EQ(denied.before["status"], "PENDING");
    EXPECT_EQ(denied.after["status"], "DENIED");
    EXPECT_EQ(denied.after["note"], "card reported stolen");
    EXPECT_EQ(store_.audit[2].outcome, "already_decided");
}

TEST_F(ConsoleApiTest, AReplayForAFinalPaymentIsRefusedWithTheReasonAndAudited) {
    const auto headers = LogIn();

    const auto refused = Call(
        "POST", "/api/dlq/replay", R"({"topic": "payments.dlq", "event_id": "e-final"})", headers
    );
    const auto replayed = Call(
        "POST", "/api/dlq/replay", R"({"topic": "deadletter", "event_id": "e-waiting"})", headers
    );
    const auto missing = Call(
        "POST", "/api/dlq/replay", R"({"topic": "deadletter", "event_id": "e-none"})", headers
    );

    EXPECT_EQ(refused.status, 409);
    EXPECT_EQ(Code(refused), "replay_refused");
    EXPECT_NE(refused.body.find("is REVERSED"), std::string::npos) << refused.body;
    ASSERT_EQ(replayed.status, 200);
    EXPECT_EQ(nlohmann::json::parse(replayed.body)["new_event_id"], "e-new");
    EXPECT_EQ(missing.status, 404);
    ASSERT_EQ(store_.audit.size(), 3U);  // the login, the refusal and the replay
    EXPECT_EQ(store_.audit[1].action, "dlq.replay");
    EXPECT_EQ(store_.audit[1].before["payment_status"], "REVERSED");
    EXPECT_EQ(store_.audit[1].outcome.rfind("refused", 0), 0U);
    EXPECT_EQ(store_.audit[2].after["new_event_id"], "e-new");
}

TEST_F(ConsoleApiTest, TheDlqListCarriesEachPaymentsStatusAndFiltersByReason) {
    const auto headers = LogIn();
    const auto all =
        nlohmann::json::parse(Call("GET", "/api/dlq?topic=payments.dlq", {}, headers).body);
    const auto filtered =
        nlohmann::json::parse(Call("GET", "/api/dlq?reason=retry", {}, headers).body);

    ASSERT_EQ(all["entries"].size(), 2U);
    EXPECT_EQ(all["entries"][0]["payment_status"], "REVERSED");
    EXPECT_TRUE(all["entries"][1]["payment_status"].is_null());
    ASSERT_EQ(filtered["entries"].size(), 1U);
    EXPECT_EQ(filtered["entries"][0]["event_id"], "e-final");
    EXPECT_EQ(Call("GET", "/api/dlq/entry?event_id=e-none", {}, headers).status, 404);
    EXPECT_EQ(
        nlohmann::json::parse(Call("GET", "/api/dlq/entry?event_id=e-final", {}, headers).body
        )["envelope"]["event_id"],
        "e-final"
    );
    EXPECT_EQ(Code(Call("GET", "/api/dlq?topic=orders", {}, headers)), "validation_error");
}

TEST_F(ConsoleApiTest, FiltersAreValidatedBeforeTheStoreIsAsked) {
    const auto headers = LogIn();
    const auto refused = Call("GET", "/api/reviews?min_amount=abc", {}, headers);
    EXPECT_EQ(refused.status, 422);
    EXPECT_EQ(nlohmann::json::parse(refused.body)["error"]["field"], "min_amount");
    EXPECT_FALSE(store_.last_filter);
    EXPECT_EQ(Call("GET", "/api/reviews?sort=amount&order=asc", {}, headers).status, 200);
    ASSERT_TRUE(store_.last_filter);
    EXPECT_TRUE(store_.last_filter->by_amount);
    EXPECT_EQ(Call("GET", "/api/payments/not-a-uuid", {}, headers).status, 404);
    EXPECT_EQ(Call("GET", std::string("/api/payments/") + kMissing, {}, headers).status, 404);
    EXPECT_EQ(Call("GET", std::string("/api/payments/") + kPending, {}, headers).status, 200);
}

TEST_F(ConsoleApiTest, LogoutEndsTheSessionAndClearsTheCookie) {
    const auto headers = LogIn();
    const auto response = Call("POST", "/api/logout", {}, headers);
    EXPECT_EQ(response.status, 204);
    EXPECT_NE(response.Header("set-cookie").find("Max-Age=0"), std::string_view::npos);
    EXPECT_EQ(Call("GET", "/api/session", {}, headers).status, 401);
    EXPECT_EQ(store_.audit.back().action, "session.logout");
}

TEST_F(ConsoleApiTest, ThePageIsServedWithAContentSecurityPolicy) {
    const auto page = Call("GET", "/");
    EXPECT_EQ(page.status, 200);
    EXPECT_EQ(page.body, "<html></html>");
    EXPECT_NE(
        page.Header("content-security-policy").find("default-src 'self'"), std::string_view::npos
    );
    EXPECT_EQ(page.Header("x-content-type-options"), "nosniff");
}

}  // namespace
}  // namespace sagapay::console
