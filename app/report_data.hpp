#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace sagapay::app::report {

/// What `sagapay report` shows, as read (app/report.hpp) and before it is rendered
/// (app/report_html.hpp). Times are microseconds since the epoch, UTC, on the orchestrator
/// database's clock. Money is integer minor units with its currency; never floating point.

/// The payments created in [from_us, to_us), cut into buckets of step_us.
struct Window {
    std::int64_t from_us = 0;
    std::int64_t to_us = 0;
    std::int64_t step_us = 30'000'000;
    /// The step asked for (--step-seconds); it differs from step_us when that would have made
    /// more than kMaxBuckets buckets.
    std::int64_t requested_step_us = 30'000'000;

    [[nodiscard]] std::int64_t Buckets() const noexcept {
        if (to_us <= from_us || step_us <= 0) {
            return 0;
        }
        return (to_us - from_us + step_us - 1) / step_us;
    }
};

/// One time bucket of payments created in [start_us, start_us + step).
struct Bucket {
    std::int64_t start_us = 0;
    std::int64_t created = 0;
    std::int64_t settled = 0;  ///< Of those created: SETTLED now.
    std::int64_t failed = 0;   ///< Of those created: FAILED or REVERSED now.
    /// p95 of created → final (last change) of those that are final; none when none is.
    std::optional<double> p95_ms;
};

struct FailureReason {
    std::string reason;  ///< The timeline reason of the payment's move to FAILED.
    std::int64_t count = 0;
};

struct CurrencyAmount {
    std::string currency;
    std::int64_t payments = 0;
    std::int64_t amount_minor = 0;
};

/// The orchestrator's payments created in the window, by their status now.
struct PaymentsSummary {
    std::int64_t created = 0;
    std::int64_t settled = 0;
    std::int64_t failed = 0;    ///< FAILED
    std::int64_t reversed = 0;  ///< REVERSED (failed, and what was held released)
    std::int64_t in_flight = 0;
    /// Created → last change of the final ones (SETTLED, FAILED, REVERSED).
    std::optional<double> p50_ms;
    std::optional<double> p95_ms;
    std::optional<double> p99_ms;
    std::vector<CurrencyAmount> settled_amounts;  ///< Per currency, by code.
    std::vector<Bucket> buckets;                  ///< Every bucket of the window, oldest first.
    std::vector<FailureReason> failure_reasons;   ///< The most frequent first, at most kTopReasons.
    std::int64_t other_reasons = 0;  ///< Failed payments whose reason is not in the list.

    [[nodiscard]] std::int64_t Final() const noexcept { return settled + failed + reversed; }
    /// settled / final; none when nothing is final.
    [[nodiscard]] std::optional<double> SuccessRatio() const noexcept {
        if (Final() == 0) {
            return std::nullopt;
        }
        return static_cast<double>(settled) / static_cast<double>(Final());
    }
};

/// The risk service's manual reviews.
struct ReviewsSummary {
    bool read = false;
    std::string note;  ///< Why it was not read, when it was not.
    // Reviews opened in the window, by their status now.
    std::int64_t pending = 0;
    std::int64_t approved = 0;
    std::int64_t denied = 0;   ///< Denied by a person.
    std::int64_t expired = 0;  ///< Denied by the expiry (reviewed_by = system:expiry).
    // All reviews pending now, whenever they were opened.
    std::int64_t pending_now = 0;
    std::optional<std::int64_t> oldest_pending_age_s;
};

struct DlqRow {
    std::string topic;
    std::string reason;
    std::int64_t count = 0;
};

/// The parked messages `sagapay dlq list` reads (payments.dlq and deadletter on the bus).
struct DlqSummary {
    bool read = false;
    std::string note;
    std::vector<DlqRow> rows;  ///< The largest groups first, at most kTopDlqRows.
    std::int64_t other = 0;    ///< Messages in groups not listed.
    std::int64_t total = 0;
};

/// One currency of the reconciliation: SETTLED payments (orchestrator) against settlements
/// without a reversal (ledger), and the ledger's entries.
struct CurrencyReconciliation {
    std::string currency;
    std::int64_t settled_payments = 0;
    std::int64_t settled_amount_minor = 0;
    std::int64_t ledger_settlements = 0;
    std::int64_t ledger_amount_minor = 0;
    /// The payment ids on both sides agree (an order-free checksum of the ids).
    bool same_payments = true;
    std::int64_t debits_minor = 0;
    std::int64_t credits_minor = 0;

    [[nodiscard]] bool Clean() const noexcept {
        return settled_payments == ledger_settlements &&
               settled_amount_minor == ledger_amount_minor && same_payments &&
               debits_minor == credits_minor;
    }
};

struct ReconciliationSummary {
    bool read = false;
    std::string note;    ///< Why it was not read, when it was not.
    std::string method;  ///< How it was checked, shown on the page.
    std::vector<CurrencyReconciliation> currencies;
    std::int64_t imbalanced_transactions = 0;
    std::int64_t captured_now = 0;  ///< Payments between capture and settlement right now.

    [[nodiscard]] bool Clean() const noexcept {
        if (imbalanced_transactions != 0) {
            return false;
        }
        for (const auto& c : currencies) {
            if (!c.Clean()) {
                return false;
            }
        }
        return true;
    }
};

struct PromCard {
    std::string title;
    std::string value;  ///< Formatted; "no data" when the query returned nothing.
    std::string query;
};

/// The optional Prometheus cards (the seed's executive report's).
struct PrometheusSummary {
    bool asked = false;  ///< --prom-url or SAGAPAY_PROMETHEUS_URL was given.
    bool reachable = false;
    std::string url;
    std::string note;
    std::vector<PromCard> cards;
};

struct ReportData {
    Window window;
    std::int64_t generated_at_us = 0;
    PaymentsSummary payments;
    ReviewsSummary reviews;
    DlqSummary dlq;
    ReconciliationSummary reconciliation;
    PrometheusSummary prometheus;
};

inline constexpr std::int64_t kMaxBuckets = 120;
inline constexpr std::size_t kTopReasons = 10;
inline constexpr std::size_t kTopDlqRows = 20;

}  // namespace sagapay::app::report
