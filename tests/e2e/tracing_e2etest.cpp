// Traces across the saga against the real services: every service exports its spans with
// OTLP/HTTP JSON to a collector this test runs; one payment sent with a W3C traceparent is one
// trace whose spans all hang together, from the gateway through orchestrator, risk, provider and
// ledger to the notification. A dead collector costs nothing but dropped spans.
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "adapters/http/http.hpp"
#include "core/tracing/trace_context.hpp"
#include "testing/test_env.hpp"
#include "tests/e2e/e2e_stack.hpp"

namespace sagapay::testing {
namespace {

/// One exported span, flattened: the exporting service and the span's JSON.
struct ReceivedSpan {
    std::string service;
    nlohmann::json span;
};

/// An OTLP/HTTP traces endpoint (POST /v1/traces, JSON) on a free loopback port.
class Collector {
public:
    Collector() {
        http::Router router;
        router.Add("POST", "/v1/traces", [this](http::Request& request) {
            const auto body = nlohmann::json::parse(request.body, nullptr, false);
            if (body.is_discarded() || request.Header("content-type") != "application/json") {
                return http::ErrorResponse(400, "bad_request", "not OTLP JSON");
            }
            const std::lock_guard lock(mutex_);
            ++requests_;
            for (const auto& resource : body.at("resourceSpans")) {
                std::string service;
                for (const auto& attribute : resource.at("resource").at("attributes")) {
                    if (attribute.at("key") == "service.name") {
                        service = attribute.at("value").at("stringValue");
                    }
                }
                for (const auto& scope : resource.at("scopeSpans")) {
                    for (const auto& span : scope.at("spans")) {
                        spans_.push_back({service, span});
                    }
                }
            }
            return http::JsonResponse(200, "{}");
        });
        http::ServerOptions options;
        options.body_limit = std::size_t{16} * 1024 * 1024;
        server_ = std::make_unique<http::Server>(options, std::move(router));
        server_->Start();
    }
    ~Collector() { server_->Stop(); }
    Collector(const Collector&) = delete;
    Collector& operator=(const Collector&) = delete;

    [[nodiscard]] std::string Endpoint() const {
        return "http://127.0.0.1:" + std::to_string(server_->Port());
    }

    [[nodiscard]] std::vector<ReceivedSpan> SpansOf(const std::string& trace_id) {
        const std::lock_guard lock(mutex_);
        std::vector<ReceivedSpan> out;
        for (const auto& received : spans_) {
            if (received.span.at("traceId") == trace_id) {
                out.push_back(received);
            }
        }
        return out;
    }

private:
    std::mutex mutex_;
    std::vector<ReceivedSpan> spans_;
    int requests_ = 0;
    std::unique_ptr<http::Server> server_;
};

std::string AttributeOf(const nlohmann::json& span, const std::string& key) {
    for (const auto& attribute : span.value("attributes", nlohmann::json::array())) {
        if (attribute.at("key") == key) {
            const auto& value = attribute.at("value");
            return value.contains("stringValue") ? value.at("stringValue").get<std::string>()
                                                 : value.at("intValue").get<std::string>();
        }
    }
    return {};
}

/// The services on the way from `leaf` up to the caller's span, root first (each service once,
/// in the order first met); empty when a parent on the way is missing.
std::vector<std::string> ServicesUpTo(
    const std::vector<ReceivedSpan>& spans, const ReceivedSpan& leaf, const std::string& caller_span
) {
    std::map<std::string, const ReceivedSpan*> by_id;
    for (const auto& received : spans) {
        by_id[received.span.at("spanId")] = &received;
    }
    std::vector<std::string> path;
    const ReceivedSpan* at = &leaf;
    for (int depth = 0; depth < 200; ++depth) {
        if (path.empty() || path.back() != at->service) {
            path.push_back(at->service);
        }
        const std::string parent = at->span.value("parentSpanId", "");
        if (parent == caller_span) {
            std::vector<std::string> root_first(path.rbegin(), path.rend());
            std::vector<std::string> unique;
            for (const auto& service : root_first) {
                if (std::find(unique.begin(), unique.end(), service) == unique.end()) {
                    unique.push_back(service);
                }
            }
            return unique;
        }
        const auto it = by_id.find(parent);
        if (it == by_id.end()) {
            return {};
        }
        at = it->second;
    }
    return {};
}

class Tracing : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        collector_ = new Collector();
        stack_ = new E2eStack(
            {{"OTEL_EXPORTER_OTLP_ENDPOINT", collector_->Endpoint()},
             {"OTEL_BSP_SCHEDULE_DELAY", "100"}}
        );
        stack_->StartAll();
    }
    static void TearDownTestSuite() {
        delete stack_;
        delete collector_;
    }
    void TearDown() override {
        if (HasFailure()) {
            stack_->DumpLogs();
        }
    }

    static http::ClientResult Pay(
        const std::string& customer, const std::vector<std::pair<std::string, std::string>>& extra
    ) {
        const nlohmann::json body = {
            {"customer_id", customer},
            {"amount_cents", 2500},
            {"currency", "EUR"},
            {"idempotency_key", UniqueName("trace-key")}};
        std::vector<std::pair<std::string, std::string>> headers = {
            {"content-type", "application/json"}, {"x-api-key", stack_->ApiKey()}};
        headers.insert(headers.end(), extra.begin(), extra.end());
        http::Client client(stack_->Url("gateway"));
        return client.Send("POST", "/payments", body.dump(), headers);
    }

    static inline Collector* collector_ = nullptr;
    static inline E2eStack* stack_ = nullptr;
};

TEST_F(Tracing, OnePaymentIsOneTraceFromTheGatewayToTheNotification) {
    const std::string trace_id = NewTraceId();
    const std::string caller_span = NewSpanId();
    const auto answer =
        Pay(UniqueName("cust-trace"),
            {{"traceparent", "00-" + trace_id + "-" + caller_span + "-01"},
             {"tracestate", "sagapay-test=1"}});
    ASSERT_TRUE(answer.has_value()) << answer.error().message;
    ASSERT_EQ(answer->status, 200) << answer->body;
    // The caller gets the gateway's span back, in its own trace.
    const auto returned = ParseTraceparent(answer->Header("traceparent"));
    ASSERT_TRUE(returned.has_value()) << answer->Header("traceparent");
    EXPECT_EQ(returned->trace_id, trace_id);
    EXPECT_NE(returned->span_id, caller_span);
    EXPECT_EQ(answer->Header("tracestate"), "sagapay-test=1");
    const std::string id = nlohmann::json::parse(answer->body).at("payment_id");
    ASSERT_EQ(stack_->WaitForStatus(id, {"SETTLED"})["status"], "SETTLED");

    // Every service's spans arrive (each exports on its own schedule), and every span's parent
    // is a span of the trace or the caller's: nothing dangles.
    const std::set<std::string> saga = {
        "api-gateway", "orchestrator", "risk", "provider-adapter", "ledger", "notification"};
    std::vector<ReceivedSpan> spans;
    std::vector<std::string> path;
    const bool linked = Eventually(
        [&] {
            spans = collector_->SpansOf(trace_id);
            const ReceivedSpan* notification = nullptr;
            for (const auto& received : spans) {
                if (received.service == "notification" &&
                    AttributeOf(received.span, "payment.id") == id) {
                    notification = &received;
                }
            }
            if (notification == nullptr) {
                return false;
            }
            path = ServicesUpTo(spans, *notification, caller_span);
            return std::set<std::string>(path.begin(), path.end()) == saga;
        },
        std::chrono::seconds(30)
    );
    std::string seen;
    for (const auto& received : spans) {
        seen += received.service + ":" + received.span.at("name").get<std::string>() + " ";
    }
    ASSERT_TRUE(linked) << "spans of the trace: " << seen;
    // Walking up from the notification: each service first met in the saga's order.
    EXPECT_EQ(
        path,
        (std::vector<std::string>{
            "api-gateway", "orchestrator", "risk", "provider-adapter", "ledger", "notification"})
    );

    std::set<std::string> ids;
    for (const auto& received : spans) {
        ids.insert(received.span.at("spanId"));
    }
    EXPECT_EQ(ids.size(), spans.size()) << "span ids are unique";
    std::map<std::string, int> names;
    for (const auto& received : spans) {
        const std::string parent = received.span.value("parentSpanId", "");
        EXPECT_TRUE(parent == caller_span || ids.contains(parent))
            << received.service << " " << received.span.at("name") << " has parent " << parent;
        ++names[received.service + ":" + received.span.at("name").get<std::string>()];
        EXPECT_LE(
            std::stoll(received.span.at("startTimeUnixNano").get<std::string>()),
            std::stoll(received.span.at("endTimeUnixNano").get<std::string>())
        );
    }
    // The kinds of work the issue names: HTTP handlers, event handling per hop, PSP calls and
    // database transactions.
    EXPECT_EQ(names["api-gateway:POST /payments"], 1) << seen;
    EXPECT_EQ(names["api-gateway:POST /internal/payments"], 1) << seen;
    EXPECT_EQ(names["orchestrator:POST /internal/payments"], 1) << seen;
    EXPECT_GE(names["orchestrator:postgresql transaction"], 1) << seen;
    EXPECT_GE(names["risk:payments.requested process"], 1) << seen;
    EXPECT_GE(names["provider-adapter:psp authorize"], 1) << seen;
    EXPECT_GE(names["provider-adapter:psp capture"], 1) << seen;
    EXPECT_GE(
        names["ledger:ledger.requested process"] + names["ledger:payments.captured process"], 1
    ) << seen;
    for (const auto& received : spans) {
        if (received.span.at("name") == "psp authorize") {
            EXPECT_EQ(AttributeOf(received.span, "psp.outcome"), "ok");
            EXPECT_EQ(received.span.at("kind"), 3);  // client
        }
        if (received.span.at("name") == "POST /payments") {
            EXPECT_EQ(AttributeOf(received.span, "http.response.status_code"), "200");
            EXPECT_EQ(received.span.at("kind"), 2);  // server
            EXPECT_EQ(received.span.value("parentSpanId", ""), caller_span);
        }
    }
}

TEST_F(Tracing, WithoutATraceparentTheGatewayStartsATraceWhoseIdIsTheCorrelationId) {
    const auto answer = Pay(UniqueName("cust-new-trace"), {});
    ASSERT_TRUE(answer.has_value()) << answer.error().message;
    ASSERT_EQ(answer->status, 200) << answer->body;
    const auto returned = ParseTraceparent(answer->Header("traceparent"));
    ASSERT_TRUE(returned.has_value());
    // The seed's x-correlation-id (and every event's trace_id) is the W3C trace id as a UUID.
    EXPECT_EQ(answer->Header("x-correlation-id"), TraceIdAsUuid(returned->trace_id));
    const std::string id = nlohmann::json::parse(answer->body).at("payment_id");
    ASSERT_EQ(stack_->WaitForStatus(id, {"SETTLED"})["status"], "SETTLED");
    EXPECT_TRUE(Eventually(
        [&] {
            for (const auto& received : collector_->SpansOf(returned->trace_id)) {
                if (received.service == "notification") {
                    return true;
                }
            }
            return false;
        },
        std::chrono::seconds(30)
    ));
}

TEST_F(Tracing, AMalformedTraceparentStartsANewTraceInsteadOfFailingTheRequest) {
    const auto answer = Pay(UniqueName("cust-bad-trace"), {{"traceparent", "00-zz-bad-01"}});
    ASSERT_TRUE(answer.has_value()) << answer.error().message;
    EXPECT_EQ(answer->status, 200) << answer->body;
    EXPECT_TRUE(ParseTraceparent(answer->Header("traceparent")).has_value());
}

/// Every service pointed at a collector that is not there: the saga does not notice.
class TracingWithoutCollector : public StackSuite<TracingWithoutCollector> {
public:
    static std::map<std::string, std::string> Environment() {
        // Port 1 on loopback: nothing listens, every export fails at once.
        return {
            {"OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:1"},
            {"OTEL_BSP_SCHEDULE_DELAY", "50"}};
    }
};

TEST_F(TracingWithoutCollector, PaymentsSettleAndTheDroppedSpansAreCounted) {
    std::vector<std::string> ids;
    for (int i = 0; i < 5; ++i) {
        const auto [status, body] =
            stack_->Pay(UniqueName("cust-nocollector"), 1000 + i, UniqueName("nc-key"));
        ASSERT_EQ(status, 200) << body.dump();
        ids.push_back(body.at("payment_id"));
    }
    for (const auto& id : ids) {
        EXPECT_EQ(stack_->WaitForStatus(id, {"SETTLED"})["status"], "SETTLED");
    }
    const std::string series =
        R"(otel_spans_dropped_total{reason="export_failed",service="orchestrator"})";
    EXPECT_TRUE(Eventually([&] {
        const auto metrics = stack_->Client("orchestrator").Get("/metrics");
        if (!metrics.has_value()) {
            return false;
        }
        const auto at = metrics->body.find(series + " ");
        return at != std::string::npos &&
               std::stod(metrics->body.substr(at + series.size() + 1)) > 0;
    }));
}

}  // namespace
}  // namespace sagapay::testing
