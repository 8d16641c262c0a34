#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace sagapay::console {

/// One sample of a Prometheus text exposition.
struct MetricSample {
    std::string name;
    std::map<std::string, std::string> labels;
    double value = 0;
};

/// The samples of a /metrics answer (text format 0.0.4); comments and lines that do not parse
/// are skipped.
[[nodiscard]] std::vector<MetricSample> ParseMetricsText(std::string_view text);

/// The sum of every sample named `name`.
[[nodiscard]] double SumOf(const std::vector<MetricSample>& samples, std::string_view name);

/// A histogram's cumulative buckets summed over its other labels: upper bound → count.
[[nodiscard]] std::map<double, double> Buckets(
    const std::vector<MetricSample>& samples, std::string_view histogram
);

/// The `q` quantile (0–1) of the observations counted by cumulative `buckets`, interpolated
/// inside the bucket as Prometheus's histogram_quantile does; nullopt without observations.
[[nodiscard]] std::optional<double> Quantile(const std::map<double, double>& buckets, double q);

/// The counters the health page turns into rates, read at one time.
struct HealthCounters {
    std::int64_t at_ms = 0;
    double posts = 0;                      ///< payment_requests_total (gateways)
    double settled = 0;                    ///< payment_success_total
    double failed = 0;                     ///< payment_failure_total
    std::map<double, double> e2e_buckets;  ///< payment_e2e_seconds
    double lag = 0;                        ///< kafka_consumer_lag, summed (both buses)
};

/// One point of the health charts: the rates between two HealthCounters.
struct HealthPoint {
    std::int64_t at_ms = 0;
    double posts_per_s = 0;
    double settled_per_s = 0;
    std::optional<double> failure_ratio;  ///< failed ÷ (settled + failed); none when neither
    std::optional<double> e2e_p50_ms;
    std::optional<double> e2e_p99_ms;
    double lag = 0;
};

/// The rates from `before` to `after`; a counter that went down (a restarted service) counts
/// from zero, as Prometheus's rate() does.
[[nodiscard]] HealthPoint PointBetween(const HealthCounters& before, const HealthCounters& after);

[[nodiscard]] nlohmann::json ToJson(const HealthPoint& point);

/// The last `capacity` points, oldest first. Not thread-safe.
class HealthSeries {
public:
    explicit HealthSeries(std::size_t capacity) : capacity_(capacity) {}
    /// Adds the point between the previous counters and `counters` (none for the first).
    void Add(const HealthCounters& counters);
    [[nodiscard]] const std::deque<HealthPoint>& Points() const noexcept { return points_; }

private:
    std::size_t capacity_;
    std::optional<HealthCounters> last_;
    std::deque<HealthPoint> points_;
};

}  // namespace sagapay::console
