// Two instances of every service (as `sagapay up --replicas …=2` runs them) under a load of
// payments over every decision path, while one instance of each service is SIGKILLed in turn and
// started again: the instances share the work, nothing is done twice, and every invariant holds.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "runtime/wait.hpp"
#include "testing/test_env.hpp"
#include "tests/e2e/e2e_stack.hpp"

namespace sagapay::testing {
namespace {

using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;

const std::vector<std::string> kConsumers = {
    "orchestrator", "risk", "provider", "ledger", "notification"};

constexpr int kOrders = 400;
constexpr double kRate = 20;               // POST /payments per second: 20 s of load
constexpr int kSenders = 8;                // requests in flight at most
constexpr std::int64_t kReview = 150'000;  // above RISK_REVIEW_AMOUNT_CENTS

void Pause(std::chrono::milliseconds duration) {
    WaitFor(std::stop_token{}, duration);
}

struct Order {
    std::string customer;
    std::int64_t amount = 0;
    std::string currency;
    std::string key;
};

/// Order `i` of the run: mostly plain payments; every 25 orders two go to review, two are
/// declined by the PSP, one times out at the PSP (reversed), one loses its answer (authorized
/// after an inquiry), one is slow. At most five orders per customer: the velocity rules stay
/// quiet, and a customer is declined at most twice.
Order NthOrder(const std::string& run, int i) {
    static const char* const kKinds[] = {
        "cust",
        "cust",
        "force-decline",
        "force-decline",
        "force-timeout",
        "force-lost-response",
        "force-slow"};
    const int slot = i % 25;
    const bool review = slot < 2;
    const std::string kind = review ? "cust" : kKinds[slot < 7 ? slot : 0];
    static const char* const kCurrencies[] = {"USD", "EUR", "GBP"};
    return {
        kind + "-" + run + "-" + std::to_string(i / 5),
        review ? kReview + i : 1000 + i,
        kCurrencies[i % 3],
        run + "-order-" + std::to_string(i)};
}

struct Accepted {
    std::mutex mutex;
    std::vector<std::pair<std::string, std::string>> orders;  // key, payment id
    std::atomic<int> refused{0};
};

/// POSTs `order` to a gateway instance, switching instance and retrying with the same key on
/// any answer but 200 or a 4xx (an instance killed, an orchestrator down) for up to a minute.
std::string Send(
    std::vector<std::unique_ptr<http::Client>>& gateways,
    const std::string& api_key,
    const Order& order,
    int first,
    Accepted& accepted
) {
    const nlohmann::json body = {
        {"customer_id", order.customer},
        {"amount_cents", order.amount},
        {"currency", order.currency},
        {"idempotency_key", order.key}};
    const auto give_up = SteadyClock::now() + 60s;
    for (int attempt = 0; SteadyClock::now() < give_up; ++attempt) {
        auto& gateway = *gateways[static_cast<std::size_t>(first + attempt) % gateways.size()];
        const auto answer = gateway.Send(
            "POST",
            "/payments",
            body.dump(),
            {{"content-type", "application/json"}, {"x-api-key", api_key}}
        );
        if (answer.has_value() && answer->status == 200) {
            const auto parsed = nlohmann::json::parse(answer->body, nullptr, false);
            return parsed.is_object() ? parsed.value("payment_id", "") : "";
        }
        if (answer.has_value() && answer->status >= 400 && answer->status < 500 &&
            answer->status != 429) {
            accepted.refused += 1;
            std::cerr << "refused " << order.key << ": " << answer->status << " " << answer->body
                      << "\n";
            return "";
        }
        Pause(std::chrono::milliseconds(attempt == 0 ? 50 : 250));
    }
    return "";
}

/// Decides every pending review, on whichever risk instance answers: approved unless the
/// payment id's last hex digit is below 4 (about a quarter are denied).
void DecideReviews(std::vector<std::unique_ptr<http::Client>>& risks, const std::string& api_key) {
    for (auto& risk : risks) {
        const auto list =
            risk->Send("GET", "/ops/reviews?limit=1000", "", {{"x-api-key", api_key}});
        if (!list.has_value() || list->status != 200) {
            continue;  // this instance is down: the other one decides
        }
        const auto reviews = nlohmann::json::parse(list->body, nullptr, false);
        if (!reviews.is_array()) {
            continue;
        }
        for (const auto& review : reviews) {
            const std::string id = review.value("payment_id", "");
            if (id.empty()) {
                continue;
            }
            const bool deny = std::string("0123").find(id.back()) != std::string::npos;
            (void)risk->Send(
                "POST",
                "/ops/reviews/" + id + (deny ? "/deny" : "/approve"),
                R"({"reviewed_by":"replicas-e2e"})",
                {{"content-type", "application/json"}, {"x-api-key", api_key}}
            );
        }
        return;
    }
}

/// The sum of every series of the counter `name` in a /metrics body.
double SumOf(const std::string& metrics, const std::string& name) {
    double sum = 0;
    const std::string start = "\n" + name + "{";
    std::size_t pos = 0;
    while ((pos = metrics.find(start, pos)) != std::string::npos) {
        const auto end = metrics.find('\n', pos + 1);
        const auto space = metrics.rfind(' ', end);
        sum += std::stod(metrics.substr(space + 1, end - space - 1));
        pos = end;
    }
    return sum;
}

std::int64_t Count(postgres::Connection& db, const std::string& sql) {
    return db.Exec(sql).GetInt(0, 0);
}

TEST(Replicas, TwoInstancesOfEveryServiceShareTheWorkThroughKillsAndEveryInvariantHolds) {
    const auto test_start = SteadyClock::now();
    E2eStack::Replicas replicas;
    for (const std::string service :
         {"gateway", "orchestrator", "risk", "provider", "ledger", "notification"}) {
        replicas.per_service[service] = 2;
    }
    E2eStack stack(
        {{"RATE_LIMIT_PER_MINUTE", "1000000"},
         {"SWEEPER_STUCK_AFTER_MS", "3000"},
         {"SWEEPER_INTERVAL_MS", "500"},
         {"BUS_RETRY_INITIAL_DELAY_MS", "500"},
         {"BUS_RETRY_MAX_DELAY_MS", "2000"},
         {"PROVIDER_JANITOR_CHECKS_MS", "1000,5000,30000"},
         {"RISK_REVIEW_EXPIRY_SECONDS", "60"},
         {"OUTBOX_POLL_FALLBACK_MS", "500"},
         {"HEALTH_CHECK_INTERVAL_MS", "250"},
         {"PSP_SLOW_MS", "200"}},
        replicas
    );
    stack.StartAll();
    const auto started = SteadyClock::now();

    // The load's own clients (the stack is only used from this thread).
    std::vector<std::unique_ptr<http::Client>> gateways;
    std::vector<std::unique_ptr<http::Client>> risks;
    for (int i = 0; i < 2; ++i) {
        const http::ClientOptions options{16, 500ms, 5000ms};
        gateways.push_back(std::make_unique<http::Client>(stack.Url("gateway", i), options));
        risks.push_back(std::make_unique<http::Client>(stack.Url("risk", i), options));
    }
    const std::string run = UniqueName("rep").substr(4);
    Accepted accepted;
    std::atomic<int> next{0};
    const auto load_start = SteadyClock::now();
    std::vector<std::jthread> senders;
    senders.reserve(kSenders);
    for (int s = 0; s < kSenders; ++s) {
        senders.emplace_back([&] {
            for (int i = next.fetch_add(1); i < kOrders; i = next.fetch_add(1)) {
                const auto due = load_start + std::chrono::duration_cast<SteadyClock::duration>(
                                                  std::chrono::duration<double>(i / kRate)
                                              );
                if (const auto now = SteadyClock::now(); due > now) {
                    Pause(std::chrono::duration_cast<std::chrono::milliseconds>(due - now));
                }
                const Order order = NthOrder(run, i);
                const std::string id = Send(gateways, stack.ApiKey(), order, i % 2, accepted);
                if (!id.empty()) {
                    const std::lock_guard lock(accepted.mutex);
                    accepted.orders.emplace_back(order.key, id);
                }
            }
        });
    }
    std::jthread reviewer([&](std::stop_token stop) {
        while (!WaitFor(stop, 300ms)) {
            DecideReviews(risks, stack.ApiKey());
        }
    });

    // One instance of each service is SIGKILLed in turn, every 2.5 s, and started again 2 s
    // later: consumers die with messages in flight, a PSP worker with its claims, a relay with
    // rows fed to it, a gateway and an orchestrator with requests open.
    struct Kill {
        std::chrono::milliseconds at;
        std::string service;
        int instance;
    };
    const std::vector<Kill> kills = {
        {2500ms, "provider", 1},
        {5000ms, "orchestrator", 0},
        {7500ms, "risk", 1},
        {10000ms, "ledger", 0},
        {12500ms, "gateway", 1},
        {15000ms, "notification", 0},
    };
    struct Step {
        std::chrono::milliseconds at;
        bool kill;
        const Kill* what;
    };
    std::vector<Step> steps;
    for (const Kill& k : kills) {
        steps.push_back({k.at, true, &k});
        steps.push_back({k.at + 2000ms, false, &k});
    }
    std::sort(steps.begin(), steps.end(), [](const Step& a, const Step& b) { return a.at < b.at; });
    for (const Step& step : steps) {
        if (const auto now = SteadyClock::now(); load_start + step.at > now) {
            Pause(std::chrono::duration_cast<std::chrono::milliseconds>(load_start + step.at - now)
            );
        }
        if (step.kill) {
            stack.Stop(step.what->service, SIGKILL, step.what->instance);
        } else {
            stack.Start(step.what->service, step.what->instance);
        }
    }
    senders.clear();  // joined: every order answered (or given up on)
    const auto load_over = SteadyClock::now();

    std::vector<std::string> ids;
    {
        const std::lock_guard lock(accepted.mutex);
        std::ofstream file(stack.LogDir() + "/accepted.jsonl");
        for (const auto& [key, id] : accepted.orders) {
            file << nlohmann::json{{"idempotency_key", key}, {"payment_id", id}}.dump() << "\n";
            ids.push_back(id);
        }
    }
    EXPECT_EQ(accepted.refused.load(), 0);
    ASSERT_EQ(static_cast<int>(ids.size()), kOrders) << "orders the gateways never accepted";
    EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), ids.size());

    // Every accepted payment reaches a final state.
    std::string id_array = "{";
    for (const auto& id : ids) {
        id_array += (id_array.size() > 1 ? "," : "") + id;
    }
    id_array += "}";
    auto orchestrator = stack.Db("orchestrator");
    const auto final_count = [&] {
        return orchestrator
            .Exec(
                "SELECT count(*) FROM payments WHERE payment_id = ANY($1::uuid[]) AND status IN "
                "('SETTLED', 'FAILED', 'REVERSED')",
                {id_array}
            )
            .GetInt(0, 0);
    };
    EXPECT_TRUE(Eventually([&] { return final_count() == kOrders; }, 60s))
        << final_count() << " of " << kOrders << " final";
    const auto all_final = SteadyClock::now();
    reviewer.request_stop();
    reviewer.join();

    std::map<std::string, std::int64_t> by_status;
    const auto statuses = orchestrator.Exec(
        "SELECT status, count(*) FROM payments WHERE payment_id = ANY($1::uuid[]) GROUP BY 1",
        {id_array}
    );
    for (int i = 0; i < statuses.Size(); ++i) {
        by_status[statuses.GetString(i, 0)] = statuses.GetInt(i, 1);
    }
    EXPECT_GT(by_status["SETTLED"], kOrders / 2);
    EXPECT_GT(by_status["FAILED"], 0);    // declined, and reviews denied
    EXPECT_GT(by_status["REVERSED"], 0);  // timed out at the PSP

    // No payment settled twice, none notified twice, no state entered twice.
    EXPECT_EQ(
        Count(
            orchestrator,
            "SELECT count(*) FROM (SELECT payment_id, to_state FROM payment_timeline "
            "GROUP BY 1, 2 HAVING count(*) > 1) twice"
        ),
        0
    );
    auto ledger = stack.Db("ledger");
    EXPECT_EQ(
        Count(ledger, "SELECT count(*) FROM ledger_transactions WHERE purpose = 'SETTLEMENT'"),
        by_status["SETTLED"]
    );
    EXPECT_EQ(
        Count(
            ledger,
            "SELECT count(*) FROM (SELECT payment_id FROM ledger_transactions "
            "GROUP BY payment_id, purpose HAVING count(*) > 1) twice"
        ),
        0
    );
    auto notification = stack.Db("notification");
    const auto notified = [&] {
        return notification
            .Exec(
                "SELECT count(DISTINCT payment_id) FROM notification_logs WHERE payment_id = "
                "ANY($1::uuid[])",
                {id_array}
            )
            .GetInt(0, 0);
    };
    EXPECT_TRUE(Eventually([&] { return notified() == kOrders; }, 20s)) << notified();

    // The PSP: at most one authorization and one capture per payment, a capture for every
    // settled payment and none for another; the provider recorded each step's call once (a
    // killed worker's call is not recorded; the one that took over repeated it under its key).
    const auto records = stack.Client("psp-sandbox").Get("/v1/records");
    ASSERT_TRUE(records.has_value() && records->status == 200);
    int captured = 0;
    for (const auto& record : nlohmann::json::parse(records->body)) {
        EXPECT_LE(record.value("authorizations", 0), 1) << record.dump();
        EXPECT_LE(record.value("captures", 0), 1) << record.dump();
        captured += record.value("captures", 0);
    }
    EXPECT_EQ(captured, by_status["SETTLED"]);
    auto provider = stack.Db("provider");
    EXPECT_EQ(
        Count(
            provider,
            "SELECT count(*) FROM (SELECT payment_id, operation FROM provider_attempts WHERE "
            "result IN ('AUTHORIZED', 'CAPTURED') AND operation IN ('AUTHORIZE', 'CAPTURE') "
            "GROUP BY 1, 2 HAVING count(*) > 1) twice"
        ),
        0
    );

    // The work was shared: every instance of every consumer handled events.
    for (const auto& service : kConsumers) {
        double total = 0;
        for (int i = 0; i < stack.Instances(service); ++i) {
            const auto metrics = stack.Client(service, i).Get("/metrics");
            ASSERT_TRUE(metrics.has_value()) << service << " " << i;
            const double handled = SumOf(metrics->body, "events_handled_total");
            total += handled;
            std::cout << service << " instance " << i << " handled " << handled
                      << " events, skipped "
                      << SumOf(metrics->body, "duplicate_events_skipped_total") << " duplicates\n";
            // A restarted instance counts from 0 again, and the last one restarted (2 s before
            // the load ends, later still under ASan) may find no work left: seen in a clean-clone
            // `make test`. The others have seconds of load after their restart.
            const bool restarted_last =
                service == kills.back().service && i == kills.back().instance;
            if (stack.Bus() == "redis" && !restarted_last) {
                // A Redis consumer group hands new entries to every consumer that reads. (On
                // Kafka a topic's partitions may all be assigned to one instance.)
                EXPECT_GT(handled, 0) << service << " instance " << i << " did no work";
            }
        }
        EXPECT_GT(total, 0) << service;
    }

    // And the invariants checker over the whole system: payments, PSP books, ledger balanced,
    // notifications, outboxes, dead letters, and every accepted order.
    std::pair<int, std::string> verified;
    EXPECT_TRUE(Eventually(
        [&] {
            verified = stack.RunTool(
                {"verify",
                 "--json",
                 "--stuck-after",
                 "0",
                 "--grace",
                 "0",
                 "--outbox-after",
                 "10s",
                 "--psp-url",
                 stack.Url("psp-sandbox"),
                 "--accepted",
                 stack.LogDir() + "/accepted.jsonl"}
            );
            return verified.first == 0;
        },
        30s
    )) << verified.second;

    const auto seconds = [](auto from, auto to) {
        return std::chrono::duration<double>(to - from).count();
    };
    std::cout << "replicas: start " << seconds(test_start, started) << " s, load "
              << seconds(load_start, load_over) << " s, all final " << seconds(load_over, all_final)
              << " s later; " << by_status["SETTLED"] << " settled, " << by_status["FAILED"]
              << " failed, " << by_status["REVERSED"] << " reversed\n";
    if (HasFailure()) {
        stack.DumpLogs();
    }
}

}  // namespace
}  // namespace sagapay::testing
