#include <atomic>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "testing/test_env.hpp"
#include "tests/e2e/e2e_stack.hpp"

namespace sagapay::testing {
namespace {

class Gateway : public StackSuite<Gateway> {
public:
    static std::map<std::string, std::string> Environment() {
        return {{"RATE_LIMIT_PER_MINUTE", "10"}};
    }

protected:
    static http::ClientResult Post(
        const std::string& body, const std::vector<std::pair<std::string, std::string>>& headers
    ) {
        http::Client client(stack_->Url("gateway"));
        return client.Send("POST", "/payments", body, headers);
    }

    static std::string Body(
        const std::string& customer,
        const std::string& amount,
        const std::string& key,
        const std::string& currency = "\"USD\""
    ) {
        return R"({"customer_id":")" + customer + R"(","amount_cents":)" + amount +
               R"(,"currency":)" + currency + R"(,"idempotency_key":")" + key + "\"}";
    }

    static std::int64_t PaymentCount() {
        return stack_->Db("orchestrator").Exec("SELECT count(*) FROM payments").GetInt(0, 0);
    }
};

struct Case {
    std::string name;
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers;
    int status;
    std::string code;
    std::string field;
};

TEST_F(Gateway, RefusesEveryBadRequestWithAStableErrorAndWritesNothing) {
    const std::string key = "e2e-secret";
    const auto json = std::pair<std::string, std::string>{"content-type", "application/json"};
    const auto auth = std::pair<std::string, std::string>{"x-api-key", key};
    const std::vector<Case> cases = {
        {"no key", Body("c1", "100", "key-00001"), {json}, 401, "unauthorized", ""},
        {"wrong key",
         Body("c1", "100", "key-00001"),
         {json, {"x-api-key", "nope"}},
         401,
         "unauthorized",
         ""},
        {"text body",
         Body("c1", "100", "key-00001"),
         {{"content-type", "text/plain"}, auth},
         415,
         "unsupported_media_type",
         ""},
        {"malformed", "{\"customer_id\":", {json, auth}, 400, "malformed_json", ""},
        {"amount string",
         Body("c1", "\"100\"", "key-00001"),
         {json, auth},
         422,
         "validation_error",
         "amount_cents"},
        {"amount fraction",
         Body("c1", "1.5", "key-00001"),
         {json, auth},
         422,
         "validation_error",
         "amount_cents"},
        {"amount exponent",
         Body("c1", "1e3", "key-00001"),
         {json, auth},
         422,
         "validation_error",
         "amount_cents"},
        {"amount zero",
         Body("c1", "0", "key-00001"),
         {json, auth},
         422,
         "validation_error",
         "amount_cents"},
        {"amount huge",
         Body("c1", "99999999999999999999", "key-00001"),
         {json, auth},
         422,
         "validation_error",
         "amount_cents"},
        {"amount over max",
         Body("c1", "1000000000001", "key-00001"),
         {json, auth},
         422,
         "validation_error",
         "amount_cents"},
        {"currency unknown",
         Body("c1", "100", "key-00001", "\"XYZ\""),
         {json, auth},
         422,
         "validation_error",
         "currency"},
        {"currency number",
         Body("c1", "100", "key-00001", "840"),
         {json, auth},
         422,
         "validation_error",
         "currency"},
        {"customer spaces",
         Body("c 1", "100", "key-00001"),
         {json, auth},
         422,
         "validation_error",
         "customer_id"},
        {"customer too long",
         Body(std::string(65, 'c'), "100", "key-00001"),
         {json, auth},
         422,
         "validation_error",
         "customer_id"},
        {"key too short",
         Body("c1", "100", "k1"),
         {json, auth},
         422,
         "validation_error",
         "idempotency_key"},
        {"unknown field",
         R"({"customer_id":"c1","amount_cents":1,"currency":"USD","idempotency_key":"key-00001","tip":5})",
         {json, auth},
         422,
         "validation_error",
         "tip"},
        {"too large",
         std::string(20000, ' ') + Body("c1", "100", "key-00001"),
         {json, auth},
         413,
         "payload_too_large",
         ""},
    };
    const std::int64_t before = PaymentCount();

    for (const Case& c : cases) {
        const auto result = Post(c.body, c.headers);

        ASSERT_TRUE(result.has_value()) << c.name << ": " << result.error().message;
        EXPECT_EQ(result->status, c.status) << c.name << ": " << result->body;
        const auto body = nlohmann::json::parse(result->body, nullptr, false);
        ASSERT_TRUE(body.is_object() && body.contains("error")) << c.name << ": " << result->body;
        EXPECT_EQ(body["error"]["code"], c.code) << c.name;
        EXPECT_TRUE(body["error"]["message"].is_string()) << c.name;
        if (c.field.empty()) {
            EXPECT_TRUE(body["error"]["field"].is_null()) << c.name;
        } else {
            EXPECT_EQ(body["error"]["field"], c.field) << c.name;
        }
    }

    EXPECT_EQ(PaymentCount(), before);
    http::Client client(stack_->Url("gateway"));
    EXPECT_EQ(client.Get("/payments")->status, 405);
    EXPECT_EQ(client.Get("/nowhere")->status, 404);
}

TEST_F(Gateway, ConcurrentFirstRequestsWithOneKeyMakeExactlyOnePayment) {
    const std::string customer = UniqueName("cust");
    const std::string key = UniqueName("order");
    std::mutex mutex;
    std::set<std::string> ids;
    std::atomic<int> ok{0};
    {
        std::vector<std::jthread> threads;
        threads.reserve(8);
        for (int i = 0; i < 8; ++i) {
            threads.emplace_back([&] {
                const auto result = Post(
                    Body(customer, "4200", key),
                    {{"content-type", "application/json"}, {"x-api-key", stack_->ApiKey()}}
                );
                if (result.has_value() && result->status == 200) {
                    ++ok;
                    const std::lock_guard lock(mutex);
                    ids.insert(nlohmann::json::parse(result->body)["payment_id"].get<std::string>()
                    );
                }
            });
        }
    }

    EXPECT_EQ(ok.load(), 8);
    EXPECT_EQ(ids.size(), 1U);
    EXPECT_EQ(
        stack_->Db("orchestrator")
            .Exec(
                "SELECT count(*) FROM payments WHERE customer_id = $1 AND idempotency_key = $2",
                {customer, key}
            )
            .GetInt(0, 0),
        1
    );
}

TEST_F(Gateway, ABurstNeverGetsMoreThanTheBucketHolds) {
    const std::string customer = UniqueName("burst");
    std::atomic<int> admitted{0};
    std::atomic<int> limited{0};
    std::atomic<int> with_retry_after{0};
    {
        std::vector<std::jthread> threads;
        threads.reserve(8);
        for (int t = 0; t < 8; ++t) {
            threads.emplace_back([&] {
                for (int i = 0; i < 5; ++i) {
                    const auto result = Post(
                        Body(customer, "100", UniqueName("k")),
                        {{"content-type", "application/json"}, {"x-api-key", stack_->ApiKey()}}
                    );
                    if (!result.has_value()) {
                        continue;
                    }
                    if (result->status == 200) {
                        ++admitted;
                    } else if (result->status == 429) {
                        ++limited;
                        with_retry_after += result->Header("retry-after").empty() ? 0 : 1;
                    }
                }
            });
        }
    }

    EXPECT_EQ(admitted.load(), 10);
    EXPECT_EQ(limited.load(), 30);
    EXPECT_EQ(with_retry_after.load(), 30);
}

TEST_F(Gateway, KeysAreScopedPerCustomerAndNeverCollide) {
    const std::string suffix = UniqueName("x");
    const auto a = stack_->Pay("a:b" + suffix, 100, "c-key1");
    const auto b = stack_->Pay("a" + suffix, 100, "b:c-key1");
    const auto other = stack_->Pay(UniqueName("other"), 100, "c-key1");

    ASSERT_EQ(a.first, 200);
    ASSERT_EQ(b.first, 200);
    ASSERT_EQ(other.first, 200);
    EXPECT_NE(a.second["payment_id"], b.second["payment_id"]);
    EXPECT_NE(a.second["payment_id"], other.second["payment_id"]);
}

TEST_F(Gateway, AReplayReportsTheCurrentStatusAndAnotherBodyIsRefused) {
    const std::string customer = UniqueName("cust");
    const std::string key = UniqueName("order");
    const auto first = stack_->Pay(customer, 777, key);
    ASSERT_EQ(first.first, 200);
    ASSERT_EQ(stack_->WaitForStatus(first.second["payment_id"], {"SETTLED"})["status"], "SETTLED");

    const auto replay = stack_->Pay(customer, 777, key);
    const auto changed = stack_->Pay(customer, 778, key);

    EXPECT_EQ(replay.first, 200);
    EXPECT_EQ(replay.second["payment_id"], first.second["payment_id"]);
    EXPECT_EQ(replay.second["status"], "SETTLED");
    EXPECT_EQ(changed.first, 422);
    EXPECT_EQ(changed.second["error"]["code"], "idempotency_key_reused");
}

TEST_F(Gateway, AnUnreachableOrchestratorIs503AndTheRetryIsSafe) {
    const std::string customer = UniqueName("cust");
    const std::string key = UniqueName("order");
    stack_->Stop("orchestrator");

    const auto down = stack_->Pay(customer, 900, key);
    stack_->Start("orchestrator");
    const auto retry = stack_->Pay(customer, 900, key);
    const auto again = stack_->Pay(customer, 900, key);

    EXPECT_EQ(down.first, 503);
    EXPECT_EQ(down.second["error"]["code"], "orchestrator_unavailable");
    ASSERT_EQ(retry.first, 200);
    EXPECT_EQ(again.second["payment_id"], retry.second["payment_id"]);
    EXPECT_EQ(
        stack_->Db("orchestrator")
            .Exec("SELECT count(*) FROM payments WHERE customer_id = $1", {customer})
            .GetInt(0, 0),
        1
    );
}

}  // namespace
}  // namespace sagapay::testing
