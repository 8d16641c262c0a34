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
#include "core/payments/invariants.hpp"
#include "core/ports/event_bus.hpp"
#include "runtime/config.hpp"

namespace sagapay::app {

/// `sagapay verify`: reads a live system into an invariants::Snapshot and checks it
/// (core/payments/invariants.hpp). Each part is read by a small reader below; `ReadSnapshot`
/// only wires them.
///
///   VerifyOptions o = VerifyOptionsFromEnvironment(ProcessEnvironment());
///   Verified v = Verify(o);          // throws VerifyError when something cannot be read
///   PrintText(v.report, stdout);
struct VerifyOptions {
    /// Service → DSN for orchestrator, risk, provider, ledger, notification (the services' own
    /// `<SERVICE>_POSTGRES_DSN`, else SAGAPAY_PG_BASE_DSN + /finpay_<service>). The orchestrator's
    /// is required; a missing other one leaves its part unchecked (and says so).
    std::map<std::string, std::string, std::less<>> dsn;
    /// The sandbox PSP's `GET /v1/records` (--psp-url, else PSP_URL). Empty: PSP not checked.
    std::string psp_url = "http://127.0.0.1:8006";
    std::string internal_token;  ///< Sent as x-internal-token to the PSP when set.
    /// Dead letters (`payments.dlq` and `deadletter`) from the bus: EVENT_BUS=redis at REDIS_URL,
    /// kafka at KAFKA_BOOTSTRAP_SERVERS, with EVENT_STREAM_PREFIX. The bus's address empty: dead
    /// letters not checked.
    std::string event_bus = "redis";
    std::string redis_url;
    std::string bootstrap_servers;
    std::string stream_prefix;
    /// --accepted: JSON lines {"idempotency_key","payment_id"} of every POST the gateway
    /// answered with success (written by `sagapay chaos`). Empty: not checked.
    std::string accepted_file;
    std::chrono::milliseconds stuck_after{std::chrono::minutes(5)};
    std::chrono::milliseconds outbox_after{std::chrono::minutes(1)};
    /// --grace: a payment that ended less than this ago is not yet checked for its notification
    /// and the release of a PSP hold (invariants::Options::grace).
    std::chrono::milliseconds grace{std::chrono::minutes(1)};
    std::chrono::milliseconds psp_timeout{std::chrono::seconds(10)};
    /// CAPTURE_WINDOW_SECONDS: a manual capture awaited longer is stuck (the sweeper voids it).
    std::chrono::milliseconds capture_window{std::chrono::hours(24 * 7)};
};

/// Something verify needs could not be read (a database, the PSP, Redis, the accepted file).
class VerifyError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// DSNs from `<SERVICE>_POSTGRES_DSN` / POSTGRES_DSN / SAGAPAY_PG_BASE_DSN (the services'
/// rules, runtime/config), PSP_URL, REDIS_URL, EVENT_STREAM_PREFIX, INTERNAL_API_TOKEN. Throws
/// VerifyError when the environment is malformed.
[[nodiscard]] VerifyOptions VerifyOptionsFromEnvironment(const EnvMap& env);

// ---- readers: one source each ----

/// The orchestrator's payments; `awaiting_review` is set for those the risk database has a
/// PENDING review of (`risk` may be null: then none is). Times are the database's.
[[nodiscard]] std::vector<invariants::Payment> ReadPayments(
    postgres::Connection& orchestrator, postgres::Connection* risk
);
/// The orchestrator's refunds, every one (read with the payments in one snapshot by Verify).
[[nodiscard]] std::vector<invariants::Refund> ReadRefunds(postgres::Connection& orchestrator);
/// The refunds of those ids (UUIDs; others are skipped) that exist.
[[nodiscard]] std::vector<invariants::Refund> ReadRefundsById(
    postgres::Connection& orchestrator, const std::vector<std::string>& refund_ids
);
/// `now()` of a database: the clock the stored times were written with.
[[nodiscard]] Clock::TimePoint ReadDatabaseNow(postgres::Connection& conn);
/// Every settlement, reversal and refund of the ledger (a refund with the refund id its
/// transaction id names).
[[nodiscard]] std::vector<invariants::Posting> ReadPostings(postgres::Connection& ledger);
/// Debits and credits of all ledger entries, per currency.
[[nodiscard]] std::vector<invariants::CurrencyTotals> ReadLedgerTotals(postgres::Connection& ledger
);
/// The outcomes notified, per payment and per refund.
[[nodiscard]] std::vector<invariants::Notice> ReadNotices(postgres::Connection& notification);
/// The outbox rows of one service database not yet handed to the bus (status PENDING or
/// PROCESSING: a SENT row is published, and is kept only until consumed).
[[nodiscard]] invariants::UnsentOutbox ReadUnsentOutbox(
    postgres::Connection& conn, const std::string& service
);
/// Parses `GET /v1/records` of the sandbox PSP. Throws VerifyError on a record it cannot read.
[[nodiscard]] std::vector<invariants::PspRecord> ParsePspRecords(const nlohmann::json& records);
/// Fetches and parses `GET <psp_url>/v1/records`.
[[nodiscard]] std::vector<invariants::PspRecord> ReadPspRecords(
    const std::string& psp_url, const std::string& internal_token, std::chrono::milliseconds timeout
);
/// Both dead-letter streams (`payments.dlq`, `deadletter`), every entry.
[[nodiscard]] std::vector<invariants::DeadLetter> ReadDeadLetters(EventBus& bus);
/// JSON lines {"idempotency_key","payment_id"}; blank lines are skipped, a malformed line
/// throws VerifyError naming it.
[[nodiscard]] std::vector<invariants::Accepted> ReadAccepted(const std::string& path);

/// "250ms", "30s", "5m", "2h" or a bare number of seconds; nullopt for anything else.
[[nodiscard]] std::optional<std::chrono::milliseconds> ParseDuration(std::string_view text);

// ---- composition ----

struct Verified {
    invariants::Report report;
    invariants::Parts parts;  ///< What was read (and so checked).
    Clock::TimePoint now;     ///< The orchestrator database's clock at the read.
    std::int64_t payments = 0;
    std::int64_t accepted = 0;
    std::int64_t psp_records = 0;
    std::int64_t postings = 0;
    std::int64_t dead_letters = 0;
    std::int64_t refunds = 0;
};

/// Reads every part the options name and checks the snapshot. Throws VerifyError.
[[nodiscard]] Verified Verify(const VerifyOptions& options);

/// The machine-readable report: ok, counts by status (payments and refunds), awaiting_review
/// and awaiting_capture, longest/p99 to final, oldest in flight, the parts checked and each
/// violation with its kind's name.
[[nodiscard]] nlohmann::json ReportJson(const Verified& verified);
/// The same for people.
[[nodiscard]] std::string ReportText(const Verified& verified);

/// `sagapay verify`: prints the report (JSON with `json`); exit 0 Ok, 1 violations, 2 when
/// something could not be read (the reason on stderr).
int RunVerify(const VerifyOptions& options, bool json);

}  // namespace sagapay::app
