#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "app/report_data.hpp"

namespace sagapay::app::report {

/// The executive report as one self-contained HTML page: inline CSS and inline SVG, no script,
/// no font, image or link fetched from anywhere. Pure: the same data gives the same bytes.
[[nodiscard]] std::string RenderReportHtml(const ReportData& data);

// ---- the pieces, pure and tested on their own ----

/// & < > " ' escaped: safe in element text and in quoted attribute values.
[[nodiscard]] std::string HtmlEscape(std::string_view text);

/// An integer amount of minor units in its currency's decimals (USD 2, JPY 0, KWD 3; 2 for a
/// code this system does not know), with thousands separators: 123456 USD → "1,234.56".
/// Formatted from the integer, never through floating point.
[[nodiscard]] std::string FormatMinor(std::int64_t amount_minor, std::string_view currency);

/// 1234567 → "1,234,567".
[[nodiscard]] std::string FormatCount(std::int64_t count);

/// "2026-12-02 07:05:09 UTC".
[[nodiscard]] std::string FormatUtc(std::int64_t epoch_us);

/// A latency for people: "850 ms", "1.24 s", "3.5 min"; "—" for none.
[[nodiscard]] std::string FormatLatency(std::optional<double> ms);

/// A duration in seconds for people: "45 s", "12 min", "3.0 h", "2.1 d".
[[nodiscard]] std::string FormatAge(std::int64_t seconds);

/// The smallest of 1, 2, 5 × 10^k at least `value` (1 for 0 or less).
[[nodiscard]] double NiceCeiling(double value);

struct Series {
    std::string name;
    std::string color;  ///< A CSS colour, e.g. "#2563eb".
    /// One value per x position; none is a gap in the line.
    std::vector<std::optional<double>> values;
};

struct LineChart {
    std::string label;                  ///< aria-label: what the chart shows.
    std::string y_label;                ///< The y axis' title, e.g. "payments".
    std::vector<std::string> x_labels;  ///< One per x position (a few are drawn).
    std::vector<Series> series;
};

/// An inline <svg role="img"> line chart with axes, grid, tick labels and a legend. Any number
/// of points (0: an empty frame saying "no data"; 1: a dot), any values (all zero: a 0..1 axis).
[[nodiscard]] std::string LineChartSvg(const LineChart& chart);

struct BarChart {
    std::string label;  ///< aria-label
    std::string x_label;
    std::vector<std::pair<std::string, std::int64_t>> bars;  ///< Drawn top to bottom.
    std::string color = "#dc2626";
};

/// An inline <svg role="img"> horizontal bar chart; an empty one says "no data".
[[nodiscard]] std::string BarChartSvg(const BarChart& chart);

}  // namespace sagapay::app::report
