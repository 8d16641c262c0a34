#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "adapters/postgres/connection.hpp"
#include "app/dlq.hpp"
#include "app/report_data.hpp"
#include "core/ports/event_bus.hpp"
#include "runtime/config.hpp"

namespace sagapay::app::report {

/// `sagapay report [--since 6h] [--step-seconds 30] [--out reports/executive_report.html]
/// [--prom-url URL]`: reads the services' databases (and the bus's dead letters, and Prometheus
/// when asked), renders one self-contained HTML page (app/report_html.hpp) and prints
/// `wrote <path>`. docs/report.md says where each number comes from.
struct ReportOptions {
    /// Service → DSN for orchestrator (required), risk and ledger: the services' own
    /// `<SERVICE>_POSTGRES_DSN`, else POSTGRES_DSN / SAGAPAY_PG_BASE_DSN (runtime/config).
    std::map<std::string, std::string, std::less<>> dsn;
    /// The bus `dlq list` reads (EVENT_BUS, REDIS_URL or KAFKA_BOOTSTRAP_SERVERS,
    /// EVENT_STREAM_PREFIX). Its address empty: dead letters not read (the page says so).
    DlqOptions bus;
    std::string since = "1h";  ///< --since (or --hours N): 30m, 6h, 2d, or ISO-8601 UTC
    std::int64_t step_seconds = 30;
    std::string out = "reports/executive_report.html";
    /// --prom-url, else SAGAPAY_PROMETHEUS_URL; empty: the Prometheus section is not queried.
    std::string prom_url;
    std::chrono::milliseconds prom_timeout{std::chrono::seconds(3)};
};

/// Something the report needs could not be read (the orchestrator database) or written.
class ReportError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// DSNs, the bus and SAGAPAY_PROMETHEUS_URL from the environment as the other tools read them.
/// Throws ReportError when the environment is malformed.
[[nodiscard]] ReportOptions ReportOptionsFromEnvironment(const EnvMap& env);

// ---- pure ----

/// The start of the window for --since: "90s", "30m", "6h", "2d" before `now_us`, or an
/// ISO-8601 UTC time ("2026-12-01T08:00:00Z", "2026-12-01T08:00Z", "2026-12-01"). nullopt for
/// anything else, a zero duration, or a time not before `now_us`.
[[nodiscard]] std::optional<std::int64_t> ParseSince(std::string_view text, std::int64_t now_us);

/// The window [from_us, now_us) cut into `step_seconds` buckets, or, when that would make more
/// than kMaxBuckets, into the smallest round step (1 s … 1 d) that makes at most kMaxBuckets.
[[nodiscard]] Window MakeWindow(
    std::int64_t from_us, std::int64_t now_us, std::int64_t step_seconds
);

/// Dead letters grouped by (topic, reason), the largest groups first (ties by topic, then
/// reason), at most kTopDlqRows.
/// A payments.dlq record's reason is its error type and reason; a deadletter entry's the reason
/// the bus parked it with.
[[nodiscard]] DlqSummary SummarizeDlq(
    const std::vector<ParkedMessage>& payments_dlq, const std::vector<ParkedMessage>& deadletter
);

/// The value of a Prometheus instant query's answer (`/api/v1/query`): the first series'
/// value; nullopt when the answer has no series or is not a success.
[[nodiscard]] std::optional<double> InstantValue(const nlohmann::json& answer);

// ---- readers: one source each, set-based SQL, bounded output ----

/// `now()` of a database, µs since the epoch.
[[nodiscard]] std::int64_t DatabaseNowUs(postgres::Connection& conn);
/// The orchestrator's payments created in the window: counts by status, latency percentiles,
/// settled amounts per currency, the buckets and the failure reasons.
[[nodiscard]] PaymentsSummary ReadPaymentsSummary(
    postgres::Connection& orchestrator, const Window& window
);
/// The risk database's reviews: those opened in the window by status, and the pending ones now.
[[nodiscard]] ReviewsSummary ReadReviewsSummary(
    postgres::Connection& risk, const Window& window, std::int64_t now_us
);
/// payments.dlq and deadletter on the bus, every entry (what `sagapay dlq list` reads).
[[nodiscard]] DlqSummary ReadDlqSummary(EventBus& bus);
/// Per currency: SETTLED payments (orchestrator) against settlements without a reversal
/// (ledger) by count, amount and a checksum of the payment ids; the ledger's debits and credits;
/// transactions whose entries do not balance. Over all time, not the window.
[[nodiscard]] ReconciliationSummary ReadReconciliation(
    postgres::Connection& orchestrator, postgres::Connection& ledger
);
/// The seed report's cards from instant queries to Prometheus at `url`. Never throws: an
/// unreachable Prometheus is a summary with reachable = false and the reason.
[[nodiscard]] PrometheusSummary QueryPrometheus(
    const std::string& url, std::chrono::milliseconds timeout
);

// ---- composition ----

/// What CollectReport reads from; a null source leaves its part unread (the page says why).
struct ReportSources {
    postgres::Connection* orchestrator = nullptr;  ///< Required.
    postgres::Connection* risk = nullptr;
    postgres::Connection* ledger = nullptr;
    EventBus* bus = nullptr;
    std::string prom_url;  ///< Empty: Prometheus not asked.
    std::chrono::milliseconds prom_timeout{std::chrono::seconds(3)};
    // Why a source is null, shown in its part of the page.
    std::string risk_note = "no risk database";
    std::string ledger_note = "no ledger database";
    std::string bus_note = "no bus";
};

/// Reads every part. The window ends at the orchestrator database's now(). Throws ReportError
/// when the orchestrator database cannot be read or `since` is malformed; any other source that
/// fails is noted in its part and the report goes on.
[[nodiscard]] ReportData CollectReport(
    const ReportSources& sources, std::string_view since, std::int64_t step_seconds
);

/// `sagapay report`: collects, renders, writes `options.out` (creating its directory) and prints
/// `wrote <path>`. Exit 0, or 2 when the report could not be made (the reason on stderr).
int RunReport(const ReportOptions& options);

}  // namespace sagapay::app::report
