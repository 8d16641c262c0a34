#include "app/console/health.hpp"

#include <charconv>
#include <cmath>
#include <limits>

namespace sagapay::console {

namespace {

std::optional<double> ParseValue(std::string_view text) {
    if (text == "+Inf") {
        return std::numeric_limits<double>::infinity();
    }
    if (text == "-Inf") {
        return -std::numeric_limits<double>::infinity();
    }
    if (text == "NaN") {
        return std::numeric_limits<double>::quiet_NaN();
    }
    double value = 0;
    const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || ptr != text.data() + text.size()) {
        return std::nullopt;
    }
    return value;
}

/// `a="x",b="y"` (escapes \\, \" and \n) into `labels`; false when malformed.
bool ParseLabels(std::string_view text, std::map<std::string, std::string>& labels) {
    std::size_t i = 0;
    while (i < text.size()) {
        const std::size_t equals = text.find('=', i);
        if (equals == std::string_view::npos || equals + 1 >= text.size() ||
            text[equals + 1] != '"') {
            return false;
        }
        std::string name(text.substr(i, equals - i));
        std::string value;
        std::size_t j = equals + 2;
        for (; j < text.size() && text[j] != '"'; ++j) {
            if (text[j] == '\\' && j + 1 < text.size()) {
                ++j;
                value.push_back(text[j] == 'n' ? '\n' : text[j]);
            } else {
                value.push_back(text[j]);
            }
        }
        if (j >= text.size()) {
            return false;
        }
        labels.emplace(std::move(name), std::move(value));
        i = j + 1;
        if (i < text.size() && text[i] == ',') {
            ++i;
        }
    }
    return true;
}

double Increase(double before, double after) {
    return after >= before ? after - before : after;  // a restart counts from zero
}

}  // namespace

std::vector<MetricSample> ParseMetricsText(std::string_view text) {
    std::vector<MetricSample> samples;
    while (!text.empty()) {
        const std::size_t end = text.find('\n');
        std::string_view line = text.substr(0, end);
        text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
        if (line.empty() || line.front() == '#') {
            continue;
        }
        MetricSample sample;
        std::string_view rest;
        if (const std::size_t brace = line.find('{'); brace != std::string_view::npos) {
            const std::size_t close = line.rfind('}');
            if (close == std::string_view::npos || close < brace ||
                !ParseLabels(line.substr(brace + 1, close - brace - 1), sample.labels)) {
                continue;
            }
            sample.name = std::string(line.substr(0, brace));
            rest = line.substr(close + 1);
        } else {
            const std::size_t space = line.find(' ');
            if (space == std::string_view::npos) {
                continue;
            }
            sample.name = std::string(line.substr(0, space));
            rest = line.substr(space);
        }
        while (!rest.empty() && rest.front() == ' ') {
            rest.remove_prefix(1);
        }
        rest = rest.substr(0, rest.find(' '));  // an optional timestamp follows
        const auto value = ParseValue(rest);
        if (!value) {
            continue;
        }
        sample.value = *value;
        samples.push_back(std::move(sample));
    }
    return samples;
}

double SumOf(const std::vector<MetricSample>& samples, std::string_view name) {
    double sum = 0;
    for (const MetricSample& sample : samples) {
        if (sample.name == name && std::isfinite(sample.value)) {
            sum += sample.value;
        }
    }
    return sum;
}

std::map<double, double> Buckets(
    const std::vector<MetricSample>& samples, std::string_view histogram
) {
    const std::string name = std::string(histogram) + "_bucket";
    std::map<double, double> buckets;
    for (const MetricSample& sample : samples) {
        if (sample.name != name) {
            continue;
        }
        const auto le = sample.labels.find("le");
        if (le == sample.labels.end()) {
            continue;
        }
        if (const auto bound = ParseValue(le->second)) {
            buckets[*bound] += sample.value;
        }
    }
    return buckets;
}

std::optional<double> Quantile(const std::map<double, double>& buckets, double q) {
    if (buckets.empty()) {
        return std::nullopt;
    }
    const double total = buckets.rbegin()->second;
    if (!(total > 0)) {
        return std::nullopt;
    }
    const double rank = q * total;
    double lower_bound = 0;
    double lower_count = 0;
    for (const auto& [bound, count] : buckets) {
        if (count >= rank) {
            if (std::isinf(bound)) {
                return lower_bound;  // above the highest finite bucket: its bound, as Prometheus
            }
            const double in_bucket = count - lower_count;
            if (in_bucket <= 0) {
                return bound;
            }
            return lower_bound + (bound - lower_bound) * (rank - lower_count) / in_bucket;
        }
        lower_bound = bound;
        lower_count = count;
    }
    return lower_bound;
}

HealthPoint PointBetween(const HealthCounters& before, const HealthCounters& after) {
    HealthPoint point;
    point.at_ms = after.at_ms;
    const double seconds = static_cast<double>(after.at_ms - before.at_ms) / 1000.0;
    if (seconds <= 0) {
        return point;
    }
    point.posts_per_s = Increase(before.posts, after.posts) / seconds;
    const double settled = Increase(before.settled, after.settled);
    const double failed = Increase(before.failed, after.failed);
    point.settled_per_s = settled / seconds;
    if (settled + failed > 0) {
        point.failure_ratio = failed / (settled + failed);
    }
    std::map<double, double> delta;
    for (const auto& [bound, count] : after.e2e_buckets) {
        const auto old = before.e2e_buckets.find(bound);
        delta[bound] = Increase(old == before.e2e_buckets.end() ? 0 : old->second, count);
    }
    if (const auto p50 = Quantile(delta, 0.5)) {
        point.e2e_p50_ms = *p50 * 1000.0;
    }
    if (const auto p99 = Quantile(delta, 0.99)) {
        point.e2e_p99_ms = *p99 * 1000.0;
    }
    point.lag = after.lag;
    return point;
}

nlohmann::json ToJson(const HealthPoint& point) {
    const auto optional = [](const std::optional<double>& value) {
        return value ? nlohmann::json(*value) : nlohmann::json();
    };
    return {
        {"t", point.at_ms},
        {"posts_per_s", point.posts_per_s},
        {"settled_per_s", point.settled_per_s},
        {"failure_ratio", optional(point.failure_ratio)},
        {"e2e_p50_ms", optional(point.e2e_p50_ms)},
        {"e2e_p99_ms", optional(point.e2e_p99_ms)},
        {"lag", point.lag},
    };
}

void HealthSeries::Add(const HealthCounters& counters) {
    if (last_) {
        points_.push_back(PointBetween(*last_, counters));
        while (points_.size() > capacity_) {
            points_.pop_front();
        }
    }
    last_ = counters;
}

}  // namespace sagapay::console
