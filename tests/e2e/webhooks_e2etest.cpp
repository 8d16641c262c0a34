// Signed webhooks end to end: receivers in Python (tests/webhooks/receiver.py) that answer at
// once, fail twice, time out and answer late, each checking the signature with Python's hmac;
// payments that authorize and settle, wait for review and fail.
#include <csignal>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
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

    /// A call to the gateway's public API with the API key; returns (status, body).
    static std::pair<int, nlohmann::json> Api(
        const std::string& method, const std::string& path, const nlohmann::json& body = nullptr
    ) {
        return stack_->Gateway(method, path, body);
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

// Issue 18's "one payment's full life": created with manual capture, 1,000 of its 1,500
// captured, settled, refunded twice (300 and 200), every step announced to a receiver that
// checks each signature with Python's hmac; the ledger and the PSP agree with the saga.
TEST_F(Webhooks, OnePaymentsFullLifeManualPartialCaptureTwoRefundsSignedWebhooks) {
    const std::string dir = stack_->LogDir();
    Receiver life(dir, "life");
    const auto endpoint = Register(life.Url("/ok/life"), {"*"});
    life.Start(endpoint["secret"]);
    std::ofstream transcript(dir + "/payment-full-life.txt");
    const auto note = [&](const std::string& line) { transcript << line << '\n' << std::flush; };

    const std::string customer = UniqueName("cust-life");
    const auto [created_status, created] =
        Api("POST",
            "/payments",
            {{"customer_id", customer},
             {"amount_cents", 1500},
             {"currency", "USD"},
             {"idempotency_key", UniqueName("order-life")},
             {"capture_method", "manual"}});
    ASSERT_EQ(created_status, 200) << created.dump();
    const std::string id = created["payment_id"];
    note("POST /payments capture_method=manual 1500 USD -> 200 " + created.dump());
    const auto authorized = stack_->WaitForStatus(id, {"AUTHORIZED", "FAILED"});
    ASSERT_EQ(authorized["status"], "AUTHORIZED") << authorized.dump();
    // Held for the merchant: nothing captures it meanwhile.
    std::this_thread::sleep_for(std::chrono::milliseconds(300));  // NOLINT: proving no progress
    ASSERT_EQ(stack_->Payment(id)["status"], "AUTHORIZED");
    note("status AUTHORIZED, waiting for the merchant's capture");

    const auto [bad_capture, too_much] =
        Api("POST", "/payments/" + id + "/capture", {{"amount_cents", 1501}});
    EXPECT_EQ(bad_capture, 422) << too_much.dump();
    const auto [capture_status, captured] =
        Api("POST", "/payments/" + id + "/capture", {{"amount_cents", 1000}});
    ASSERT_EQ(capture_status, 200) << captured.dump();
    note(
        "POST /payments/{id}/capture 1000 -> 200 capture_amount_cents=" +
        captured["capture_amount_cents"].dump()
    );
    const auto settled = stack_->WaitForStatus(id, {"SETTLED", "FAILED", "REVERSED"});
    ASSERT_EQ(settled["status"], "SETTLED") << settled.dump();
    EXPECT_EQ(settled["captured_cents"], 1000);
    note("status SETTLED captured_cents=1000 of 1500 authorized");

    const auto refund = [&](const std::string& key, std::int64_t amount) {
        return Api(
            "POST",
            "/payments/" + id + "/refunds",
            {{"amount_cents", amount},
             {"idempotency_key", key},
             {"reason", "requested_by_customer"}}
        );
    };
    const auto [first_status, first] = refund("refund-life-1", 300);
    ASSERT_EQ(first_status, 200) << first.dump();
    const auto [replay_status, replay] = refund("refund-life-1", 300);
    EXPECT_EQ(replay_status, 200);
    EXPECT_EQ(replay["refund_id"], first["refund_id"]);
    const auto [second_status, second] = refund("refund-life-2", 200);
    ASSERT_EQ(second_status, 200) << second.dump();
    const auto [over_status, over] = refund("refund-life-3", 501);
    EXPECT_EQ(over_status, 409) << over.dump();
    EXPECT_EQ(over["error"]["code"], "refund_exceeds_captured");
    note(
        "POST /payments/{id}/refunds 300 -> 200 " + first["refund_id"].dump() +
        " (repeated: same refund); 200 -> 200 " + second["refund_id"].dump() +
        "; 501 -> 409 refund_exceeds_captured"
    );

    ASSERT_TRUE(Eventually(
        [&] {
            const auto [code, list] = Api("GET", "/payments/" + id + "/refunds");
            return code == 200 && list.value("refunded_cents", 0) == 500;
        },
        std::chrono::seconds(20)
    ));
    const auto [list_status, refunds] = Api("GET", "/payments/" + id + "/refunds");
    EXPECT_EQ(refunds["status"], "PARTIALLY_REFUNDED");
    ASSERT_EQ(refunds["refunds"].size(), 2U);
    for (const auto& r : refunds["refunds"]) {
        EXPECT_EQ(r["status"], "SUCCEEDED");
    }
    note("GET /payments/{id}/refunds -> " + refunds.dump());

    // Every event of its life reached the receiver, each signature valid for Python.
    const std::vector<std::string> life_events = {
        "payment.authorized", "payment.settled", "payment.refunded"};
    ASSERT_TRUE(Eventually(
        [&] {
            return !Of(life, "payment.authorized", id).empty() &&
                   !Of(life, "payment.settled", id).empty() &&
                   Of(life, "payment.refunded", id).size() >= 2;
        },
        std::chrono::seconds(20)
    )) << ReadFile(dir + "/notification.log").substr(0, 4000);
    // Arrival order is not payment order (docs/webhooks.md): the events are put in order by
    // their sequence, and an event delivered twice (same id) counts once.
    std::map<std::int64_t, nlohmann::json> by_sequence;
    for (const auto& request : life.Requests()) {
        const auto body = nlohmann::json::parse(request.value("body", ""), nullptr, false);
        if (!body.is_object() || body["data"].value("payment_id", "") != id) {
            continue;
        }
        EXPECT_TRUE(request.value("signature_valid", false)) << request.dump();
        const auto [known, added] = by_sequence.try_emplace(body.value("sequence", 0), request);
        if (!added) {
            const auto earlier = nlohmann::json::parse(known->second.value("body", ""));
            EXPECT_EQ(earlier.value("id", ""), body.value("id", "")) << "two events, one sequence";
        }
    }
    std::vector<std::int64_t> sequences;
    for (const auto& [sequence, request] : by_sequence) {
        sequences.push_back(sequence);
        const auto body = nlohmann::json::parse(request.value("body", ""));
        note(
            "webhook " + body.value("type", "") + " sequence=" + std::to_string(sequence) +
            " signature " + request["headers"].value("sagapay-signature", "").substr(0, 24) +
            "... verified by Python hmac: " +
            (request.value("signature_valid", false) ? "valid" : "INVALID") +
            " data=" + body["data"].dump()
        );
    }
    EXPECT_EQ(sequences, (std::vector<std::int64_t>{1, 2, 3, 4}));
    const auto settled_body =
        nlohmann::json::parse(Of(life, "payment.settled", id)[0]["body"].get<std::string>());
    EXPECT_EQ(settled_body["data"]["object"]["amount_cents"], 1000);

    // The ledger settled 1,000 and posted both refunds; the PSP captured 1,000 and refunded 500;
    // the cross-service reconciliation is clean.
    // The ledger consumes payments.refunded on its own, beside the notification service: the
    // webhooks may arrive before its postings.
    auto ledger = stack_->Db("ledger");
    const auto read_postings = [&] {
        return ledger.Exec(
            "SELECT purpose, sum(amount_minor) FROM ledger_transactions WHERE payment_id = $1 "
            "GROUP BY purpose ORDER BY purpose",
            {id}
        );
    };
    EXPECT_TRUE(Eventually(
        [&] {
            const auto rows = read_postings();
            return rows.Size() == 2 && rows.GetInt(0, 1) == 500;
        },
        std::chrono::seconds(20)
    ));
    const auto postings = read_postings();
    ASSERT_EQ(postings.Size(), 2);
    EXPECT_EQ(postings.GetString(0, 0), "REFUND");
    EXPECT_EQ(postings.GetInt(0, 1), 500);
    EXPECT_EQ(postings.GetString(1, 0), "SETTLEMENT");
    EXPECT_EQ(postings.GetInt(1, 1), 1000);
    note("ledger: SETTLEMENT 1000, REFUND 500 (two transactions)");
    const auto psp = stack_->Client("psp-sandbox").Get("/v1/authorizations/auth-" + id);
    ASSERT_TRUE(psp.has_value());
    const auto at_psp = nlohmann::json::parse(psp->body, nullptr, false);
    EXPECT_EQ(at_psp.value("captured_amount_cents", 0), 1000) << psp->body;
    EXPECT_EQ(at_psp.value("refunded_amount_cents", 0), 500) << psp->body;
    note("PSP sandbox: " + psp->body);
    const auto [reconciled, report] =
        stack_->RunTool({"reconcile", "--ledger-url", stack_->Url("ledger")});
    EXPECT_EQ(reconciled, 0) << report;

    // A second manual payment canceled before capture: REVERSED, the hold voided at the PSP.
    const auto [other_status, other] =
        Api("POST",
            "/payments",
            {{"customer_id", customer},
             {"amount_cents", 700},
             {"currency", "USD"},
             {"idempotency_key", UniqueName("order-cancel")},
             {"capture_method", "manual"}});
    ASSERT_EQ(other_status, 200);
    const std::string other_id = other["payment_id"];
    ASSERT_EQ(stack_->WaitForStatus(other_id, {"AUTHORIZED", "FAILED"})["status"], "AUTHORIZED");
    const auto [cancel_status, canceled] = Api("POST", "/payments/" + other_id + "/cancel");
    ASSERT_EQ(cancel_status, 200) << canceled.dump();
    EXPECT_EQ(canceled["status"], "REVERSED");
    EXPECT_EQ(Api("POST", "/payments/" + other_id + "/capture").first, 409);
    ASSERT_TRUE(Eventually(
        [&] {
            const auto r = stack_->Client("psp-sandbox").Get("/v1/authorizations/auth-" + other_id);
            return r.has_value() &&
                   nlohmann::json::parse(r->body, nullptr, false).value("status", "") == "VOIDED";
        },
        std::chrono::seconds(20)
    ));
    ASSERT_TRUE(Eventually(
        [&] { return !Of(life, "payment.reversed", other_id).empty(); }, std::chrono::seconds(20)
    ));
    note("second payment: POST /cancel -> REVERSED, voided at the PSP, payment.reversed sent");
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
