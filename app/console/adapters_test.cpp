// SampledHealth over real HTTP: stand-in services (GET /health, /metrics), a ledger
// (/reconciliation) and a Prometheus (/api/v1/query_range) on loopback.
#include "app/console/adapters.hpp"

#include <atomic>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "adapters/http/server.hpp"
#include "testing/fake_clock.hpp"

namespace sagapay::console {
namespace {

std::string UrlOf(const http::Server& server) {
    return "http://127.0.0.1:" + std::to_string(server.Port());
}

std::unique_ptr<http::Server> Serve(http::Router router) {
    http::ServerOptions options;
    options.host = "127.0.0.1";
    options.port = 0;
    auto server = std::make_unique<http::Server>(options, std::move(router));
    server->Start();
    return server;
}

/// One stand-in service: healthy, with counters that grow by `step` at each scrape, and (as
/// the ledger) a balanced reconciliation that wants the ops key.
class FakeService {
public:
    FakeService() {
        http::Router router;
        router.Add("GET", "/health", [](http::Request&) {
            return http::JsonResponse(200, R"({"status":"ok","checks":{"postgres":"ok"}})");
        });
        router.Add("GET", "/metrics", [this](http::Request&) {
            const int n = ++scrapes_;
            http::Response response;
            response.content_type = "text/plain; version=0.0.4";
            response.body = "payment_requests_total{service=\"api-gateway\"} " +
                            std::to_string(n * 10) + "\npayment_success_total " +
                            std::to_string(n * 4) + "\npayment_failure_total " + std::to_string(n) +
                            "\nkafka_consumer_lag{topic=\"t\"} 3\n";
            return response;
        });
        router.Add("GET", "/reconciliation", [](http::Request& request) {
            if (request.Header("x-api-key") != "ops") {
                return http::ErrorResponse(401, "unauthorized", "invalid API key");
            }
            return http::JsonResponse(
                200, R"({"balanced":true,"transactions_checked":12,"imbalanced_count":0})"
            );
        });
        server_ = Serve(std::move(router));
    }
    [[nodiscard]] std::string Url() const { return UrlOf(*server_); }

private:
    std::atomic<int> scrapes_{0};
    std::unique_ptr<http::Server> server_;
};

class SampledHealthTest : public ::testing::Test {
protected:
    testing::FakeClock clock_;
};

TEST_F(SampledHealthTest, TurnsTheServicesCountersIntoRatesAndReportsADownService) {
    FakeService service;
    SampledHealth health(
        {{"gateway", service.Url()}, {"risk", "http://127.0.0.1:1"}},
        service.Url(),
        {{"x-api-key", "ops"}},
        "",
        clock_
    );

    health.SampleOnce();
    clock_.Advance(std::chrono::seconds(2));
    health.SampleOnce();
    const nlohmann::json snapshot = health.Snapshot();

    EXPECT_EQ(snapshot["source"], "services");
    ASSERT_EQ(snapshot["services"].size(), 2U);
    EXPECT_TRUE(snapshot["services"][0]["up"].get<bool>());
    EXPECT_FALSE(snapshot["services"][1]["up"].get<bool>());
    EXPECT_EQ(snapshot["reconciliation"]["status"], "balanced");
    ASSERT_EQ(snapshot["points"].size(), 1U);  // two readings, one interval
    const auto& point = snapshot["points"][0];
    EXPECT_DOUBLE_EQ(point["posts_per_s"].get<double>(), 5);      // 10 more in 2 s
    EXPECT_DOUBLE_EQ(point["failure_ratio"].get<double>(), 0.2);  // 1 failed per 4 settled
    EXPECT_EQ(point["lag"], 3);
}

TEST_F(SampledHealthTest, DrawsFromPrometheusWhileItAnswersElseFromTheServices) {
    FakeService service;
    std::atomic<bool> prometheus_up{true};
    std::atomic<int> queries{0};
    http::Router router;
    router.Add("GET", "/api/v1/query_range", [&](http::Request& request) {
        ++queries;
        if (!prometheus_up) {
            return http::ErrorResponse(503, "unavailable", "down");
        }
        const std::string query = request.QueryParam("query").value_or("");
        const std::string value =
            query.find("payment_requests_total") != std::string::npos
                ? "12.5"
                : (query.find("histogram_quantile") != std::string::npos ? "NaN" : "1");
        return http::JsonResponse(
            200,
            R"({"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1700000000,")" +
                value + R"("],[1700000005,")" + value + R"("]]}]}})"
        );
    });
    const auto prometheus = Serve(std::move(router));
    SampledHealth health(
        {{"gateway", service.Url()}}, service.Url(), {}, UrlOf(*prometheus), clock_
    );
    health.SampleOnce();

    const nlohmann::json from_prometheus = health.Snapshot();

    EXPECT_EQ(from_prometheus["source"], "prometheus");
    ASSERT_EQ(from_prometheus["points"].size(), 2U);
    EXPECT_EQ(from_prometheus["points"][0]["t"], 1700000000000);
    EXPECT_DOUBLE_EQ(from_prometheus["points"][1]["posts_per_s"].get<double>(), 12.5);
    EXPECT_TRUE(from_prometheus["points"][0]["e2e_p99_ms"].is_null());  // NaN: no payments
    EXPECT_EQ(queries.load(), 6);  // one query_range per chart series
    EXPECT_EQ(from_prometheus["reconciliation"]["status"], "unknown");  // no ops key given

    prometheus_up = false;
    EXPECT_EQ(health.Snapshot()["source"], "services");
}

}  // namespace
}  // namespace sagapay::console
