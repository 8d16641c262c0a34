#include "app/report.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <utility>

#include <fmt/format.h>

#include "adapters/http/client.hpp"
#include "app/report_html.hpp"

namespace sagapay::app::report {

namespace {

constexpr std::int64_t kMicros = 1'000'000;

/// The window's bounds as SQL on `created_at` ($1 from, $2 to, µs since the epoch).
constexpr const char* kInWindow =
    "created_at >= timestamptz 'epoch' + $1::bigint * interval '1 microsecond' AND "
    "created_at < timestamptz 'epoch' + $2::bigint * interval '1 microsecond'";

/// Ended, and updated_at still the time it ended (a refund since moves updated_at, so a refunded
/// payment's latency is not read from it).
constexpr const char* kFinal = "status IN ('SETTLED', 'FAILED', 'REVERSED')";

/// No longer in flight.
constexpr const char* kDone =
    "status IN ('SETTLED', 'FAILED', 'REVERSED', 'PARTIALLY_REFUNDED', 'REFUNDED')";

/// Settled, refunded since or not: the money was captured and posted.
constexpr const char* kSettled = "status IN ('SETTLED', 'PARTIALLY_REFUNDED', 'REFUNDED')";

/// What a settled payment settled: its capture (a manual capture may take part of the amount).
constexpr const char* kSettledAmount = "coalesce(captured_cents, amount_cents)";

/// Created → last change in milliseconds: for a final payment, the time it took to end.
constexpr const char* kLatencyMs = "(extract(epoch FROM updated_at - created_at) * 1000)::float8";

/// An order-free checksum term of a payment id, the same in every database: the first 28 bits
/// of its md5 (a sum of up to 2^35 of them fits a bigint).
constexpr const char* kIdChecksum =
    "sum(('x' || substr(md5(payment_id::text), 1, 7))::bit(28)::bigint)::bigint";

std::optional<double> OptionalDouble(const postgres::Rows& rows, int row, int col) {
    const auto text = rows.GetOptional(row, col);
    if (!text) {
        return std::nullopt;
    }
    return std::stod(*text);
}

std::string EnvValue(const EnvMap& env, std::string_view name) {
    const auto it = env.find(name);
    return it == env.end() ? std::string() : it->second;
}

std::string PercentEncode(std::string_view text) {
    std::string out;
    for (const char c : text) {
        const auto u = static_cast<unsigned char>(c);
        if ((u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') || (u >= '0' && u <= '9') ||
            c == '-' || c == '_' || c == '.' || c == '~') {
            out += c;
        } else {
            out += fmt::format("%{:02X}", u);
        }
    }
    return out;
}

/// 1 s … 1 d: the steps chosen when the one asked for makes too many buckets.
constexpr std::array<std::int64_t, 20> kRoundSteps = {
    1,    5,    10,   15,     30,     60,     120,    300,     600,     900,
    1800, 3600, 7200, 10'800, 21'600, 43'200, 86'400, 172'800, 604'800, 2'592'000};

std::optional<std::int64_t> ParseIso(std::string_view text) {
    // YYYY-MM-DD, optionally followed by THH:MM[:SS] and an optional Z.
    int y = 0;
    unsigned mo = 0;
    unsigned d = 0;
    int h = 0;
    int mi = 0;
    int s = 0;
    const auto number = [&text](std::size_t at, std::size_t len, auto& out) {
        if (at + len > text.size()) {
            return false;
        }
        const char* first = text.data() + at;
        const auto [ptr, ec] = std::from_chars(first, first + len, out);
        return ec == std::errc() && ptr == first + len;
    };
    if (text.size() < 10 || text[4] != '-' || text[7] != '-' || !number(0, 4, y) ||
        !number(5, 2, mo) || !number(8, 2, d)) {
        return std::nullopt;
    }
    std::string_view rest = text.substr(10);
    if (!rest.empty()) {
        if ((rest.front() != 'T' && rest.front() != ' ') || rest.size() < 6 || rest[3] != ':' ||
            !number(11, 2, h) || !number(14, 2, mi)) {
            return std::nullopt;
        }
        rest = rest.substr(6);
        if (!rest.empty() && rest.front() == ':') {
            if (rest.size() < 3 || !number(17, 2, s)) {
                return std::nullopt;
            }
            rest = rest.substr(3);
        }
        if (rest == "Z" || rest == "+00:00") {
            rest = {};
        }
        if (!rest.empty() || h > 23 || mi > 59 || s > 59) {
            return std::nullopt;
        }
    }
    const std::chrono::year_month_day ymd{
        std::chrono::year(y), std::chrono::month(mo), std::chrono::day(d)};
    if (!ymd.ok()) {
        return std::nullopt;
    }
    const auto t = std::chrono::sys_days(ymd) + std::chrono::hours(h) + std::chrono::minutes(mi) +
                   std::chrono::seconds(s);
    return std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
}

std::string DlqReason(const ParkedMessage& m) {
    if (m.error_type.empty()) {
        return m.reason.empty() ? "(no reason)" : m.reason;
    }
    return m.reason.empty() ? m.error_type : m.error_type + ": " + m.reason;
}

template <class Fn>
auto ReadingPart(std::string& note, Fn&& fn) -> decltype(fn()) {
    try {
        return fn();
    } catch (const std::exception& error) {
        note = error.what();
        return {};
    }
}

}  // namespace

ReportOptions ReportOptionsFromEnvironment(const EnvMap& env) {
    const auto config = LoadConfig(env, "tools");
    if (!config) {
        throw ReportError(config.error().message);
    }
    ReportOptions options;
    for (const std::string service : {"orchestrator", "risk", "ledger"}) {
        if (std::string dsn = config->DsnFor(service); !dsn.empty()) {
            options.dsn[service] = std::move(dsn);
        }
    }
    // As verify: the bus is read only where the environment says it is.
    options.bus.event_bus = config->event_bus;
    options.bus.stream_prefix = config->stream_prefix;
    if (config->event_bus == "kafka" && !EnvValue(env, "KAFKA_BOOTSTRAP_SERVERS").empty()) {
        options.bus.bootstrap_servers = config->kafka_bootstrap_servers;
    }
    if (config->event_bus != "kafka" && !EnvValue(env, "REDIS_URL").empty()) {
        options.bus.redis_url = config->redis_url;
    }
    options.prom_url = EnvValue(env, "SAGAPAY_PROMETHEUS_URL");
    return options;
}

std::optional<std::int64_t> ParseSince(std::string_view text, std::int64_t now_us) {
    if (text.size() >= 2) {
        const char unit = text.back();
        std::int64_t seconds_per = 0;
        switch (unit) {
            case 's':
                seconds_per = 1;
                break;
            case 'm':
                seconds_per = 60;
                break;
            case 'h':
                seconds_per = 3600;
                break;
            case 'd':
                seconds_per = 86'400;
                break;
            default:
                break;
        }
        std::int64_t count = 0;
        const char* first = text.data();
        const char* last = text.data() + text.size() - 1;
        const auto [ptr, ec] = std::from_chars(first, last, count);
        if (seconds_per > 0 && ec == std::errc() && ptr == last) {
            // At most ten years: no overflow below.
            if (count <= 0 || count > std::int64_t{3650} * 86'400 / seconds_per) {
                return std::nullopt;
            }
            return now_us - count * seconds_per * kMicros;
        }
    }
    const auto at = ParseIso(text);
    if (!at || *at >= now_us) {
        return std::nullopt;
    }
    return at;
}

Window MakeWindow(std::int64_t from_us, std::int64_t now_us, std::int64_t step_seconds) {
    Window w;
    w.from_us = from_us;
    w.to_us = std::max(now_us, from_us + 1);
    w.requested_step_us = std::max<std::int64_t>(1, step_seconds) * kMicros;
    w.step_us = w.requested_step_us;
    if (w.Buckets() > kMaxBuckets) {
        const std::int64_t span = w.to_us - w.from_us;
        w.step_us = (span + kMaxBuckets - 1) / kMaxBuckets;  // past every round step
        for (const std::int64_t s : kRoundSteps) {
            if (s * kMicros >= w.requested_step_us &&
                (span + s * kMicros - 1) / (s * kMicros) <= kMaxBuckets) {
                w.step_us = s * kMicros;
                break;
            }
        }
    }
    return w;
}

DlqSummary SummarizeDlq(
    const std::vector<ParkedMessage>& payments_dlq, const std::vector<ParkedMessage>& deadletter
) {
    std::map<std::pair<std::string, std::string>, std::int64_t> groups;
    for (const auto& m : payments_dlq) {
        ++groups[{"payments.dlq", DlqReason(m)}];
    }
    for (const auto& m : deadletter) {
        ++groups[{"deadletter", DlqReason(m)}];
    }
    DlqSummary summary;
    summary.read = true;
    summary.total = static_cast<std::int64_t>(payments_dlq.size() + deadletter.size());
    for (const auto& [key, count] : groups) {
        summary.rows.push_back({key.first, key.second, count});
    }
    std::stable_sort(
        summary.rows.begin(),
        summary.rows.end(),
        [](const DlqRow& a, const DlqRow& b) { return a.count > b.count; }
    );
    if (summary.rows.size() > kTopDlqRows) {
        for (std::size_t i = kTopDlqRows; i < summary.rows.size(); ++i) {
            summary.other += summary.rows[i].count;
        }
        summary.rows.resize(kTopDlqRows);
    }
    return summary;
}

std::optional<double> InstantValue(const nlohmann::json& answer) {
    if (!answer.is_object() || answer.value("status", "") != "success" ||
        !answer.contains("data") || !answer["data"].is_object()) {
        return std::nullopt;
    }
    const auto& data = answer["data"];
    const auto result = data.find("result");
    if (result == data.end()) {
        return std::nullopt;
    }
    // A vector: [{"metric": {...}, "value": [t, "v"]}, …]; a scalar: [t, "v"].
    const nlohmann::json* value = nullptr;
    if (data.value("resultType", "") == "scalar") {
        value = &*result;
    } else if (result->is_array() && !result->empty() && (*result)[0].is_object() && (*result)[0].contains("value")) {
        value = &(*result)[0]["value"];
    }
    if (value == nullptr || !value->is_array() || value->size() != 2 || !(*value)[1].is_string()) {
        return std::nullopt;
    }
    const std::string text = (*value)[1].get<std::string>();
    try {
        std::size_t used = 0;
        const double v = std::stod(text, &used);
        if (used != text.size()) {
            return std::nullopt;
        }
        return v;
    } catch (const std::exception&) {
        return std::nullopt;  // "NaN" parses; anything else that does not is no value
    }
}

std::int64_t DatabaseNowUs(postgres::Connection& conn) {
    return conn.Exec("SELECT (extract(epoch FROM now()) * 1000000)::bigint").GetInt(0, 0);
}

PaymentsSummary ReadPaymentsSummary(postgres::Connection& orchestrator, const Window& window) {
    PaymentsSummary p;
    const std::int64_t from = window.from_us;
    const std::int64_t to = window.to_us;
    const auto totals = orchestrator.Exec(
        fmt::format(
            "SELECT count(*), count(*) FILTER (WHERE {3}), "
            "count(*) FILTER (WHERE status = 'FAILED'), count(*) FILTER (WHERE status = "
            "'REVERSED'), "
            "count(*) FILTER (WHERE NOT {4}), "
            "percentile_cont(0.5) WITHIN GROUP (ORDER BY {1}) FILTER (WHERE {0}), "
            "percentile_cont(0.95) WITHIN GROUP (ORDER BY {1}) FILTER (WHERE {0}), "
            "percentile_cont(0.99) WITHIN GROUP (ORDER BY {1}) FILTER (WHERE {0}) "
            "FROM payments WHERE {2}",
            kFinal,
            kLatencyMs,
            kInWindow,
            kSettled,
            kDone
        ),
        {from, to}
    );
    p.created = totals.GetInt(0, 0);
    p.settled = totals.GetInt(0, 1);
    p.failed = totals.GetInt(0, 2);
    p.reversed = totals.GetInt(0, 3);
    p.in_flight = totals.GetInt(0, 4);
    p.p50_ms = OptionalDouble(totals, 0, 5);
    p.p95_ms = OptionalDouble(totals, 0, 6);
    p.p99_ms = OptionalDouble(totals, 0, 7);

    const auto amounts = orchestrator.Exec(
        fmt::format(
            "SELECT currency::text, count(*), sum({})::bigint FROM payments "
            "WHERE {} AND {} GROUP BY currency ORDER BY currency LIMIT 200",
            kSettledAmount,
            kSettled,
            kInWindow
        ),
        {from, to}
    );
    for (int i = 0; i < amounts.Size(); ++i) {
        p.settled_amounts.push_back(
            {amounts.GetString(i, 0), amounts.GetInt(i, 1), amounts.GetInt(i, 2)}
        );
    }

    const std::int64_t buckets = window.Buckets();
    for (std::int64_t b = 0; b < buckets; ++b) {
        Bucket bucket;
        bucket.start_us = from + b * window.step_us;
        p.buckets.push_back(bucket);
    }
    const auto per_bucket = orchestrator.Exec(
        fmt::format(
            "SELECT ((extract(epoch FROM created_at) * 1000000)::bigint - $1::bigint) / $3::bigint "
            "AS bucket, count(*), count(*) FILTER (WHERE {}), "
            "count(*) FILTER (WHERE status IN ('FAILED', 'REVERSED')), "
            "percentile_cont(0.95) WITHIN GROUP (ORDER BY {}) FILTER (WHERE {}) "
            "FROM payments WHERE {} GROUP BY bucket ORDER BY bucket",
            kSettled,
            kLatencyMs,
            kFinal,
            kInWindow
        ),
        {from, to, window.step_us}
    );
    for (int i = 0; i < per_bucket.Size(); ++i) {
        const std::int64_t b = per_bucket.GetInt(i, 0);
        if (b < 0 || b >= buckets) {
            continue;  // cannot happen for rows of the window; never index out of it
        }
        Bucket& bucket = p.buckets[static_cast<std::size_t>(b)];
        bucket.created = per_bucket.GetInt(i, 1);
        bucket.settled = per_bucket.GetInt(i, 2);
        bucket.failed = per_bucket.GetInt(i, 3);
        bucket.p95_ms = OptionalDouble(per_bucket, i, 4);
    }

    // The reason of each failed payment's (last) move to FAILED, counted, the largest first.
    const auto reasons = orchestrator.Exec(
        fmt::format(
            "SELECT coalesce(f.reason, 'unknown'), count(*) FROM payments p "
            "LEFT JOIN LATERAL (SELECT t.reason FROM payment_timeline t "
            "WHERE t.payment_id = p.payment_id AND t.to_state = 'FAILED' "
            "ORDER BY t.timeline_id DESC LIMIT 1) f ON true "
            "WHERE p.status IN ('FAILED', 'REVERSED') AND p.{} "
            "GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT $3",
            kInWindow
        ),
        {from, to, static_cast<std::int64_t>(kTopReasons)}
    );
    std::int64_t listed = 0;
    for (int i = 0; i < reasons.Size(); ++i) {
        p.failure_reasons.push_back({reasons.GetString(i, 0), reasons.GetInt(i, 1)});
        listed += p.failure_reasons.back().count;
    }
    p.other_reasons = std::max<std::int64_t>(0, p.failed + p.reversed - listed);
    return p;
}

ReviewsSummary ReadReviewsSummary(
    postgres::Connection& risk, const Window& window, std::int64_t now_us
) {
    ReviewsSummary r;
    const auto opened = risk.Exec(
        fmt::format(
            "SELECT count(*) FILTER (WHERE status = 'PENDING'), "
            "count(*) FILTER (WHERE status = 'APPROVED'), "
            "count(*) FILTER (WHERE status = 'DENIED' AND reviewed_by IS DISTINCT FROM "
            "'system:expiry'), "
            "count(*) FILTER (WHERE status = 'DENIED' AND reviewed_by = 'system:expiry') "
            "FROM risk_reviews WHERE {}",
            kInWindow
        ),
        {window.from_us, window.to_us}
    );
    r.pending = opened.GetInt(0, 0);
    r.approved = opened.GetInt(0, 1);
    r.denied = opened.GetInt(0, 2);
    r.expired = opened.GetInt(0, 3);
    const auto pending = risk.Exec(
        "SELECT count(*), $1::bigint - (extract(epoch FROM min(created_at)) * 1000000)::bigint "
        "FROM risk_reviews WHERE status = 'PENDING'",
        {now_us}
    );
    r.pending_now = pending.GetInt(0, 0);
    if (!pending.IsNull(0, 1)) {
        r.oldest_pending_age_s = std::max<std::int64_t>(0, pending.GetInt(0, 1) / kMicros);
    }
    r.read = true;
    return r;
}

DlqSummary ReadDlqSummary(EventBus& bus) {
    return SummarizeDlq(ReadParked(bus, "payments.dlq", 0), ReadParked(bus, "deadletter", 0));
}

ReconciliationSummary ReadReconciliation(
    postgres::Connection& orchestrator, postgres::Connection& ledger
) {
    ReconciliationSummary r;
    r.method =
        "Checked over all time from the orchestrator and ledger databases: per currency, the "
        "SETTLED payments against the ledger's settlements without a reversal (count, amount and "
        "a checksum of the payment ids), the ledger's debits against its credits, and every "
        "ledger transaction's balance. sagapay reconcile checks payment by payment, the PSP "
        "included, against the running ledger service.";
    std::map<std::string, CurrencyReconciliation> by_currency;
    const auto at = [&](const std::string& currency) -> CurrencyReconciliation& {
        auto& c = by_currency[currency];
        c.currency = currency;
        return c;
    };
    std::map<std::string, std::int64_t> orchestrator_ids;
    std::map<std::string, std::int64_t> ledger_ids;
    const auto settled = orchestrator.Exec(fmt::format(
        "SELECT currency::text, count(*), sum({})::bigint, {} FROM payments "
        "WHERE {} GROUP BY currency",
        kSettledAmount,
        kIdChecksum,
        kSettled
    ));
    for (int i = 0; i < settled.Size(); ++i) {
        auto& c = at(settled.GetString(i, 0));
        c.settled_payments = settled.GetInt(i, 1);
        c.settled_amount_minor = settled.GetInt(i, 2);
        orchestrator_ids[c.currency] = settled.GetInt(i, 3);
    }
    r.captured_now =
        orchestrator.Exec("SELECT count(*) FROM payments WHERE status = 'CAPTURED'").GetInt(0, 0);
    const auto settlements = ledger.Exec(fmt::format(
        "SELECT currency::text, count(*), sum(amount_minor)::bigint, {} FROM ledger_transactions s "
        "WHERE purpose = 'SETTLEMENT' AND NOT EXISTS (SELECT 1 FROM ledger_transactions r "
        "WHERE r.payment_id = s.payment_id AND r.purpose = 'REVERSAL') GROUP BY currency",
        kIdChecksum
    ));
    for (int i = 0; i < settlements.Size(); ++i) {
        auto& c = at(settlements.GetString(i, 0));
        c.ledger_settlements = settlements.GetInt(i, 1);
        c.ledger_amount_minor = settlements.GetInt(i, 2);
        ledger_ids[c.currency] = settlements.GetInt(i, 3);
    }
    const auto entries = ledger.Exec(
        "SELECT currency::text, "
        "coalesce(sum(amount_cents) FILTER (WHERE direction = 'DEBIT'), 0)::bigint, "
        "coalesce(sum(amount_cents) FILTER (WHERE direction = 'CREDIT'), 0)::bigint "
        "FROM ledger_entries GROUP BY currency"
    );
    for (int i = 0; i < entries.Size(); ++i) {
        auto& c = at(entries.GetString(i, 0));
        c.debits_minor = entries.GetInt(i, 1);
        c.credits_minor = entries.GetInt(i, 2);
    }
    r.imbalanced_transactions = ledger
                                    .Exec(
                                        "SELECT count(*) FROM (SELECT 1 FROM ledger_entries "
                                        "GROUP BY transaction_id HAVING sum(CASE WHEN direction = "
                                        "'DEBIT' THEN amount_cents ELSE -amount_cents END) <> 0) x"
                                    )
                                    .GetInt(0, 0);
    for (auto& [currency, c] : by_currency) {
        c.same_payments = orchestrator_ids[currency] == ledger_ids[currency];
        r.currencies.push_back(c);
    }
    r.read = true;
    return r;
}

PrometheusSummary QueryPrometheus(const std::string& url, std::chrono::milliseconds timeout) {
    PrometheusSummary summary;
    summary.asked = true;
    summary.url = url;
    struct Query {
        const char* title;
        const char* promql;
        const char* format;
    };
    static constexpr std::array<Query, 6> kQueries = {{
        {"API p95",
         "histogram_quantile(0.95, sum by (le) "
         "(rate(http_request_duration_seconds_bucket{service=\"api-gateway\"}[5m])))",
         "{:.3f} s"},
        {"API RPS", "sum(rate(http_requests_total{service=\"api-gateway\"}[5m]))", "{:.2f}/s"},
        {"Gateway 5xx",
         "100 * (sum(rate(http_requests_total{service=\"api-gateway\",status_code=~\"5..\"}[5m])) "
         "or vector(0)) / clamp_min(sum(rate(http_requests_total{service=\"api-gateway\"}[5m])), "
         "1e-9)",
         "{:.2f}%"},
        {"DLQ (1h)", "sum(increase(dlq_published_total[1h]))", "{:.0f}"},
        {"Retries (1h)", "sum(increase(retries_total[1h]))", "{:.0f}"},
        {"Outbox pending", "sum(outbox_pending_total)", "{:.0f}"},
    }};
    try {
        http::Client client(
            url,
            http::ClientOptions{
                .max_connections = 1, .connect_timeout = timeout, .request_timeout = timeout}
        );
        for (const Query& q : kQueries) {
            const auto answer = client.Get("/api/v1/query?query=" + PercentEncode(q.promql));
            if (!answer) {
                summary.note = answer.error().message;
                return summary;
            }
            if (answer->status != 200) {
                summary.note = fmt::format("HTTP {} from /api/v1/query", answer->status);
                return summary;
            }
            const auto value = InstantValue(nlohmann::json::parse(answer->body, nullptr, false));
            summary.cards.push_back({
                .title = q.title,
                .value = value ? fmt::format(fmt::runtime(q.format), *value) : "no data",
                .query = q.promql,
            });
        }
    } catch (const std::exception& error) {
        summary.cards.clear();
        summary.note = error.what();
        return summary;
    }
    summary.reachable = true;
    return summary;
}

ReportData CollectReport(
    const ReportSources& sources, std::string_view since, std::int64_t step_seconds
) {
    if (sources.orchestrator == nullptr) {
        throw ReportError(
            "no orchestrator database: set ORCHESTRATOR_POSTGRES_DSN or SAGAPAY_PG_BASE_DSN"
        );
    }
    ReportData data;
    try {
        const std::int64_t now = DatabaseNowUs(*sources.orchestrator);
        const auto from = ParseSince(since, now);
        if (!from) {
            throw ReportError(
                "--since " + std::string(since) +
                ": expected 30m, 6h, 2d or an ISO-8601 UTC time before now (2026-12-01T08:00:00Z)"
            );
        }
        data.generated_at_us = now;
        data.window = MakeWindow(*from, now, step_seconds);
        data.payments = ReadPaymentsSummary(*sources.orchestrator, data.window);
        if (sources.ledger != nullptr) {
            data.reconciliation = ReadingPart(data.reconciliation.note, [&] {
                return ReadReconciliation(*sources.orchestrator, *sources.ledger);
            });
        } else {
            data.reconciliation.note = sources.ledger_note;
        }
    } catch (const ReportError&) {
        throw;
    } catch (const std::exception& error) {
        throw ReportError(std::string("the orchestrator database: ") + error.what());
    }
    if (sources.risk != nullptr) {
        data.reviews = ReadingPart(data.reviews.note, [&] {
            return ReadReviewsSummary(*sources.risk, data.window, data.generated_at_us);
        });
    } else {
        data.reviews.note = sources.risk_note;
    }
    if (sources.bus != nullptr) {
        data.dlq = ReadingPart(data.dlq.note, [&] { return ReadDlqSummary(*sources.bus); });
    } else {
        data.dlq.note = sources.bus_note;
    }
    if (!sources.prom_url.empty()) {
        data.prometheus = QueryPrometheus(sources.prom_url, sources.prom_timeout);
    }
    return data;
}

int RunReport(const ReportOptions& options) {
    const auto dsn = [&](std::string_view service) {
        const auto it = options.dsn.find(service);
        return it == options.dsn.end() ? std::string() : it->second;
    };
    try {
        std::optional<postgres::Connection> orchestrator;
        if (!dsn("orchestrator").empty()) {
            orchestrator.emplace(postgres::Connection::Open(dsn("orchestrator")));
        }
        ReportSources sources;
        sources.orchestrator = orchestrator ? &*orchestrator : nullptr;
        std::optional<postgres::Connection> risk;
        std::optional<postgres::Connection> ledger;
        const auto open = [&](std::string_view service,
                              std::optional<postgres::Connection>& conn,
                              postgres::Connection*& into,
                              std::string& note) {
            const std::string address = dsn(service);
            if (address.empty()) {
                note = fmt::format(
                    "no {} database (set {}_POSTGRES_DSN or SAGAPAY_PG_BASE_DSN)",
                    service,
                    service == "risk" ? "RISK" : "LEDGER"
                );
                return;
            }
            try {
                conn.emplace(postgres::Connection::Open(address));
                into = &*conn;
            } catch (const std::exception& error) {
                note = error.what();
            }
        };
        open("risk", risk, sources.risk, sources.risk_note);
        open("ledger", ledger, sources.ledger, sources.ledger_note);
        EventBusPtr bus;
        if (options.bus.redis_url.empty() && options.bus.bootstrap_servers.empty()) {
            sources.bus_note =
                "no bus address (set REDIS_URL, or KAFKA_BOOTSTRAP_SERVERS with EVENT_BUS=kafka)";
        } else {
            try {
                bus = MakeToolBus(options.bus);
                sources.bus = bus.get();
            } catch (const std::exception& error) {
                sources.bus_note = error.what();
            }
        }
        sources.prom_url = options.prom_url;
        sources.prom_timeout = options.prom_timeout;
        const ReportData data = CollectReport(sources, options.since, options.step_seconds);
        const std::filesystem::path out(options.out);
        if (out.has_parent_path()) {
            std::filesystem::create_directories(out.parent_path());
        }
        std::ofstream file(out, std::ios::binary | std::ios::trunc);
        file << RenderReportHtml(data);
        file.close();
        if (!file) {
            throw ReportError("cannot write " + out.string());
        }
        std::printf("wrote %s\n", out.string().c_str());
        std::fflush(stdout);
        return 0;
    } catch (const std::exception& error) {
        std::fprintf(stderr, "sagapay report: %s\n", error.what());
        return 2;
    }
}

}  // namespace sagapay::app::report
