#include "runtime/service_host.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <random>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "adapters/http/http.hpp"
#include "runtime/bootstrap.hpp"
#include "runtime/config.hpp"
#include "runtime/metrics.hpp"

namespace sagapay {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

Config TestConfig(const std::string& service) {
    auto config = LoadConfig({}, service);
    if (!config) {
        throw std::runtime_error(config.error().message);
    }
    config->http_threads = 2;
    return *config;
}

std::string BaseUrl(const ServiceHost& host) {
    return "http://127.0.0.1:" + std::to_string(host.Port());
}

/// Lines of the /metrics text for the HTTP families of `service`.
std::size_t HttpSeries(const std::string& service) {
    std::istringstream text(metrics::Serialize());
    std::size_t count = 0;
    for (std::string line; std::getline(text, line);) {
        const bool http = line.starts_with("http_requests_total{") ||
                          line.starts_with("http_request_duration_seconds_count{");
        if (http && line.find("service=\"" + service + "\"") != std::string::npos) {
            ++count;
        }
    }
    return count;
}

// Unauthenticated callers choose the method and the path: neither may become a label value, or
// each request adds series to /metrics for good.
TEST(ServiceHostMetrics, MadeUpMethodsAndPathsLeaveTheSeriesBounded) {
    const std::string service = "metrics-bound-test";
    const Config config = TestConfig(service);
    ServiceHost host(config, service, 0);
    host.Routes().Add("GET", "/payments/{payment_id}", [](http::Request&) {
        return http::JsonResponse(200, "{}");
    });
    host.Start();
    http::Client client(BaseUrl(host));
    std::mt19937 rng(7);
    for (int i = 0; i < 200; ++i) {
        const std::string method = "M" + std::to_string(rng() % 1000000);
        const std::string path =
            i % 2 == 0 ? "/payments/" + std::to_string(rng()) : "/random/" + std::to_string(rng());
        const auto answer = client.Send(method, path);
        ASSERT_TRUE(answer.has_value()) << answer.error().message;
        EXPECT_GE(answer->status, 400);
    }
    for (int i = 0; i < 20; ++i) {
        const auto answer = client.Get("/payments/p-" + std::to_string(i));
        ASSERT_TRUE(answer.has_value());
        EXPECT_EQ(answer->status, 200);
    }
    host.Stop();

    // method OTHER × {route, unmatched} × status {404, 405}, and GET on the route: a handful.
    EXPECT_LE(HttpSeries(service), 12U);
    const std::string text = metrics::Serialize();
    EXPECT_NE(text.find("method=\"OTHER\""), std::string::npos);
    EXPECT_NE(text.find("route=\"/payments/{payment_id}\""), std::string::npos);
}

/// A dependency check that hangs until released (a blackholed Redis).
class HangingCheck {
public:
    bool Run() {
        std::unique_lock lock(mutex_);
        calls_++;
        cv_.wait_for(lock, 20s, [this] { return released_; });
        return true;
    }
    void Release() {
        {
            const std::lock_guard lock(mutex_);
            released_ = true;
        }
        cv_.notify_all();
    }

private:
    std::mutex mutex_;
    std::condition_variable cv_;
    bool released_ = false;
    int calls_ = 0;
};

// /health answers from the last finished check: a hanging dependency makes it report "down"
// at once instead of holding an HTTP thread per probe.
TEST(ServiceHostHealth, AnswersFastWhileADependencyCheckHangs) {
    const std::string service = "health-hang-test";
    const Config config = TestConfig(service);
    ServiceHost host(config, service, 0);
    HangingCheck hanging;
    host.AddHealthCheck("redis", [&hanging] { return hanging.Run(); });
    host.AddHealthCheck("postgres", [] { return true; });
    host.Start();
    http::Client client(BaseUrl(host), http::ClientOptions{8, 1000ms, 5000ms});

    // More probes than HTTP threads, each answered well under the check's hang.
    for (int i = 0; i < 6; ++i) {
        const auto started = Clock::now();
        const auto answer = client.Get("/health");
        const auto took = Clock::now() - started;
        ASSERT_TRUE(answer.has_value()) << answer.error().message;
        EXPECT_EQ(answer->status, 503) << answer->body;
        EXPECT_NE(answer->body.find(R"("redis":"down")"), std::string::npos) << answer->body;
        EXPECT_LT(took, 500ms);
    }
    hanging.Release();
    host.Stop();
}

}  // namespace
}  // namespace sagapay

namespace sagapay {
namespace {

// Internal APIs bound beyond loopback need X-Internal-Token on every route but /health and
// /metrics; a missing or wrong token gets 401 with the stable error body.
TEST(ServiceHostInternalToken, RoutesNeedTheTokenWhenOneIsConfigured) {
    const std::string service = "internal-token-test";
    Config config = TestConfig(service);
    config.internal_token = "internal-token-0123456789";
    ServiceHost host(config, "orchestrator", 0);
    host.Routes().Add("GET", "/payments/{payment_id}", [](http::Request&) {
        return http::JsonResponse(200, R"({"status":"SETTLED"})");
    });
    host.Start();
    http::Client client(BaseUrl(host));

    const auto missing = client.Get("/payments/p1");
    ASSERT_TRUE(missing.has_value());
    EXPECT_EQ(missing->status, 401);
    EXPECT_EQ(
        missing->body,
        R"({"error":{"code":"unauthorized","message":"missing or invalid X-Internal-Token","field":null}})"
    );
    const auto wrong =
        client.Send("GET", "/payments/p1", {}, {{"x-internal-token", "internal-token-0123456780"}});
    ASSERT_TRUE(wrong.has_value());
    EXPECT_EQ(wrong->status, 401);
    const auto right =
        client.Send("GET", "/payments/p1", {}, {{"x-internal-token", "internal-token-0123456789"}});
    ASSERT_TRUE(right.has_value());
    EXPECT_EQ(right->status, 200);
    const auto health = client.Get("/health");
    ASSERT_TRUE(health.has_value());
    EXPECT_EQ(health->status, 200);
    host.Stop();
}

TEST(ServiceHostInternalToken, ConstantTimeComparison) {
    EXPECT_TRUE(ConstantTimeEquals("internal-token", "internal-token"));
    EXPECT_FALSE(ConstantTimeEquals("internal-token", "internal-tokem"));
    EXPECT_FALSE(ConstantTimeEquals("internal-token", "internal-token-longer"));
    EXPECT_FALSE(ConstantTimeEquals("", "x"));
    EXPECT_FALSE(ConstantTimeEquals("x", ""));
    EXPECT_FALSE(ConstantTimeEquals("", ""));  // an unset secret never matches
    http::Request request;
    request.headers.emplace_back("x-internal-token", "t0k3n-0123456789");
    EXPECT_TRUE(InternalTokenMatches(request, "t0k3n-0123456789"));
    EXPECT_FALSE(InternalTokenMatches(request, "t0k3n-0123456788"));
    EXPECT_FALSE(InternalTokenMatches(http::Request{}, "t0k3n-0123456789"));
}

}  // namespace
}  // namespace sagapay

namespace sagapay {
namespace {

TEST(ServiceHostShutdown, AStopThatFinishesInTimeIsWaitedFor) {
    bool ran = false;
    EXPECT_TRUE(FinishesWithin([&ran] { ran = true; }, std::chrono::seconds(10)));
    EXPECT_TRUE(ran);
}

TEST(ServiceHostShutdown, AStopThatHangsIsGivenUpOnAtTheLimit) {
    // A stop that blocks (a consumer close stuck in a rebalance) until released.
    struct Gate {
        std::mutex mutex;
        std::condition_variable cv;
        bool open = false;
    };
    auto gate = std::make_shared<Gate>();
    const auto start = std::chrono::steady_clock::now();
    EXPECT_FALSE(FinishesWithin(
        [gate] {
            std::unique_lock lock(gate->mutex);
            gate->cv.wait(lock, [&] { return gate->open; });
        },
        std::chrono::milliseconds(200)
    ));
    const auto waited = std::chrono::steady_clock::now() - start;
    EXPECT_GE(waited, std::chrono::milliseconds(200));
    EXPECT_LT(waited, std::chrono::seconds(5));
    {
        const std::lock_guard lock(gate->mutex);
        gate->open = true;
    }
    gate->cv.notify_all();
}

}  // namespace
}  // namespace sagapay
