#include "app/report_html.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>

#include <fmt/format.h>

#include "core/money.hpp"

namespace sagapay::app::report {

namespace {

// Chart geometry (SVG user units; the svg scales to its container's width).
constexpr double kWidth = 760;
constexpr double kLineHeight = 280;
constexpr double kLeft = 76;
constexpr double kRight = 20;
constexpr double kTop = 16;
constexpr double kBottom = 64;  // x tick labels, then the legend
constexpr std::size_t kXTicks = 6;
constexpr int kYIntervals = 4;
constexpr double kBarRow = 26;
constexpr double kBarLabelWidth = 260;
constexpr std::size_t kBarLabelChars = 38;
constexpr std::size_t kLongValue = 9;  // a card value wider than this gets a smaller font

std::string Num(double v) {
    return fmt::format("{:.1f}", v);
}

/// A y-axis tick value: no trailing zeros, no exponent for the values charts show.
std::string TickLabel(double v) {
    if (std::abs(v - std::round(v)) < 1e-9) {
        return FormatCount(static_cast<std::int64_t>(std::llround(v)));
    }
    std::string s = fmt::format("{:.3f}", v);
    while (!s.empty() && s.back() == '0') {
        s.pop_back();
    }
    return s;
}

std::string Truncate(std::string_view text, std::size_t chars) {
    // By bytes, but never inside a UTF-8 sequence.
    if (text.size() <= chars) {
        return std::string(text);
    }
    std::size_t cut = chars;
    while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0U) == 0x80U) {
        --cut;
    }
    return std::string(text.substr(0, cut)) + "…";
}

std::string SvgOpen(std::string_view label, double height) {
    return fmt::format(
        R"(<svg class="chart" role="img" aria-label="{}" viewBox="0 0 {} {}" )"
        R"(preserveAspectRatio="xMidYMid meet"><title>{}</title>)",
        HtmlEscape(label),
        Num(kWidth),
        Num(height),
        HtmlEscape(label)
    );
}

std::string NoData(double height) {
    return fmt::format(
        R"(<rect x="0.5" y="0.5" width="{}" height="{}" class="frame"/>)"
        R"(<text x="{}" y="{}" class="nodata" text-anchor="middle">no data</text></svg>)",
        Num(kWidth - 1),
        Num(height - 1),
        Num(kWidth / 2),
        Num(height / 2)
    );
}

struct YAxis {
    double top = 1;
    double step = 0.25;
};

YAxis AxisFor(double max_value) {
    if (!(max_value > 0) || !std::isfinite(max_value)) {
        return {};
    }
    const double step = NiceCeiling(max_value / kYIntervals);
    return {step * kYIntervals, step};
}

}  // namespace

std::string HtmlEscape(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (const char c : text) {
        switch (c) {
            case '&':
                out += "&amp;";
                break;
            case '<':
                out += "&lt;";
                break;
            case '>':
                out += "&gt;";
                break;
            case '"':
                out += "&quot;";
                break;
            case '\'':
                out += "&#39;";
                break;
            default:
                out += c;
        }
    }
    return out;
}

std::string FormatCount(std::int64_t count) {
    // The magnitude as unsigned, so INT64_MIN has one too.
    const bool negative = count < 0;
    const std::uint64_t magnitude = negative ? std::uint64_t{0} - static_cast<std::uint64_t>(count)
                                             : static_cast<std::uint64_t>(count);
    const std::string digits = std::to_string(magnitude);
    std::string out;
    for (std::size_t i = 0; i < digits.size(); ++i) {
        if (i > 0 && (digits.size() - i) % 3 == 0) {
            out += ',';
        }
        out += digits[i];
    }
    return negative ? "-" + out : out;
}

std::string FormatMinor(std::int64_t amount_minor, std::string_view currency) {
    const auto info = FindCurrency(currency);
    const int decimals = info ? info->minor_units : 2;
    const bool negative = amount_minor < 0;
    const std::uint64_t magnitude =
        negative ? std::uint64_t{0} - static_cast<std::uint64_t>(amount_minor)
                 : static_cast<std::uint64_t>(amount_minor);
    std::uint64_t scale = 1;
    for (int i = 0; i < decimals; ++i) {
        scale *= 10;
    }
    const std::uint64_t whole = magnitude / scale;
    std::string out = FormatCount(static_cast<std::int64_t>(whole));
    if (decimals > 0) {
        out += fmt::format(".{:0{}}", magnitude % scale, decimals);
    }
    return negative ? "-" + out : out;
}

std::string FormatUtc(std::int64_t epoch_us) {
    using std::chrono::floor;
    const std::chrono::sys_time<std::chrono::microseconds> t{std::chrono::microseconds(epoch_us)};
    const auto day = floor<std::chrono::days>(t);
    const std::chrono::year_month_day ymd{day};
    const std::chrono::hh_mm_ss hms{floor<std::chrono::seconds>(t - day)};
    return fmt::format(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC",
        static_cast<int>(ymd.year()),
        static_cast<unsigned>(ymd.month()),
        static_cast<unsigned>(ymd.day()),
        hms.hours().count(),
        hms.minutes().count(),
        hms.seconds().count()
    );
}

std::string FormatLatency(std::optional<double> ms) {
    if (!ms || !std::isfinite(*ms)) {
        return "—";
    }
    if (*ms < 1000) {
        return fmt::format("{:.0f} ms", *ms);
    }
    if (*ms < 60'000) {
        return fmt::format("{:.2f} s", *ms / 1000);
    }
    return fmt::format("{:.1f} min", *ms / 60'000);
}

std::string FormatAge(std::int64_t seconds) {
    if (seconds < 120) {
        return fmt::format("{} s", seconds);
    }
    if (seconds < 7200) {
        return fmt::format("{} min", seconds / 60);
    }
    const auto s = static_cast<double>(seconds);
    if (seconds < 172'800) {
        return fmt::format("{:.1f} h", s / 3600);
    }
    return fmt::format("{:.1f} d", s / 86'400);
}

double NiceCeiling(double value) {
    if (!(value > 0) || !std::isfinite(value)) {
        return 1;
    }
    const double power = std::pow(10.0, std::floor(std::log10(value)));
    for (const double m : {1.0, 2.0, 5.0, 10.0}) {
        if (m * power >= value * (1 - 1e-12)) {
            return m * power;
        }
    }
    return 10 * power;
}

std::string LineChartSvg(const LineChart& chart) {
    std::size_t points = chart.x_labels.size();
    double max_value = 0;
    for (const auto& s : chart.series) {
        points = std::max(points, s.values.size());
        for (const auto& v : s.values) {
            if (v && std::isfinite(*v)) {
                max_value = std::max(max_value, *v);
            }
        }
    }
    std::string svg = SvgOpen(chart.label, kLineHeight);
    if (points == 0) {
        return svg + NoData(kLineHeight);
    }
    const double x0 = kLeft;
    const double x1 = kWidth - kRight;
    const double y0 = kTop;
    const double y1 = kLineHeight - kBottom;
    const YAxis axis = AxisFor(max_value);
    const auto x_at = [&](std::size_t i) {
        if (points == 1) {
            return (x0 + x1) / 2;
        }
        return x0 + (x1 - x0) * static_cast<double>(i) / static_cast<double>(points - 1);
    };
    const auto y_at = [&](double v) { return y1 - (y1 - y0) * std::clamp(v / axis.top, 0.0, 1.0); };

    // Grid and y ticks.
    for (int k = 0; k <= kYIntervals; ++k) {
        const double v = axis.step * k;
        const double y = y_at(v);
        svg += fmt::format(
            R"(<line x1="{}" y1="{}" x2="{}" y2="{}" class="{}"/>)",
            Num(x0),
            Num(y),
            Num(x1),
            Num(y),
            k == 0 ? "axis" : "grid"
        );
        svg += fmt::format(
            R"(<text x="{}" y="{}" class="tick" text-anchor="end">{}</text>)",
            Num(x0 - 6),
            Num(y + 4),
            HtmlEscape(TickLabel(v))
        );
    }
    svg += fmt::format(
        R"(<line x1="{}" y1="{}" x2="{}" y2="{}" class="axis"/>)",
        Num(x0),
        Num(y0),
        Num(x0),
        Num(y1)
    );
    svg += fmt::format(
        R"(<text x="14" y="{}" class="axislabel" text-anchor="middle" )"
        R"svg(transform="rotate(-90 14 {})">{}</text>)svg",
        Num((y0 + y1) / 2),
        Num((y0 + y1) / 2),
        HtmlEscape(chart.y_label)
    );
    // X ticks: at most kXTicks labels, evenly spread, the last one included.
    if (!chart.x_labels.empty()) {
        const std::size_t n = chart.x_labels.size();
        const std::size_t every = std::max<std::size_t>(1, (n + kXTicks - 1) / kXTicks);
        for (std::size_t i = 0; i < n; i += every) {
            svg += fmt::format(
                R"(<text x="{}" y="{}" class="tick" text-anchor="middle">{}</text>)",
                Num(x_at(i)),
                Num(y1 + 16),
                HtmlEscape(chart.x_labels[i])
            );
        }
    }
    // The series: one polyline per run of values, a dot for a lone value.
    for (const auto& s : chart.series) {
        const std::string color = HtmlEscape(s.color);
        std::vector<std::pair<double, double>> run;
        const auto flush = [&] {
            if (run.size() == 1) {
                svg += fmt::format(
                    R"(<circle cx="{}" cy="{}" r="3" fill="{}"/>)",
                    Num(run[0].first),
                    Num(run[0].second),
                    color
                );
            } else if (run.size() > 1) {
                std::string pts;
                for (const auto& [x, y] : run) {
                    pts += Num(x) + "," + Num(y) + " ";
                }
                pts.pop_back();
                svg += fmt::format(
                    R"(<polyline points="{}" fill="none" stroke="{}" stroke-width="2" )"
                    R"(stroke-linejoin="round"/>)",
                    pts,
                    color
                );
            }
            run.clear();
        };
        for (std::size_t i = 0; i < s.values.size(); ++i) {
            const auto& v = s.values[i];
            if (v && std::isfinite(*v)) {
                run.emplace_back(x_at(i), y_at(*v));
            } else {
                flush();
            }
        }
        flush();
    }
    // Legend.
    double lx = x0;
    const double ly = kLineHeight - 14;
    for (const auto& s : chart.series) {
        svg += fmt::format(
            R"(<rect x="{}" y="{}" width="12" height="12" rx="2" fill="{}"/>)"
            R"(<text x="{}" y="{}" class="legend">{}</text>)",
            Num(lx),
            Num(ly - 10),
            HtmlEscape(s.color),
            Num(lx + 18),
            Num(ly),
            HtmlEscape(s.name)
        );
        lx += 30 + 8 * static_cast<double>(std::min<std::size_t>(s.name.size(), 30));
    }
    return svg + "</svg>";
}

std::string BarChartSvg(const BarChart& chart) {
    const double height =
        chart.bars.empty() ? 120 : kTop + kBarRow * static_cast<double>(chart.bars.size()) + 40;
    std::string svg = SvgOpen(chart.label, height);
    if (chart.bars.empty()) {
        return svg + NoData(height);
    }
    std::int64_t max_value = 0;
    for (const auto& [label, value] : chart.bars) {
        max_value = std::max(max_value, value);
    }
    const double x0 = kBarLabelWidth;
    const double x1 = kWidth - 70;  // room for the value after the longest bar
    const double top = NiceCeiling(static_cast<double>(max_value));
    const double bottom = kTop + kBarRow * static_cast<double>(chart.bars.size());
    svg += fmt::format(
        R"(<line x1="{}" y1="{}" x2="{}" y2="{}" class="axis"/>)",
        Num(x0),
        Num(kTop - 4),
        Num(x0),
        Num(bottom)
    );
    for (std::size_t i = 0; i < chart.bars.size(); ++i) {
        const auto& [label, value] = chart.bars[i];
        const double y = kTop + kBarRow * static_cast<double>(i);
        const double w = (x1 - x0) * std::clamp(static_cast<double>(value) / top, 0.0, 1.0);
        svg += fmt::format(
            R"(<text x="{}" y="{}" class="tick" text-anchor="end">{}</text>)"
            R"(<rect x="{}" y="{}" width="{}" height="{}" rx="2" fill="{}"/>)"
            R"(<text x="{}" y="{}" class="value">{}</text>)",
            Num(x0 - 8),
            Num(y + 15),
            HtmlEscape(Truncate(label, kBarLabelChars)),
            Num(x0),
            Num(y + 3),
            Num(w),
            Num(kBarRow - 8),
            HtmlEscape(chart.color),
            Num(x0 + w + 6),
            Num(y + 15),
            HtmlEscape(FormatCount(value))
        );
    }
    svg += fmt::format(
        R"(<text x="{}" y="{}" class="axislabel" text-anchor="middle">{}</text>)",
        Num((x0 + x1) / 2),
        Num(bottom + 26),
        HtmlEscape(chart.x_label)
    );
    return svg + "</svg>";
}

namespace {

constexpr const char* kCss = R"(
:root { --ink:#111827; --muted:#6b7280; --line:#e5e7eb; --card:#f9fafb; --ok:#15803d; --bad:#b91c1c; }
* { box-sizing: border-box; }
body { font-family: system-ui, -apple-system, "Segoe UI", "DejaVu Sans", Arial, sans-serif;
       color: var(--ink); margin: 0 auto; max-width: 1180px; padding: 24px 32px; line-height: 1.4; }
header { border-bottom: 3px solid var(--ink); margin-bottom: 16px; padding-bottom: 8px; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 19px; margin: 28px 0 10px; border-bottom: 1px solid var(--line); padding-bottom: 4px; }
.meta { color: var(--muted); font-size: 14px; margin: 2px 0; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(170px, 1fr)); gap: 12px; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 12px 14px;
        break-inside: avoid; }
.card .label { color: var(--muted); font-size: 13px; text-transform: uppercase; letter-spacing: .03em; }
.card .value { font-size: 26px; font-weight: 650; font-variant-numeric: tabular-nums; margin-top: 2px; }
.card .sub { color: var(--muted); font-size: 12px; }
.card .value.long { font-size: 20px; padding-top: 5px; }
.card.good .value { color: var(--ok); } .card.bad .value { color: var(--bad); }
figure { margin: 20px 0 8px; break-inside: avoid; }
figcaption { font-weight: 600; margin-bottom: 4px; }
svg.chart { width: 100%; height: auto; display: block; font-size: 12px; }
svg .grid { stroke: var(--line); stroke-width: 1; }
svg .axis { stroke: #9ca3af; stroke-width: 1; }
svg .frame { fill: none; stroke: var(--line); }
svg .tick, svg .value { fill: #374151; font-size: 11px; }
svg .axislabel { fill: var(--muted); font-size: 12px; }
svg .legend { fill: var(--ink); font-size: 12px; }
svg .nodata { fill: var(--muted); font-size: 14px; }
table { border-collapse: collapse; font-size: 13px; margin: 6px 0 10px; font-variant-numeric: tabular-nums; }
th, td { border-bottom: 1px solid var(--line); padding: 4px 10px; text-align: left; }
td.n, th.n { text-align: right; }
details summary { cursor: pointer; color: var(--muted); font-size: 13px; }
.badge { display: inline-block; padding: 3px 10px; border-radius: 999px; color: #fff; font-weight: 600; }
.badge.ok { background: var(--ok); } .badge.bad { background: var(--bad); } .badge.na { background: var(--muted); }
.note { color: var(--muted); font-size: 13px; }
footer { margin-top: 32px; color: var(--muted); font-size: 12px; border-top: 1px solid var(--line); padding-top: 8px; }
@media print { body { padding: 0; max-width: none; } h2 { break-after: avoid; } }
)";

std::string Card(
    std::string_view label,
    std::string_view value,
    std::string_view sub = {},
    std::string_view tone = {}
) {
    return fmt::format(
        R"(<div class="card{}"><div class="label">{}</div><div class="value{}">{}</div>{}</div>)",
        tone.empty() ? "" : " " + std::string(tone),
        HtmlEscape(label),
        value.size() > kLongValue ? " long" : "",
        HtmlEscape(value),
        sub.empty() ? "" : R"(<div class="sub">)" + HtmlEscape(sub) + "</div>"
    );
}

std::string Percent(double ratio) {
    return fmt::format("{:.1f}%", ratio * 100);
}

/// Bucket start labels: the time of day, with the date when the window spans days.
std::string BucketLabel(std::int64_t start_us, bool with_date) {
    const std::string full = FormatUtc(start_us);  // "YYYY-MM-DD HH:MM:SS UTC"
    return with_date ? full.substr(5, 11) : full.substr(11, 5);
}

std::string Th(std::string_view text, bool numeric = false) {
    return fmt::format(
        R"(<th{} scope="col">{}</th>)", numeric ? R"( class="n")" : "", HtmlEscape(text)
    );
}

std::string Td(std::string_view text, bool numeric = false) {
    return fmt::format("<td{}>{}</td>", numeric ? R"( class="n")" : "", HtmlEscape(text));
}

std::string PaymentsSection(const ReportData& data) {
    const PaymentsSummary& p = data.payments;
    std::string html = R"(<section id="payments"><h2>Payments</h2><div class="cards">)";
    html += Card("Created", FormatCount(p.created), "in the window");
    html += Card("Settled", FormatCount(p.settled), "", "good");
    html += Card("Failed", FormatCount(p.failed), "", p.failed > 0 ? "bad" : "");
    html += Card("Reversed", FormatCount(p.reversed), "failed, hold released");
    html += Card("In flight", FormatCount(p.in_flight), "not final yet");
    const auto ratio = p.SuccessRatio();
    html += Card(
        "Success ratio",
        ratio ? Percent(*ratio) : "—",
        fmt::format("settled / final ({})", FormatCount(p.Final()))
    );
    html += Card("Latency p50", FormatLatency(p.p50_ms), "created → final");
    html += Card("Latency p95", FormatLatency(p.p95_ms), "created → final");
    html += Card("Latency p99", FormatLatency(p.p99_ms), "created → final");
    for (const auto& c : p.settled_amounts) {
        html += Card(
            "Settled " + c.currency,
            FormatMinor(c.amount_minor, c.currency),
            fmt::format("{} payments", FormatCount(c.payments))
        );
    }
    html += "</div>";
    if (p.settled_amounts.empty()) {
        html += R"(<p class="note">No payment settled in the window.</p>)";
    }

    const std::int64_t span_us = data.window.to_us - data.window.from_us;
    const bool with_date = span_us > std::int64_t{86'400} * 1'000'000;
    LineChart volume{
        .label = "Payments created, settled and failed per bucket",
        .y_label = "payments",
        .x_labels = {},
        .series = {},
    };
    LineChart latency{
        .label = "End-to-end latency p95 per bucket (created to final)",
        .y_label = "p95, ms",
        .x_labels = {},
        .series = {},
    };
    Series created{"created", "#2563eb", {}};
    Series settled{"settled", "#16a34a", {}};
    Series failed{"failed or reversed", "#dc2626", {}};
    Series p95{"p95 created → final", "#7c3aed", {}};
    // Seconds when the latencies are long (reviews wait for people), milliseconds otherwise.
    double max_p95 = 0;
    for (const auto& b : p.buckets) {
        max_p95 = std::max(max_p95, b.p95_ms.value_or(0));
    }
    const bool in_seconds = max_p95 >= 10'000;
    latency.y_label = in_seconds ? "p95, s" : "p95, ms";
    std::string rows;
    for (const auto& b : p.buckets) {
        const std::string label = BucketLabel(b.start_us, with_date);
        volume.x_labels.push_back(label);
        latency.x_labels.push_back(label);
        created.values.emplace_back(static_cast<double>(b.created));
        settled.values.emplace_back(static_cast<double>(b.settled));
        failed.values.emplace_back(static_cast<double>(b.failed));
        p95.values.push_back(
            b.p95_ms && in_seconds ? std::optional<double>(*b.p95_ms / 1000) : b.p95_ms
        );
        rows += "<tr>" + Td(FormatUtc(b.start_us)) + Td(FormatCount(b.created), true) +
                Td(FormatCount(b.settled), true) + Td(FormatCount(b.failed), true) +
                Td(FormatLatency(b.p95_ms), true) + "</tr>";
    }
    volume.series = {created, settled, failed};
    latency.series = {p95};
    const std::string table =
        R"(<details><summary>The numbers behind the charts</summary><table><thead><tr>)" +
        Th("bucket start") + Th("created", true) + Th("settled", true) +
        Th("failed or reversed", true) + Th("p95 created → final", true) + "</tr></thead><tbody>" +
        rows + "</tbody></table></details>";
    html += fmt::format(
        R"(<figure><figcaption>Payments per {} (by creation time; outcome as of now)</figcaption>{})"
        R"(</figure><figure><figcaption>End-to-end latency p95 per bucket</figcaption>{}</figure>{})",
        FormatAge(data.window.step_us / 1'000'000),
        LineChartSvg(volume),
        LineChartSvg(latency),
        table
    );

    BarChart reasons{
        .label = "Failure reasons of failed payments", .x_label = "payments", .bars = {}};
    std::string reason_rows;
    for (const auto& r : p.failure_reasons) {
        reasons.bars.emplace_back(r.reason, r.count);
        reason_rows += "<tr>" + Td(r.reason) + Td(FormatCount(r.count), true) + "</tr>";
    }
    if (p.other_reasons > 0) {
        reasons.bars.emplace_back("other reasons", p.other_reasons);
        reason_rows +=
            "<tr>" + Td("other reasons") + Td(FormatCount(p.other_reasons), true) + "</tr>";
    }
    html +=
        R"(<figure><figcaption>Failure reasons</figcaption>)" + BarChartSvg(reasons) + "</figure>";
    if (!reason_rows.empty()) {
        html += "<table><thead><tr>" + Th("reason") + Th("payments", true) +
                "</tr></thead><tbody>" + reason_rows + "</tbody></table>";
    }
    return html + "</section>";
}

std::string ReviewsSection(const ReviewsSummary& r) {
    std::string html = R"(<section id="reviews"><h2>Manual reviews</h2>)";
    if (!r.read) {
        return html + R"(<p class="note">Not read: )" + HtmlEscape(r.note) + "</p></section>";
    }
    html += R"(<div class="cards">)";
    html += Card("Pending", FormatCount(r.pending), "opened in the window");
    html += Card("Approved", FormatCount(r.approved), "opened in the window");
    html += Card("Denied", FormatCount(r.denied), "by a person");
    html += Card("Expired", FormatCount(r.expired), "denied by the expiry");
    html += Card("Pending now", FormatCount(r.pending_now), "all, whenever opened");
    html += Card(
        "Oldest pending",
        r.oldest_pending_age_s ? FormatAge(*r.oldest_pending_age_s) : "—",
        "waiting for a decision",
        r.oldest_pending_age_s && *r.oldest_pending_age_s > 3600 ? "bad" : ""
    );
    return html + "</div></section>";
}

std::string DlqSection(const DlqSummary& d) {
    std::string html = R"(<section id="dlq"><h2>Dead letters</h2>)";
    if (!d.read) {
        return html + R"(<p class="note">Not read: )" + HtmlEscape(d.note) + "</p></section>";
    }
    html += R"(<div class="cards">)" +
            Card(
                "Parked",
                FormatCount(d.total),
                "payments.dlq and deadletter",
                d.total > 0 ? "bad" : "good"
            ) +
            "</div>";
    if (d.rows.empty()) {
        return html + R"(<p class="note">Nothing is parked.</p></section>)";
    }
    html += "<table><thead><tr>" + Th("topic") + Th("reason") + Th("messages", true) +
            "</tr></thead><tbody>";
    for (const auto& row : d.rows) {
        html +=
            "<tr>" + Td(row.topic) + Td(row.reason) + Td(FormatCount(row.count), true) + "</tr>";
    }
    if (d.other > 0) {
        html += "<tr>" + Td("") + Td("other reasons") + Td(FormatCount(d.other), true) + "</tr>";
    }
    html += "</tbody></table>";
    if (!d.note.empty()) {
        html += R"(<p class="note">)" + HtmlEscape(d.note) + "</p>";
    }
    return html + "</section>";
}

std::string ReconciliationSection(const ReconciliationSummary& r) {
    std::string html = R"(<section id="reconciliation"><h2>Reconciliation</h2>)";
    if (!r.read) {
        return html + R"(<p><span class="badge na">not checked</span> )" + HtmlEscape(r.note) +
               "</p></section>";
    }
    const bool clean = r.Clean();
    html += fmt::format(
        R"(<p><span class="badge {}">{}</span> {}</p>)",
        clean ? "ok" : "bad",
        clean ? "clean" : "mismatch",
        HtmlEscape(r.method)
    );
    html += "<table><thead><tr>" + Th("currency") + Th("settled payments", true) +
            Th("settled amount", true) + Th("ledger settlements", true) +
            Th("ledger amount", true) + Th("same payments") + Th("debits", true) +
            Th("credits", true) + Th("result") + "</tr></thead><tbody>";
    for (const auto& c : r.currencies) {
        html += "<tr>" + Td(c.currency) + Td(FormatCount(c.settled_payments), true) +
                Td(FormatMinor(c.settled_amount_minor, c.currency), true) +
                Td(FormatCount(c.ledger_settlements), true) +
                Td(FormatMinor(c.ledger_amount_minor, c.currency), true) +
                Td(c.same_payments ? "yes" : "no") +
                Td(FormatMinor(c.debits_minor, c.currency), true) +
                Td(FormatMinor(c.credits_minor, c.currency), true) +
                Td(c.Clean() ? "clean" : "mismatch") + "</tr>";
    }
    if (r.currencies.empty()) {
        html += R"(<tr><td colspan="9">No settled payment and no ledger entry yet.</td></tr>)";
    }
    html += "</tbody></table>";
    html += fmt::format(
        R"(<p class="note">Ledger transactions whose entries do not balance: {}.)",
        FormatCount(r.imbalanced_transactions)
    );
    if (!clean && r.captured_now > 0) {
        html += fmt::format(
            " {} payments are between capture and settlement right now: a settlement in flight "
            "shows as a difference until it lands; run the report again or <code>sagapay "
            "reconcile</code>.",
            FormatCount(r.captured_now)
        );
    }
    return html + "</p></section>";
}

std::string PrometheusSection(const PrometheusSummary& p) {
    std::string html = R"(<section id="prometheus"><h2>Prometheus</h2>)";
    if (!p.asked) {
        return html +
               R"(<p class="note">Not queried: pass <code>--prom-url</code> or set )"
               R"(<code>SAGAPAY_PROMETHEUS_URL</code> to add the service metrics.</p></section>)";
    }
    if (!p.reachable) {
        return html + R"(<p class="note">Prometheus at )" + HtmlEscape(p.url) +
               " could not be queried: " + HtmlEscape(p.note) +
               ". The rest of the report does not depend on it.</p></section>";
    }
    html += R"(<div class="cards">)";
    for (const auto& c : p.cards) {
        html += Card(c.title, c.value);
    }
    html += "</div><details><summary>The queries</summary><table><thead><tr>" + Th("card") +
            Th("PromQL") + "</tr></thead><tbody>";
    for (const auto& c : p.cards) {
        html += "<tr>" + Td(c.title) + "<td><code>" + HtmlEscape(c.query) + "</code></td></tr>";
    }
    html += "</tbody></table></details>";
    return html + R"(<p class="note">Instant queries to Prometheus at )" + HtmlEscape(p.url) +
           (p.note.empty() ? "" : "; " + HtmlEscape(p.note)) + ".</p></section>";
}

}  // namespace

std::string RenderReportHtml(const ReportData& data) {
    const Window& w = data.window;
    std::string html = R"(<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">)"
                       R"(<meta name="viewport" content="width=device-width, initial-scale=1">)"
                       "<title>SagaPay executive report, " +
                       HtmlEscape(FormatUtc(w.from_us)) + " to " + HtmlEscape(FormatUtc(w.to_us)) +
                       "</title><style>" + kCss + "</style></head><body>";
    std::string step_note = FormatAge(w.step_us / 1'000'000) + " buckets";
    if (w.step_us != w.requested_step_us) {
        step_note += fmt::format(
            " ({} asked for would have made more than {} buckets)",
            FormatAge(w.requested_step_us / 1'000'000),
            kMaxBuckets
        );
    }
    html += fmt::format(
        R"(<header><h1>SagaPay executive report</h1>)"
        R"(<p class="meta">Payments created from <strong>{}</strong> to <strong>{}</strong>; {}.</p>)"
        R"(<p class="meta">Generated {} from the services' PostgreSQL databases.</p></header>)",
        HtmlEscape(FormatUtc(w.from_us)),
        HtmlEscape(FormatUtc(w.to_us)),
        HtmlEscape(step_note),
        HtmlEscape(FormatUtc(data.generated_at_us))
    );
    html += PaymentsSection(data);
    html += ReviewsSection(data.reviews);
    html += DlqSection(data.dlq);
    html += ReconciliationSection(data.reconciliation);
    html += PrometheusSection(data.prometheus);
    html +=
        "<footer>Payments, statuses, amounts and latencies: the orchestrator database (a payment's "
        "latency is its creation to its last change, once final; failure reasons are the "
        "timeline's "
        "reason for the move to FAILED). Reviews: the risk database. Dead letters: the bus, as "
        "<code>sagapay dlq list</code> reads it. Reconciliation: the orchestrator and ledger "
        "databases. Money is summed in integer minor units. Written by <code>sagapay report</code> "
        "(docs/report.md).</footer></body></html>\n";
    return html;
}

}  // namespace sagapay::app::report
