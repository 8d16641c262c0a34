#include "app/console/adapters.hpp"

#include <chrono>

#include "runtime/log.hpp"
#include "runtime/wait.hpp"

namespace sagapay::console {

namespace {

std::int64_t MillisOf(Clock::TimePoint t) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

/// RFC 3986 unreserved characters stay, everything else is %XX (a PromQL query in a URL).
std::string UrlEncode(std::string_view text) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    std::string out;
    for (const char c : text) {
        const auto byte = static_cast<unsigned char>(c);
        if (std::isalnum(byte) != 0 || c == '-' || c == '_' || c == '.' || c == '~') {
            out.push_back(c);
        } else {
            out.push_back('%');
            out.push_back(kHex[byte >> 4]);
            out.push_back(kHex[byte & 0x0F]);
        }
    }
    return out;
}

/// What the charts draw, in PromQL (the same series the dashboards use).
struct PromSeries {
    const char* key;
    const char* query;
};
constexpr PromSeries kPromSeries[] = {
    {"posts_per_s", "sum(rate(payment_requests_total[30s]))"},
    {"settled_per_s", "sum(rate(payment_success_total[30s]))"},
    {"failure_ratio",
     "sum(rate(payment_failure_total[1m])) / (sum(rate(payment_failure_total[1m])) + "
     "sum(rate(payment_success_total[1m])))"},
    {"e2e_p50_ms",
     "1000 * histogram_quantile(0.5, sum by (le) (rate(payment_e2e_seconds_bucket[1m])))"},
    {"e2e_p99_ms",
     "1000 * histogram_quantile(0.99, sum by (le) (rate(payment_e2e_seconds_bucket[1m])))"},
    {"lag", "sum(kafka_consumer_lag)"},
};

}  // namespace

ReviewDecider::Answer HttpReviewDecider::Decide(
    const std::string& payment_id, bool approve, const std::string& by
) {
    Headers headers = headers_;
    headers.emplace_back("content-type", "application/json");
    const nlohmann::json body = {{"reviewed_by", by}};
    const auto answer = client_.Send(
        "POST",
        "/ops/reviews/" + payment_id + (approve ? "/approve" : "/deny"),
        body.dump(),
        headers
    );
    if (!answer) {
        return {.status = 0, .body = nullptr, .transport = answer.error().message};
    }
    return {
        .status = answer->status,
        .body = nlohmann::json::parse(answer->body, nullptr, false),
        .transport = {},
    };
}

std::vector<app::ParkedMessage> BusDeadLetters::List(const std::string& topic) {
    const std::scoped_lock lock(mutex_);
    return app::ReadParked(*bus_, topic, 1000);
}

std::optional<app::ParkedDetail> BusDeadLetters::Find(
    const std::string& topic, const std::string& event_id
) {
    const std::scoped_lock lock(mutex_);
    return app::FindParked(*bus_, topic, event_id);
}

app::ReplayOutcome BusDeadLetters::Replay(const std::string& topic, const std::string& event_id) {
    const std::scoped_lock lock(mutex_);
    return app::ReplayParked(
        *bus_,
        orchestrator_,
        headers_,
        {.dlq_topic = topic, .event_id = event_id, .aggregate_id = {}, .dry_run = false}
    );
}

SampledHealth::SampledHealth(
    std::vector<WatchedService> services,
    const std::string& ledger_url,
    Headers ops_headers,
    const std::string& prometheus_url,
    const Clock& clock
)
    : ops_headers_(std::move(ops_headers)), clock_(clock) {
    const http::ClientOptions quick{
        .max_connections = 2,
        .connect_timeout = std::chrono::milliseconds(300),
        .request_timeout = std::chrono::milliseconds(1500),
    };
    for (auto& service : services) {
        auto client = std::make_unique<http::Client>(service.url, quick);
        watched_.push_back({std::move(service), std::move(client)});
    }
    ledger_ = std::make_unique<http::Client>(ledger_url, quick);
    if (!prometheus_url.empty()) {
        prometheus_ = std::make_unique<http::Client>(prometheus_url, quick);
    }
}

void SampledHealth::SampleOnce() {
    HealthCounters counters;
    nlohmann::json services = nlohmann::json::array();
    for (const Watched& watched : watched_) {
        const auto health = watched.client->Get("/health");
        const bool up = health && health->status == 200;
        std::string detail;
        if (!health) {
            detail = health.error().message;
        } else {
            const auto body = nlohmann::json::parse(health->body, nullptr, false);
            detail = body.is_object() ? body.value("status", "") : "";
            if (body.is_object() && body.contains("checks")) {
                detail += " " + body["checks"].dump();
            }
        }
        services.push_back(
            {{"name", watched.service.name},
             {"url", watched.service.url},
             {"up", up},
             {"detail", detail}}
        );
        if (!up) {
            continue;
        }
        const auto metrics = watched.client->Get("/metrics");
        if (!metrics || metrics->status != 200) {
            continue;
        }
        const auto samples = ParseMetricsText(metrics->body);
        counters.posts += SumOf(samples, "payment_requests_total");
        counters.settled += SumOf(samples, "payment_success_total");
        counters.failed += SumOf(samples, "payment_failure_total");
        counters.lag += SumOf(samples, "kafka_consumer_lag");
        for (const auto& [bound, count] : Buckets(samples, "payment_e2e_seconds")) {
            counters.e2e_buckets[bound] += count;
        }
    }
    counters.at_ms = MillisOf(clock_.Now());
    nlohmann::json reconciliation;
    const auto report = ledger_->Send("GET", "/reconciliation?limit=10", {}, ops_headers_);
    if (!report || report->status != 200) {
        reconciliation = {
            {"status", "unknown"},
            {"detail",
             report ? "ledger answered " + std::to_string(report->status)
                    : report.error().message}};
    } else {
        const auto body = nlohmann::json::parse(report->body, nullptr, false);
        const bool balanced = body.is_object() && body.value("balanced", false);
        reconciliation = {
            {"status", balanced ? "balanced" : "imbalanced"},
            {"detail",
             body.is_object()
                 ? std::to_string(body.value("transactions_checked", 0)) +
                       " transactions checked, " +
                       std::to_string(body.value("imbalanced_count", 0)) + " imbalanced"
                 : std::string("unreadable answer")}};
    }
    reconciliation["checked_at"] = counters.at_ms;
    const std::scoped_lock lock(mutex_);
    series_.Add(counters);
    services_ = std::move(services);
    reconciliation_ = std::move(reconciliation);
}

std::optional<nlohmann::json> SampledHealth::PrometheusPoints() {
    if (!prometheus_) {
        return std::nullopt;
    }
    const std::int64_t end = MillisOf(clock_.Now()) / 1000;
    const std::int64_t start = end - 600;
    std::map<std::int64_t, nlohmann::json> by_time;
    for (const PromSeries& series : kPromSeries) {
        const auto answer = prometheus_->Get(
            "/api/v1/query_range?query=" + UrlEncode(series.query) +
            "&start=" + std::to_string(start) + "&end=" + std::to_string(end) + "&step=5"
        );
        if (!answer || answer->status != 200) {
            return std::nullopt;  // Prometheus is not running (or not answering): no charts from it
        }
        const auto body = nlohmann::json::parse(answer->body, nullptr, false);
        if (!body.is_object() || body.value("status", "") != "success") {
            return std::nullopt;
        }
        const auto& result = body["data"]["result"];
        if (!result.is_array() || result.empty()) {
            continue;
        }
        for (const auto& value : result[0]["values"]) {
            const auto t = static_cast<std::int64_t>(value[0].get<double>() * 1000);
            const std::string text = value[1].get<std::string>();
            auto& point = by_time[t];
            point["t"] = t;
            point[series.key] = text == "NaN" ? nlohmann::json() : nlohmann::json(std::stod(text));
        }
    }
    nlohmann::json points = nlohmann::json::array();
    for (auto& [t, point] : by_time) {
        for (const PromSeries& series : kPromSeries) {
            if (!point.contains(series.key)) {
                point[series.key] = nullptr;
            }
        }
        points.push_back(std::move(point));
    }
    return points;
}

nlohmann::json SampledHealth::Snapshot() {
    auto from_prometheus = PrometheusPoints();
    const std::scoped_lock lock(mutex_);
    nlohmann::json snapshot = {
        {"services", services_},
        {"reconciliation", reconciliation_.is_null() ? nlohmann::json::object() : reconciliation_},
    };
    if (from_prometheus) {
        snapshot["source"] = "prometheus";
        snapshot["points"] = std::move(*from_prometheus);
    } else {
        snapshot["source"] = "services";
        nlohmann::json points = nlohmann::json::array();
        for (const HealthPoint& point : series_.Points()) {
            points.push_back(ToJson(point));
        }
        snapshot["points"] = std::move(points);
    }
    return snapshot;
}

void SampledHealth::Run(std::stop_token stop, std::chrono::milliseconds interval) {
    while (!stop.stop_requested()) {
        try {
            SampleOnce();
        } catch (const std::exception& error) {
            log::Warn("console_health_sample_failed", {{"error", error.what()}});
        }
        WaitFor(stop, interval);
    }
}

}  // namespace sagapay::console
