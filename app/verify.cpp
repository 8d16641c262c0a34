#include "app/verify.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>
#include <fstream>
#include <set>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include <fmt/format.h>

#include "adapters/http/http.hpp"
#include "app/dlq.hpp"
#include "core/ids.hpp"
#include "core/payments/payment_status.hpp"

namespace sagapay::app {

namespace {

using invariants::Parts;
using invariants::Snapshot;

constexpr std::int64_t kPage = 5000;
constexpr std::size_t kMaxBodyInMessage = 300;

const std::vector<std::string> kServices = {
    "orchestrator", "risk", "provider", "ledger", "notification"};

Clock::TimePoint FromMicros(std::int64_t micros) {
    return Clock::TimePoint(
        std::chrono::duration_cast<Clock::TimePoint::duration>(std::chrono::microseconds(micros))
    );
}

std::int64_t Millis(std::chrono::milliseconds d) {
    return d.count();
}

/// One payment row: id, key, status, amount, currency, created and updated (µs since epoch),
/// capture method, the capture asked for, what was captured, the refund totals.
constexpr const char* kPaymentColumns =
    "SELECT payment_id::text, idempotency_key, status, amount_cents, currency, "
    "(extract(epoch FROM created_at) * 1000000)::bigint, "
    "(extract(epoch FROM updated_at) * 1000000)::bigint, capture_method, "
    "capture_amount_cents, captured_cents, refunded_cents, refund_reserved_cents FROM payments ";

invariants::Payment PaymentAt(const postgres::Rows& rows, int i) {
    invariants::Payment p;
    p.payment_id = rows.GetString(i, 0);
    p.idempotency_key = rows.GetString(i, 1);
    const std::string status = rows.GetString(i, 2);
    const auto parsed = ParsePaymentStatus(status);
    if (!parsed) {
        throw VerifyError("payment " + p.payment_id + " has an unknown status " + status);
    }
    p.status = *parsed;
    p.amount_minor = rows.GetInt(i, 3);
    p.currency = rows.GetString(i, 4);
    p.created_at = FromMicros(rows.GetInt(i, 5));
    p.updated_at = FromMicros(rows.GetInt(i, 6));
    const std::string method = rows.GetString(i, 7);
    const auto capture_method = ParseCaptureMethod(method);
    if (!capture_method) {
        throw VerifyError("payment " + p.payment_id + " has an unknown capture_method " + method);
    }
    p.capture_method = *capture_method;
    p.capture_requested_minor = rows.IsNull(i, 8) ? 0 : rows.GetInt(i, 8);
    if (!rows.IsNull(i, 9)) {
        p.captured_minor = rows.GetInt(i, 9);
    }
    p.refunded_minor = rows.GetInt(i, 10);
    p.refund_reserved_minor = rows.GetInt(i, 11);
    // PaymentSnapshot::AwaitingCapture: the merchant's turn (the sweeper voids it in time).
    p.awaiting_capture = p.status == PaymentStatus::kAuthorized &&
                         p.capture_method == CaptureMethod::kManual && rows.IsNull(i, 8);
    return p;
}

/// One refund row: id, payment, amount, currency, status, created and updated (µs since epoch).
constexpr const char* kRefundColumns =
    "SELECT refund_id::text, payment_id::text, amount_cents, currency, status, "
    "(extract(epoch FROM created_at) * 1000000)::bigint, "
    "(extract(epoch FROM updated_at) * 1000000)::bigint FROM refunds ";

invariants::Refund RefundAt(const postgres::Rows& rows, int i) {
    invariants::Refund r;
    r.refund_id = rows.GetString(i, 0);
    r.payment_id = rows.GetString(i, 1);
    r.amount_minor = rows.GetInt(i, 2);
    r.currency = rows.GetString(i, 3);
    const std::string status = rows.GetString(i, 4);
    const auto parsed = invariants::ParseRefundState(status);
    if (!parsed) {
        throw VerifyError("refund " + r.refund_id + " has an unknown status " + status);
    }
    r.status = *parsed;
    r.created_at = FromMicros(rows.GetInt(i, 5));
    r.updated_at = FromMicros(rows.GetInt(i, 6));
    return r;
}

/// The refund id of a REFUND transaction `refund:<payment_id>:<refund_id>`; empty when it names
/// none.
std::string RefundIdOf(std::string_view transaction_id) {
    constexpr std::string_view kPrefix = "refund:";
    if (!transaction_id.starts_with(kPrefix)) {
        return {};
    }
    const std::string_view rest = transaction_id.substr(kPrefix.size());
    const auto colon = rest.find(':');
    return colon == std::string_view::npos ? std::string() : std::string(rest.substr(colon + 1));
}

/// Where a notification's outcome column points.
std::optional<invariants::NotifiedOutcome> ParseOutcome(std::string_view outcome) {
    using invariants::NotifiedOutcome;
    constexpr std::array<std::pair<std::string_view, NotifiedOutcome>, 6> kOutcomes{{
        {"SETTLED", NotifiedOutcome::kSettled},
        {"FAILED", NotifiedOutcome::kFailed},
        {"REVERSED", NotifiedOutcome::kReversed},
        {"PARTIALLY_REFUNDED", NotifiedOutcome::kPartiallyRefunded},
        {"REFUNDED", NotifiedOutcome::kRefunded},
        {"REFUND_FAILED", NotifiedOutcome::kRefundFailed},
    }};
    for (const auto& [name, value] : kOutcomes) {
        if (name == outcome) {
            return value;
        }
    }
    return std::nullopt;
}

std::set<std::string, std::less<>> PendingReviews(postgres::Connection* risk) {
    std::set<std::string, std::less<>> pending;
    if (risk == nullptr) {
        return pending;
    }
    const auto rows =
        risk->Exec("SELECT payment_id::text FROM risk_reviews WHERE status = 'PENDING'");
    for (int i = 0; i < rows.Size(); ++i) {
        pending.insert(rows.GetString(i, 0));
    }
    return pending;
}

template <class Fn>
auto Reading(const std::string& what, Fn&& fn) {
    try {
        return fn();
    } catch (const VerifyError&) {
        throw;
    } catch (const std::exception& error) {
        throw VerifyError(what + ": " + error.what());
    }
}

std::optional<postgres::Connection> OpenIfConfigured(
    const VerifyOptions& options, const std::string& service
) {
    const auto it = options.dsn.find(service);
    if (it == options.dsn.end() || it->second.empty()) {
        return std::nullopt;
    }
    return Reading("the " + service + " database", [&] {
        return postgres::Connection::Open(it->second);
    });
}

std::string EnvValue(const EnvMap& env, std::string_view name) {
    const auto it = env.find(name);
    return it == env.end() ? std::string() : it->second;
}

}  // namespace

VerifyOptions VerifyOptionsFromEnvironment(const EnvMap& env) {
    const auto config = LoadConfig(env, "tools");
    if (!config) {
        throw VerifyError(config.error().message);
    }
    VerifyOptions options;
    for (const auto& service : kServices) {
        if (std::string dsn = config->DsnFor(service); !dsn.empty()) {
            options.dsn[service] = std::move(dsn);
        }
    }
    options.psp_url = config->psp_url;
    options.internal_token = config->internal_token;
    options.capture_window = config->capture_window;
    // Dead letters live on the bus: read them when REDIS_URL (Redis Streams) or
    // KAFKA_BOOTSTRAP_SERVERS (EVENT_BUS=kafka) says where (a service's default address is not
    // assumed for a checker).
    options.event_bus = config->event_bus;
    if (config->event_bus == "kafka" && !EnvValue(env, "KAFKA_BOOTSTRAP_SERVERS").empty()) {
        options.bootstrap_servers = config->kafka_bootstrap_servers;
    }
    if (!EnvValue(env, "REDIS_URL").empty()) {
        options.redis_url = config->redis_url;
    }
    options.stream_prefix = config->stream_prefix;
    return options;
}

namespace {

/// Every row of `columns` (a SELECT … FROM … ending in a space), in pages of kPage by the uuid
/// column `key` (keyset pagination: no row read twice or skipped while others are written).
template <class At, class KeyOf>
auto ReadAllByKey(
    postgres::Connection& conn, std::string_view columns, std::string_view key, At at, KeyOf key_of
) {
    std::vector<std::invoke_result_t<At&, const postgres::Rows&, int>> rows;
    std::optional<std::string> after;
    while (true) {
        const postgres::Rows page =
            after
                ? conn.Exec(
                      fmt::format("{}WHERE {} > $1::uuid ORDER BY {} LIMIT $2", columns, key, key),
                      {*after, kPage}
                  )
                : conn.Exec(fmt::format("{}ORDER BY {} LIMIT $1", columns, key), {kPage});
        for (int i = 0; i < page.Size(); ++i) {
            rows.push_back(at(page, i));
        }
        if (page.Size() < kPage) {
            return rows;
        }
        after = key_of(rows.back());
    }
}

}  // namespace

std::vector<invariants::Payment> ReadPayments(
    postgres::Connection& orchestrator, postgres::Connection* risk
) {
    std::vector<invariants::Payment> payments = ReadAllByKey(
        orchestrator,
        kPaymentColumns,
        "payment_id",
        PaymentAt,
        [](const invariants::Payment& p) { return p.payment_id; }
    );
    // Read after the payments: a review decided in between leaves its payment moving, and a
    // payment seen in RISK_REVIEW with no pending review is one the saga has yet to move.
    const auto pending = PendingReviews(risk);
    for (auto& p : payments) {
        p.awaiting_review =
            p.status == PaymentStatus::kRiskReview && pending.contains(p.payment_id);
    }
    return payments;
}

std::vector<invariants::Refund> ReadRefunds(postgres::Connection& orchestrator) {
    return ReadAllByKey(
        orchestrator,
        kRefundColumns,
        "refund_id",
        RefundAt,
        [](const invariants::Refund& r) { return r.refund_id; }
    );
}

std::vector<invariants::Refund> ReadRefundsById(
    postgres::Connection& orchestrator, const std::vector<std::string>& refund_ids
) {
    std::vector<std::string> valid;
    for (const auto& id : refund_ids) {
        if (IsUuid(id)) {
            valid.push_back(id);
        }
    }
    std::vector<invariants::Refund> refunds;
    if (valid.empty()) {
        return refunds;
    }
    const auto rows = orchestrator.Exec(
        std::string(kRefundColumns) + "WHERE refund_id = ANY($1::uuid[])",
        {postgres::TextArray(valid)}
    );
    for (int i = 0; i < rows.Size(); ++i) {
        refunds.push_back(RefundAt(rows, i));
    }
    return refunds;
}

Clock::TimePoint ReadDatabaseNow(postgres::Connection& conn) {
    return FromMicros(conn.Exec("SELECT (extract(epoch FROM now()) * 1000000)::bigint").GetInt(0, 0)
    );
}

std::vector<invariants::Posting> ReadPostings(postgres::Connection& ledger) {
    const auto rows = ledger.Exec(
        "SELECT payment_id::text, purpose, amount_minor, currency, transaction_id "
        "FROM ledger_transactions WHERE purpose IN ('SETTLEMENT', 'REVERSAL', 'REFUND')"
    );
    std::vector<invariants::Posting> postings;
    postings.reserve(static_cast<std::size_t>(rows.Size()));
    for (int i = 0; i < rows.Size(); ++i) {
        const std::string_view purpose = rows.Get(i, 1);
        const bool refund = purpose == "REFUND";
        postings.push_back({
            .payment_id = rows.GetString(i, 0),
            .purpose = purpose == "SETTLEMENT" ? invariants::PostingPurpose::kSettlement
                       : refund                ? invariants::PostingPurpose::kRefund
                                               : invariants::PostingPurpose::kReversal,
            .amount_minor = rows.GetInt(i, 2),
            .currency = rows.GetString(i, 3),
            .refund_id = refund ? RefundIdOf(rows.Get(i, 4)) : std::string(),
        });
    }
    return postings;
}

std::vector<invariants::CurrencyTotals> ReadLedgerTotals(postgres::Connection& ledger) {
    // Sums as numeric: a total beyond int64 is reported, never wrapped.
    const auto rows = ledger.Exec(
        "SELECT currency, "
        "coalesce(sum(amount_cents) FILTER (WHERE direction = 'DEBIT'), 0)::text, "
        "coalesce(sum(amount_cents) FILTER (WHERE direction = 'CREDIT'), 0)::text "
        "FROM ledger_entries GROUP BY currency ORDER BY currency"
    );
    std::vector<invariants::CurrencyTotals> totals;
    for (int i = 0; i < rows.Size(); ++i) {
        const std::string currency = rows.GetString(i, 0);
        const auto parse = [&](int col) {
            try {
                return std::stoll(rows.GetString(i, col));
            } catch (const std::exception&) {
                throw VerifyError(
                    "ledger: the " + currency + " total " + rows.GetString(i, col) +
                    " does not fit in 64 bits"
                );
            }
        };
        totals.push_back({currency, parse(1), parse(2)});
    }
    return totals;
}

std::vector<invariants::Notice> ReadNotices(postgres::Connection& notification) {
    const auto rows = notification.Exec(
        "SELECT payment_id::text, outcome, coalesce(refund_id::text, '') FROM notification_logs"
    );
    std::vector<invariants::Notice> notices;
    notices.reserve(static_cast<std::size_t>(rows.Size()));
    for (int i = 0; i < rows.Size(); ++i) {
        const auto outcome = ParseOutcome(rows.Get(i, 1));
        if (!outcome) {
            throw VerifyError(fmt::format(
                "a notification of payment {} with an unknown outcome {}",
                rows.Get(i, 0),
                rows.Get(i, 1)
            ));
        }
        notices.push_back({
            .payment_id = rows.GetString(i, 0),
            .outcome = *outcome,
            .refund_id = rows.GetString(i, 2),
        });
    }
    return notices;
}

invariants::UnsentOutbox ReadUnsentOutbox(postgres::Connection& conn, const std::string& service) {
    const auto rows = conn.Exec(
        "SELECT count(*), coalesce((extract(epoch FROM min(created_at)) * 1000000)::bigint, 0) "
        "FROM outbox_events WHERE status <> 'SENT'"
    );
    return {service, rows.GetInt(0, 0), FromMicros(rows.GetInt(0, 1))};
}

std::vector<invariants::PspRecord> ParsePspRecords(const nlohmann::json& records) {
    if (!records.is_array()) {
        throw VerifyError("the PSP's records are not a JSON array");
    }
    std::vector<invariants::PspRecord> parsed;
    parsed.reserve(records.size());
    for (const nlohmann::json& r : records) {
        const auto text = [&](const char* name) -> std::string {
            const auto it = r.find(name);
            if (it == r.end() || !it->is_string()) {
                throw VerifyError(fmt::format("a PSP record without {}: {}", name, r.dump()));
            }
            return it->get<std::string>();
        };
        const auto number = [&](const char* name) -> std::int64_t {
            const auto it = r.find(name);
            if (it == r.end() || !it->is_number_integer()) {
                throw VerifyError(fmt::format("a PSP record without {}: {}", name, r.dump()));
            }
            return it->get<std::int64_t>();
        };
        if (!r.is_object()) {
            throw VerifyError("a PSP record is not an object: " + r.dump());
        }
        const std::string status = text("status");
        const auto state = invariants::ParsePspState(status);
        if (!state) {
            throw VerifyError("a PSP record with an unknown status: " + r.dump());
        }
        invariants::PspRecord record{
            .payment_id = text("payment_id"),
            .key = text("idempotency_key"),
            .state = *state,
            .captures = static_cast<int>(number("captures")),
            .amount_minor = number("amount_cents"),
            .currency = text("currency"),
        };
        // Partial captures and refunds (a sandbox from before them says nothing: the whole
        // amount was captured, a REFUNDED record refunded all of it).
        if (r.contains("captured_amount_cents") && record.captures > 0) {
            record.captured_minor = number("captured_amount_cents");
        }
        if (r.contains("refunded_amount_cents")) {
            record.refunded_minor = number("refunded_amount_cents");
        }
        if (const auto refunds = r.find("refunds"); refunds != r.end()) {
            if (!refunds->is_array()) {
                throw VerifyError("a PSP record whose refunds are not an array: " + r.dump());
            }
            for (const nlohmann::json& refund : *refunds) {
                if (!refund.is_object() || !refund.contains("refund_key") ||
                    !refund["refund_key"].is_string() || !refund.contains("amount_cents") ||
                    !refund["amount_cents"].is_number_integer()) {
                    throw VerifyError("a PSP refund without refund_key or amount: " + r.dump());
                }
                record.refunds.push_back(
                    {refund["refund_key"].get<std::string>(),
                     refund["amount_cents"].get<std::int64_t>()}
                );
            }
        }
        parsed.push_back(std::move(record));
    }
    return parsed;
}

std::vector<invariants::PspRecord> ReadPspRecords(
    const std::string& psp_url, const std::string& internal_token, std::chrono::milliseconds timeout
) {
    std::optional<http::Client> client;
    try {
        client.emplace(psp_url, http::ClientOptions{1, timeout, timeout});
    } catch (const std::invalid_argument& error) {
        throw VerifyError(std::string("--psp-url: ") + error.what());
    }
    std::vector<std::pair<std::string, std::string>> headers;
    if (!internal_token.empty()) {
        headers.emplace_back("x-internal-token", internal_token);
    }
    const auto result = client->Send("GET", "/v1/records", {}, headers);
    if (!result.has_value()) {
        throw VerifyError("cannot reach the PSP at " + psp_url + ": " + result.error().message);
    }
    if (result->status != 200) {
        throw VerifyError(fmt::format(
            "the PSP at {} answered GET /v1/records with {}: {}",
            psp_url,
            result->status,
            result->body.substr(0, kMaxBodyInMessage)
        ));
    }
    const auto body = nlohmann::json::parse(result->body, nullptr, false);
    if (body.is_discarded()) {
        throw VerifyError("the PSP's GET /v1/records is not JSON");
    }
    return ParsePspRecords(body);
}

std::vector<invariants::DeadLetter> ReadDeadLetters(EventBus& bus) {
    std::vector<invariants::DeadLetter> letters;
    for (const std::string topic : {"payments.dlq", "deadletter"}) {
        for (ParkedMessage& m : ReadParked(bus, topic, 0)) {
            letters.push_back({
                .topic = topic,
                .reason = m.error_type.empty() ? std::move(m.reason) : std::move(m.error_type),
                .payment_id = std::move(m.aggregate_id),
            });
        }
    }
    return letters;
}

std::vector<invariants::Accepted> ReadAccepted(const std::string& path) {
    std::ifstream in(path);
    if (!in) {
        throw VerifyError("cannot open --accepted " + path);
    }
    std::vector<invariants::Accepted> accepted;
    int number = 0;
    for (std::string line; std::getline(in, line);) {
        ++number;
        if (line.find_first_not_of(" \t\r") == std::string::npos) {
            continue;
        }
        const auto json = nlohmann::json::parse(line, nullptr, false);
        if (!json.is_object() || !json.contains("idempotency_key") ||
            !json["idempotency_key"].is_string() || !json.contains("payment_id") ||
            !json["payment_id"].is_string()) {
            throw VerifyError(fmt::format(
                "{}:{}: not {{\"idempotency_key\":…,\"payment_id\":…}}: {}",
                path,
                number,
                line.substr(0, kMaxBodyInMessage)
            ));
        }
        accepted.push_back(
            {json["idempotency_key"].get<std::string>(), json["payment_id"].get<std::string>()}
        );
    }
    return accepted;
}

std::optional<std::chrono::milliseconds> ParseDuration(std::string_view text) {
    std::size_t digits = 0;
    while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') {
        ++digits;
    }
    if (digits == 0 || digits > 12) {
        return std::nullopt;
    }
    std::int64_t value = 0;
    for (std::size_t i = 0; i < digits; ++i) {
        value = value * 10 + (text[i] - '0');
    }
    const std::string_view unit = text.substr(digits);
    if (unit == "ms") {
        return std::chrono::milliseconds(value);
    }
    if (unit.empty() || unit == "s") {
        return std::chrono::seconds(value);
    }
    if (unit == "m") {
        return std::chrono::minutes(value);
    }
    if (unit == "h") {
        return std::chrono::hours(value);
    }
    return std::nullopt;
}

Verified Verify(const VerifyOptions& options) {
    Verified out;
    Snapshot s;
    Parts& parts = out.parts;
    // The accepted file first: every payment it names was created before the payments are read.
    parts.accepted = !options.accepted_file.empty();
    if (parts.accepted) {
        s.accepted = ReadAccepted(options.accepted_file);
    }
    auto orchestrator = OpenIfConfigured(options, "orchestrator");
    if (!orchestrator) {
        throw VerifyError(
            "no orchestrator database: set ORCHESTRATOR_POSTGRES_DSN or SAGAPAY_PG_BASE_DSN"
        );
    }
    auto risk = OpenIfConfigured(options, "risk");
    Reading("the orchestrator database", [&] {
        // The payments and their refunds as of one moment: a payment's refund totals and status
        // agree with its refunds only within one snapshot.
        orchestrator->ExecScript("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
        try {
            out.now = ReadDatabaseNow(*orchestrator);
            s.payments = ReadPayments(*orchestrator, risk ? &*risk : nullptr);
            s.refunds = ReadRefunds(*orchestrator);
            orchestrator->ExecScript("COMMIT");
        } catch (...) {
            if (orchestrator->IsHealthy()) {
                orchestrator->ExecScript("ROLLBACK");
            }
            throw;
        }
        return 0;
    });
    parts.refunds = true;
    // Then what follows from the payments: it is at least as new as what was read of them.
    parts.psp = !options.psp_url.empty();
    if (parts.psp) {
        s.psp = ReadPspRecords(options.psp_url, options.internal_token, options.psp_timeout);
    }
    auto ledger = OpenIfConfigured(options, "ledger");
    parts.ledger = ledger.has_value();
    if (ledger) {
        Reading("the ledger database", [&] {
            s.postings = ReadPostings(*ledger);
            s.ledger_totals = ReadLedgerTotals(*ledger);
            return 0;
        });
    }
    auto notification = OpenIfConfigured(options, "notification");
    parts.notices = notification.has_value();
    if (notification) {
        s.notices =
            Reading("the notification database", [&] { return ReadNotices(*notification); });
    }
    for (const auto& service : kServices) {
        std::optional<postgres::Connection> own;
        postgres::Connection* conn = nullptr;
        if (service == "orchestrator") {
            conn = &*orchestrator;
        } else if (service == "risk" && risk) {
            conn = &*risk;
        } else if (service == "ledger" && ledger) {
            conn = &*ledger;
        } else if (service == "notification" && notification) {
            conn = &*notification;
        } else if ((own = OpenIfConfigured(options, service))) {
            conn = &*own;
        }
        if (conn == nullptr) {
            continue;  // no DSN for this service: its outbox is not read
        }
        s.outbox.push_back(Reading("the " + service + " database outbox", [&] {
            return ReadUnsentOutbox(*conn, service);
        }));
    }
    parts.outbox = !s.outbox.empty();
    parts.dead_letters = options.event_bus == "kafka" ? !options.bootstrap_servers.empty()
                                                      : !options.redis_url.empty();
    if (parts.dead_letters) {
        s.dead_letters = Reading("the event bus (" + options.event_bus + ")", [&] {
            DlqOptions where;
            where.event_bus = options.event_bus;
            where.redis_url = options.redis_url;
            where.bootstrap_servers = options.bootstrap_servers;
            where.stream_prefix = options.stream_prefix;
            const EventBusPtr bus = MakeToolBus(where);
            return ReadDeadLetters(*bus);
        });
    }
    // A payment created while the other parts were read is named by them but was not in the
    // payments read: read it now rather than report it unknown.
    std::set<std::string, std::less<>> known;
    for (const auto& p : s.payments) {
        known.insert(p.payment_id);
    }
    std::set<std::string, std::less<>> unknown;
    const auto note = [&](const std::string& id) {
        if (!id.empty() && !known.contains(id)) {
            unknown.insert(id);
        }
    };
    for (const auto& r : s.psp) {
        note(r.payment_id);
    }
    for (const auto& p : s.postings) {
        note(p.payment_id);
    }
    // Likewise a refund made since: the PSP made it, the ledger posted it or a notice announced
    // it. Read now, it counts only as in flight (Refund::read_late).
    std::set<std::string, std::less<>> known_refunds;
    for (const auto& r : s.refunds) {
        known_refunds.insert(r.refund_id);
    }
    std::set<std::string, std::less<>> unknown_refunds;
    const auto note_refund = [&](std::string id) {
        std::transform(id.begin(), id.end(), id.begin(), [](char c) {
            return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        });
        if (!id.empty() && !known_refunds.contains(id)) {
            unknown_refunds.insert(std::move(id));
        }
    };
    for (const auto& r : s.psp) {
        for (const auto& refund : r.refunds) {
            if (refund.key.starts_with(invariants::kRefundKeyPrefix)) {
                note_refund(refund.key.substr(invariants::kRefundKeyPrefix.size()));
            }
        }
    }
    for (const auto& p : s.postings) {
        note_refund(p.refund_id);
    }
    for (const auto& n : s.notices) {
        note_refund(n.refund_id);
    }
    if (!unknown_refunds.empty()) {
        Reading("the orchestrator database", [&] {
            for (auto& r : ReadRefundsById(
                     *orchestrator,
                     std::vector<std::string>(unknown_refunds.begin(), unknown_refunds.end())
                 )) {
                r.read_late = true;
                note(r.payment_id);
                s.refunds.push_back(std::move(r));
            }
            return 0;
        });
    }
    if (!unknown.empty()) {
        Reading("the orchestrator database", [&] {
            std::vector<std::string> valid;
            for (const auto& id : unknown) {
                if (IsUuid(id)) {
                    valid.push_back(id);
                }
            }
            const auto rows = orchestrator->Exec(
                std::string(kPaymentColumns) + "WHERE payment_id = ANY($1::uuid[])",
                {postgres::TextArray(valid)}
            );
            for (int i = 0; i < rows.Size(); ++i) {
                s.payments.push_back(PaymentAt(rows, i));
            }
            return 0;
        });
    }
    out.payments = static_cast<std::int64_t>(s.payments.size());
    out.accepted = static_cast<std::int64_t>(s.accepted.size());
    out.psp_records = static_cast<std::int64_t>(s.psp.size());
    out.postings = static_cast<std::int64_t>(s.postings.size());
    out.dead_letters = static_cast<std::int64_t>(s.dead_letters.size());
    out.refunds = static_cast<std::int64_t>(s.refunds.size());
    out.report = invariants::Check(
        s,
        invariants::Options{
            .now = out.now,
            .stuck_after = options.stuck_after,
            .outbox_after = options.outbox_after,
            .grace = options.grace,
            .capture_window = options.capture_window,
            .checks = parts}
    );
    return out;
}

nlohmann::json ReportJson(const Verified& v) {
    nlohmann::json by_status = nlohmann::json::object();
    for (const PaymentStatus status : AllPaymentStatuses()) {
        const auto it = v.report.by_status.find(status);
        by_status[std::string(ToString(status))] = it == v.report.by_status.end() ? 0 : it->second;
    }
    nlohmann::json violations = nlohmann::json::array();
    nlohmann::json by_kind = nlohmann::json::object();
    for (const auto& violation : v.report.violations) {
        const std::string kind(invariants::ToString(violation.kind));
        violations.push_back(
            {{"kind", kind}, {"payment_id", violation.payment_id}, {"detail", violation.detail}}
        );
        by_kind[kind] = by_kind.value(kind, 0) + 1;
    }
    nlohmann::json refunds_by_status = nlohmann::json::object();
    for (const auto state :
         {invariants::RefundState::kPending,
          invariants::RefundState::kSucceeded,
          invariants::RefundState::kFailed}) {
        const auto it = v.report.refunds_by_status.find(state);
        refunds_by_status[std::string(invariants::ToString(state))] =
            it == v.report.refunds_by_status.end() ? 0 : it->second;
    }
    return {
        {"ok", v.report.Ok()},
        {"payments", v.payments},
        {"by_status", by_status},
        {"refunds_by_status", refunds_by_status},
        {"awaiting_review", v.report.awaiting_review},
        {"awaiting_capture", v.report.awaiting_capture},
        {"settling", v.report.settling},
        {"longest_to_final_ms", Millis(v.report.longest_to_final)},
        {"p99_to_final_ms", Millis(v.report.p99_to_final)},
        {"oldest_in_flight_ms", Millis(v.report.oldest_in_flight)},
        {"checked",
         {{"refunds", v.parts.refunds},
          {"accepted", v.parts.accepted},
          {"psp", v.parts.psp},
          {"ledger", v.parts.ledger},
          {"notices", v.parts.notices},
          {"outbox", v.parts.outbox},
          {"dead_letters", v.parts.dead_letters}}},
        {"read",
         {{"refunds", v.refunds},
          {"accepted", v.accepted},
          {"psp_records", v.psp_records},
          {"postings", v.postings},
          {"dead_letters", v.dead_letters}}},
        {"violation_count", v.report.violations.size()},
        {"violations_by_kind", by_kind},
        {"violations", violations},
    };
}

std::string ReportText(const Verified& v) {
    std::string text = fmt::format("{} payments:", v.payments);
    for (const auto& [status, count] : v.report.by_status) {
        text += fmt::format(" {} {}", ToString(status), count);
    }
    if (!v.report.refunds_by_status.empty()) {
        text += fmt::format("\n{} refunds:", v.refunds);
        for (const auto& [state, count] : v.report.refunds_by_status) {
            text += fmt::format(" {} {}", invariants::ToString(state), count);
        }
    }
    text += fmt::format(
        "\nawaiting review {}; awaiting capture {}; ended within the grace {}; to final: longest "
        "{} ms, p99 {} ms; oldest in flight {} ms\n",
        v.report.awaiting_review,
        v.report.awaiting_capture,
        v.report.settling,
        Millis(v.report.longest_to_final),
        Millis(v.report.p99_to_final),
        Millis(v.report.oldest_in_flight)
    );
    std::string unchecked;
    const std::pair<bool, const char*> parts[] = {
        {v.parts.refunds, "refunds"},
        {v.parts.accepted, "accepted"},
        {v.parts.psp, "psp"},
        {v.parts.ledger, "ledger"},
        {v.parts.notices, "notices"},
        {v.parts.outbox, "outbox"},
        {v.parts.dead_letters, "dead letters"}};
    for (const auto& [checked, name] : parts) {
        if (!checked) {
            unchecked += unchecked.empty() ? name : std::string(", ") + name;
        }
    }
    if (!unchecked.empty()) {
        text += "not checked (not configured): " + unchecked + "\n";
    }
    for (const auto& violation : v.report.violations) {
        text += invariants::Describe(violation) + "\n";
    }
    text += v.report.Ok() ? std::string("ok: every invariant holds\n")
                          : fmt::format("{} violations\n", v.report.violations.size());
    return text;
}

int RunVerify(const VerifyOptions& options, bool json) {
    Verified verified;
    try {
        verified = Verify(options);
    } catch (const std::exception& error) {
        std::fprintf(stderr, "sagapay verify: %s\n", error.what());
        return 2;
    }
    if (json) {
        std::printf(
            "%s\n",
            ReportJson(verified)
                .dump(2, ' ', false, nlohmann::json::error_handler_t::replace)
                .c_str()
        );
    } else {
        std::fputs(ReportText(verified).c_str(), stdout);
    }
    std::fflush(stdout);
    return verified.report.Ok() ? 0 : 1;
}

}  // namespace sagapay::app
