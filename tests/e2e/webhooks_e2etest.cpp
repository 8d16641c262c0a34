// Signed webhooks end to end: receivers in Python (tests/webhooks/receiver.py) that answer at
// once, fail twice, time out and answer late, each checking the signature with Python's hmac;
// payments that authorize and settle, wait for review and fail.
#include <csignal>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <fcntl.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <spawn.h>
#include <sys/wait.h>

#include "testing/process.hpp"
#include "testing/test_env.hpp"
#include "tests/e2e/e2e_stack.hpp"

extern char** environ;  // NOLINT(readability-redundant-declaration)

namespace sagapay::testing {
namespace {

/// One receiver process on its own port (reserved at construction, so an endpoint can be
/// registered with its URL before the receiver knows the endpoint's secret), killed on
/// destruction.
class Receiver {
public:
    Receiver(std::string dir, std::string name)
        : port_(FreePort()), dir_(std::move(dir)), name_(std::move(name)) {
        log_ = dir_ + "/receiver-" + name_ + ".jsonl";
    }
    Receiver(const Receiver&) = delete;
    Receiver& operator=(const Receiver&) = delete;
    ~Receiver() {
        if (pid_ > 0) {
            kill(pid_, SIGTERM);
            int status = 0;
            waitpid(pid_, &status, 0);
        }
    }

    /// Starts the receiver, checking signatures with `secret`.
    void Start(const std::string& secret) {
        const std::string out = dir_ + "/receiver-" + name_ + ".out";
        std::vector<std::string> args = {
            "python3",
            std::string(SAGAPAY_SOURCE_DIR) + "/tests/webhooks/receiver.py",
            "--port",
            std::to_string(port_),
            "--secret",
            secret,
            "--log",
            log_,
        };
        std::vector<char*> argv;
        argv.reserve(args.size() + 1);
        for (auto& arg : args) {
            argv.push_back(arg.data());
        }
        argv.push_back(nullptr);
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_addopen(
            &actions, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644
        );
        posix_spawn_file_actions_adddup2(&actions, 1, 2);
        const int spawned = posix_spawnp(&pid_, "python3", &actions, nullptr, argv.data(), environ);
        posix_spawn_file_actions_destroy(&actions);
        if (spawned != 0) {
            throw std::runtime_error("cannot start the webhook receiver");
        }
        if (!Eventually(
                [&] { return ReadFile(out).find("ready") != std::string::npos; },
                std::chrono::seconds(10)
            )) {
            throw std::runtime_error("the webhook receiver did not start: " + ReadFile(out));
        }
    }

    [[nodiscard]] std::string Url(const std::string& path) const {
        return "http://127.0.0.1:" + std::to_string(port_) + path;
    }
    /// Every request received so far.
    [[nodiscard]] std::vector<nlohmann::json> Requests() const {
        std::vector<nlohmann::json> requests;
        std::istringstream lines(ReadFile(log_));
        for (std::string line; std::getline(lines, line);) {
            auto json = nlohmann::json::parse(line, nullptr, false);
            if (json.is_object()) {
                requests.push_back(std::move(json));
            }
        }
        return requests;
    }

private:
    int port_;
    std::string dir_;
    std::string name_;
    std::string log_;
    pid_t pid_ = -1;
};

class Webhooks : public StackSuite<Webhooks> {
public:
    static std::map<std::string, std::string> Environment() {
        return {
            {"RATE_LIMIT_PER_MINUTE", "100000"},
            {"RISK_REVIEW_AMOUNT_CENTS", "100000"},
            {"WEBHOOK_RETRY_BASE_MS", "200"},
            {"WEBHOOK_TIMEOUT_MS", "1000"},
            {"WEBHOOK_DISABLE_AFTER_FAILURES", "3"},
            {"WEBHOOK_POLL_MS", "50"},
        };
    }

protected:
    /// An ops call to the notification service.
    static std::pair<int, nlohmann::json> Ops(
        const std::string& method, const std::string& path, const nlohmann::json& body = nullptr
    ) {
        const auto answer =
            stack_->Client("notification")
                .Send(
                    method,
                    path,
                    body.is_null() ? "" : body.dump(),
                    {{"x-api-key", stack_->ApiKey()}, {"content-type", "application/json"}}
                );
        if (!answer) {
            return {0, nullptr};
        }
        return {answer->status, nlohmann::json::parse(answer->body, nullptr, false)};
    }

    static nlohmann::json Register(const std::string& url, const nlohmann::json& types) {
        const auto [status, endpoint] =
            Ops("POST", "/ops/webhooks/endpoints", {{"url", url}, {"event_types", types}});
        EXPECT_EQ(status, 201) << endpoint.dump();
        return endpoint;
    }

    static std::string PayAndGetId(const std::string& customer, std::int64_t amount) {
        const auto [status, body] = stack_->Pay(customer, amount, UniqueName("order"));
        EXPECT_EQ(status, 200) << body.dump();
        return body.value("payment_id", "");
    }

    /// The requests of `receiver` announcing `type` for `payment_id`.
    static std::vector<nlohmann::json> Of(
        const Receiver& receiver, const std::string& type, const std::string& payment_id
    ) {
        std::vector<nlohmann::json> found;
        for (auto& request : receiver.Requests()) {
            const auto body = nlohmann::json::parse(request.value("body", ""), nullptr, false);
            if (body.is_object() && body.value("type", "") == type &&
                body["data"].value("payment_id", "") == payment_id) {
                found.push_back(std::move(request));
            }
        }
        return found;
    }
};

TEST_F(Webhooks, EveryStepIsDeliveredSignedRetriedOnFailureAndLogged) {
    const std::string dir = stack_->LogDir();
    // All events, at once; settled only, after two 500s; settled only, never within the 1 s
    // timeout (disabled after 3 attempts); settled only, 300 ms late but in time.
    Receiver all(dir, "all");
    Receiver flaky(dir, "flaky");
    Receiver hung(dir, "hung");
    Receiver late(dir, "late");
    const auto all_endpoint = Register(all.Url("/ok/all"), {"*"});
    const auto flaky_endpoint = Register(flaky.Url("/fail-first-2/flaky"), {"payment.settled"});
    const auto hung_endpoint = Register(hung.Url("/slow-3000/hung"), {"payment.settled"});
    const auto late_endpoint = Register(late.Url("/slow-300/late"), {"payment.settled"});
    all.Start(all_endpoint["secret"]);
    flaky.Start(flaky_endpoint["secret"]);
    hung.Start(hung_endpoint["secret"]);
    late.Start(late_endpoint["secret"]);

    const std::string settled = PayAndGetId(UniqueName("cust-hook"), 1500);
    const std::string review = PayAndGetId(UniqueName("cust-hook-review"), 250'000);
    const std::string declined = PayAndGetId(UniqueName("force-decline"), 1500);
    ASSERT_EQ(stack_->WaitForStatus(settled, {"SETTLED", "FAILED"})["status"], "SETTLED");
    ASSERT_EQ(stack_->WaitForStatus(review, {"RISK_REVIEW"})["status"], "RISK_REVIEW");
    ASSERT_EQ(stack_->WaitForStatus(declined, {"FAILED", "SETTLED"})["status"], "FAILED");

    // Every step reached the receiver that takes everything, each signature valid for Python.
    ASSERT_TRUE(Eventually(
        [&] {
            return !Of(all, "payment.authorized", settled).empty() &&
                   !Of(all, "payment.settled", settled).empty() &&
                   !Of(all, "review.required", review).empty() &&
                   !Of(all, "payment.failed", declined).empty();
        },
        std::chrono::seconds(20)
    )) << ReadFile(dir + "/notification.log").substr(0, 4000);
    for (const auto& request : all.Requests()) {
        EXPECT_TRUE(request.value("signature_valid", false)) << request.dump();
        EXPECT_EQ(request["headers"].value("content-type", ""), "application/json");
    }
    const auto authorized =
        nlohmann::json::parse(Of(all, "payment.authorized", settled)[0]["body"].get<std::string>());
    const auto settled_body =
        nlohmann::json::parse(Of(all, "payment.settled", settled)[0]["body"].get<std::string>());
    EXPECT_EQ(authorized["sequence"], 1);
    EXPECT_EQ(settled_body["sequence"], 2);
    EXPECT_EQ(settled_body["data"]["object"]["amount_cents"], 1500);

    // The flaky receiver got the settlement on the third try; each attempt is logged.
    ASSERT_TRUE(Eventually(
        [&] { return Of(flaky, "payment.settled", settled).size() >= 3; }, std::chrono::seconds(20)
    ));
    const auto flaky_requests = Of(flaky, "payment.settled", settled);
    EXPECT_EQ(flaky_requests[0]["status"], 500);
    EXPECT_EQ(flaky_requests[2]["status"], 200);
    EXPECT_TRUE(flaky_requests[2].value("signature_valid", false));
    const auto listed_deliveries = Ops(
        "GET",
        "/ops/webhooks/deliveries?endpoint_id=" + flaky_endpoint["endpoint_id"].get<std::string>()
    );
    ASSERT_EQ(listed_deliveries.first, 200);
    const nlohmann::json deliveries = listed_deliveries.second;
    ASSERT_EQ(deliveries.size(), 1U);
    ASSERT_TRUE(Eventually([&] {
        return Ops("GET",
                   "/ops/webhooks/deliveries/" +
                       std::to_string(deliveries[0]["delivery_id"].get<std::int64_t>()))
                   .second.value("status", "") == "DELIVERED";
    }));
    const auto [got, flaky_delivery] =
        Ops("GET",
            "/ops/webhooks/deliveries/" +
                std::to_string(deliveries[0]["delivery_id"].get<std::int64_t>()));
    ASSERT_EQ(flaky_delivery["attempts"].size(), 3U) << flaky_delivery.dump();
    EXPECT_EQ(flaky_delivery["attempts"][0]["status_code"], 500);
    EXPECT_EQ(flaky_delivery["attempts"][2]["status_code"], 200);

    // The late receiver answered in time: delivered once, its latency logged.
    ASSERT_TRUE(Eventually([&] {
        const auto [code, list] =
            Ops("GET",
                "/ops/webhooks/deliveries?status=DELIVERED&endpoint_id=" +
                    late_endpoint["endpoint_id"].get<std::string>());
        return code == 200 && list.size() == 1;
    }));

    // The hung receiver never answers within the timeout: after three attempts its endpoint is
    // disabled with the reason, and the delivery waits (PENDING) for it to be enabled again.
    ASSERT_TRUE(Eventually(
        [&] {
            for (const auto& endpoint : Ops("GET", "/ops/webhooks/endpoints").second) {
                if (endpoint["endpoint_id"] == hung_endpoint["endpoint_id"]) {
                    return endpoint["status"] == "DISABLED";
                }
            }
            return false;
        },
        std::chrono::seconds(30)
    ));
    const auto [hung_code, hung_deliveries] = Ops(
        "GET",
        "/ops/webhooks/deliveries?endpoint_id=" + hung_endpoint["endpoint_id"].get<std::string>()
    );
    ASSERT_EQ(hung_deliveries.size(), 1U);
    EXPECT_EQ(hung_deliveries[0]["status"], "PENDING");
    EXPECT_EQ(hung_deliveries[0]["attempts"], 3);
    EXPECT_TRUE(hung_deliveries[0]["last_status_code"].is_null());

    // A redelivery sends the same event again (same id: receivers dedupe by it).
    const auto first = Of(all, "payment.settled", settled);
    const auto [all_code, all_deliveries] =
        Ops("GET",
            "/ops/webhooks/deliveries?status=DELIVERED&endpoint_id=" +
                all_endpoint["endpoint_id"].get<std::string>());
    std::int64_t settled_delivery = 0;
    for (const auto& delivery : all_deliveries) {
        if (delivery["event_type"] == "payment.settled" && delivery["payment_id"] == settled) {
            settled_delivery = delivery["delivery_id"];
        }
    }
    ASSERT_NE(settled_delivery, 0);
    EXPECT_EQ(
        Ops("POST", "/ops/webhooks/deliveries/" + std::to_string(settled_delivery) + "/redeliver")
            .first,
        200
    );
    ASSERT_TRUE(Eventually([&] {
        return Of(all, "payment.settled", settled).size() == first.size() + 1;
    }));
    const auto again = Of(all, "payment.settled", settled).back();
    EXPECT_EQ(nlohmann::json::parse(again["body"].get<std::string>())["id"], settled_body["id"]);

    // `sagapay webhook verify` agrees with Python: the delivered body verifies, a changed one not.
    const std::string body_file = dir + "/webhook-body.json";
    std::ofstream(body_file) << again["body"].get<std::string>();
    std::ofstream(body_file + ".tampered") << again["body"].get<std::string>() << " ";
    const std::string header = again["headers"].value("sagapay-signature", "");
    const std::string secret = all_endpoint["secret"];
    const auto verify = [&](const std::string& file) {
        return RunProgram(
            {"sh",
             "-c",
             std::string(R"("$0" webhook verify --secret "$1" --header "$2" < "$3")"),
             SAGAPAY_BINARY,
             secret,
             header,
             file},
            dir + "/webhook-verify.out"
        );
    };
    EXPECT_EQ(verify(body_file), 0) << ReadFile(dir + "/webhook-verify.out");
    EXPECT_EQ(verify(body_file + ".tampered"), 1);
    EXPECT_NE(ReadFile(dir + "/webhook-verify.out").find("mismatch"), std::string::npos);
}

TEST_F(Webhooks, TheOpsApiRefusesBadInputWithoutWritingAnything) {
    EXPECT_EQ(
        Ops("POST", "/ops/webhooks/endpoints", {{"url", "https://x/"}, {"event_types", {"*"}}}
        ).first,
        422
    );
    EXPECT_EQ(Ops("POST", "/ops/webhooks/endpoints/not-a-uuid/disable").first, 404);
    EXPECT_EQ(Ops("GET", "/ops/webhooks/deliveries/0").first, 404);
    EXPECT_EQ(Ops("GET", "/ops/webhooks/deliveries?status=LOST").first, 422);
    const auto unauthorized = stack_->Client("notification").Send("GET", "/ops/webhooks/endpoints");
    ASSERT_TRUE(unauthorized);
    EXPECT_EQ(unauthorized->status, 401);
}

}  // namespace
}  // namespace sagapay::testing
