#include "app/reconcile.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <optional>
#include <set>
#include <utility>

#include "adapters/http/http.hpp"
#include "adapters/postgres/connection.hpp"
#include "core/ports/psp_client.hpp"
#include "services/provider/http_psp_client.hpp"

namespace sagapay::app {

namespace {

constexpr std::chrono::milliseconds kLedgerTimeout{10'000};
constexpr std::int64_t kMaxLimit = 1'000'000;
constexpr std::size_t kMaxBodyInMessage = 300;

/// One ledger transaction of a payment, with its entries summed in the transaction's currency.
struct LedgerPosting {
    std::string transaction_id;
    std::string purpose;
    std::int64_t amount_minor = 0;
    std::string currency;
    std::string debits;  ///< Numeric sums as text: no sum can overflow.
    std::string credits;
    std::int64_t entry_count = 0;
    std::int64_t foreign_entry_count = 0;  ///< Entries in another currency than the transaction's
};

/// The mismatches found, keeping the first `keep` lines and counting the rest.
class MismatchList {
public:
    explicit MismatchList(std::int64_t keep) : keep_(keep) {}

    void Add(std::string line) {
        if (++count_ <= keep_) {
            lines_.push_back(std::move(line));
        }
    }

    [[nodiscard]] std::int64_t Count() const noexcept { return count_; }

    [[nodiscard]] std::vector<std::string> Lines() const {
        std::vector<std::string> lines = lines_;
        if (count_ > keep_) {
            lines.push_back(
                "... and " + std::to_string(count_ - keep_) +
                " more mismatches (raise --limit to list them)"
            );
        }
        return lines;
    }

private:
    std::int64_t keep_;
    std::int64_t count_ = 0;
    std::vector<std::string> lines_;
};

struct Payment {
    std::string payment_id;
    std::string status;
    std::int64_t amount_minor = 0;
    std::string currency;
    /// What the ledger settles: captured_cents (a manual partial capture takes less than the
    /// amount), or amount_cents when the payment has none recorded.
    std::int64_t settle_minor = 0;
};

/// A payment's refunds as the orchestrator has them, read in one statement.
struct PaymentRefunds {
    std::string status;
    std::int64_t captured_minor = 0;  ///< captured_cents, else amount_cents
    std::int64_t refunded_minor = 0;  ///< payments.refunded_cents
    struct Refund {
        std::string refund_id;
        std::int64_t amount_minor = 0;
        std::string currency;
        std::string status;  ///< PENDING, SUCCEEDED, FAILED
    };
    std::vector<Refund> refunds;
};

/// The statuses of a payment whose capture the ledger settled.
bool IsSettledStatus(std::string_view status) {
    return status == "SETTLED" || status == "PARTIALLY_REFUNDED" || status == "REFUNDED";
}

// Payments in primary-key order, one page at a time (keyset, never OFFSET).
constexpr const char* kPaymentsFirstPage =
    "SELECT payment_id::text, status, amount_cents, currency, "
    "coalesce(captured_cents, amount_cents) FROM payments ORDER BY payment_id LIMIT $1";
constexpr const char* kPaymentsNextPage =
    "SELECT payment_id::text, status, amount_cents, currency, "
    "coalesce(captured_cents, amount_cents) FROM payments "
    "WHERE payment_id > $1::uuid ORDER BY payment_id LIMIT $2";

// The refunds of a page of payments with the payments' refund figures, in one statement (one
// snapshot): read after the ledger's postings, so a refund the ledger posted is always seen
// SUCCEEDED here (the orchestrator records it before announcing it).
constexpr const char* kRefundsOfPayments =
    "SELECT p.payment_id::text, p.status, coalesce(p.captured_cents, p.amount_cents), "
    "p.refunded_cents, r.refund_id::text, r.amount_cents, r.currency, r.status "
    "FROM payments p LEFT JOIN refunds r ON r.payment_id = p.payment_id "
    "WHERE p.payment_id = ANY($1::uuid[]) ORDER BY p.payment_id, r.refund_id";

// The settlements, reversals and refunds of a page of payments (at most one settlement and one
// reversal per payment, any number of refunds), each with its entries summed.
constexpr const char* kPostingsOfPayments =
    "SELECT t.payment_id::text, t.transaction_id, t.purpose, t.amount_minor, t.currency, "
    "coalesce(sum(e.amount_cents) FILTER (WHERE e.direction = 'DEBIT' AND e.currency = "
    "t.currency), 0)::text, "
    "coalesce(sum(e.amount_cents) FILTER (WHERE e.direction = 'CREDIT' AND e.currency = "
    "t.currency), 0)::text, "
    "count(e.entry_id), count(e.entry_id) FILTER (WHERE e.currency <> t.currency) "
    "FROM ledger_transactions t LEFT JOIN ledger_entries e ON e.transaction_id = t.transaction_id "
    "WHERE t.payment_id = ANY($1::uuid[]) AND t.purpose IN ('SETTLEMENT', 'REVERSAL', 'REFUND') "
    "GROUP BY t.transaction_id";

// Ledger transactions in primary-key order, one page at a time.
constexpr const char* kTransactionsFirstPage =
    "SELECT transaction_id, payment_id::text, purpose FROM ledger_transactions "
    "ORDER BY transaction_id LIMIT $1";
constexpr const char* kTransactionsNextPage =
    "SELECT transaction_id, payment_id::text, purpose FROM ledger_transactions "
    "WHERE transaction_id > $1 ORDER BY transaction_id LIMIT $2";

constexpr const char* kKnownPayments =
    "SELECT payment_id::text FROM payments WHERE payment_id = ANY($1::uuid[])";

std::string EnvValue(const EnvMap& env, std::string_view name) {
    const auto it = env.find(name);
    return it == env.end() ? std::string() : it->second;
}

std::string Money(std::int64_t amount_minor, const std::string& currency) {
    return std::to_string(amount_minor) + " " + currency;
}

postgres::Connection OpenDatabase(
    const std::string& what, const char* env_name, const std::string& dsn
) {
    if (dsn.empty()) {
        throw ReconcileError(
            "no " + what + " database: set " + env_name + " or SAGAPAY_PG_BASE_DSN"
        );
    }
    try {
        return postgres::Connection::Open(dsn);
    } catch (const postgres::SqlError& error) {
        throw ReconcileError("cannot reach the " + what + " database: " + error.what());
    }
}

nlohmann::json FetchLedgerReport(const ReconcileOptions& options) {
    http::ClientOptions client_options;
    client_options.max_connections = 1;
    client_options.connect_timeout = kLedgerTimeout;
    client_options.request_timeout = kLedgerTimeout;
    std::optional<http::Client> client;
    try {
        client.emplace(options.ledger_url, client_options);
    } catch (const std::invalid_argument& error) {
        throw ReconcileError(std::string("--ledger-url: ") + error.what());
    }
    std::vector<std::pair<std::string, std::string>> headers;
    if (!options.api_key.empty()) {
        headers.emplace_back("x-api-key", options.api_key);
    }
    if (!options.internal_token.empty()) {
        headers.emplace_back("x-internal-token", options.internal_token);
    }
    const std::string target = "/reconciliation?limit=" + std::to_string(options.limit);
    const http::ClientResult result = client->Send("GET", target, {}, headers);
    const std::string where = "the ledger at " + options.ledger_url;
    if (!result.has_value()) {
        throw ReconcileError("cannot reach " + where + ": " + result.error().message);
    }
    if (result->status != 200) {
        throw ReconcileError(
            where + " answered GET " + target + " with " + std::to_string(result->status) + ": " +
            result->body.substr(0, kMaxBodyInMessage)
        );
    }
    nlohmann::json report = nlohmann::json::parse(result->body, nullptr, false);
    if (report.is_discarded() || !report.is_object() || !report.contains("imbalanced_count") ||
        !report.at("imbalanced_count").is_number_integer()) {
        throw ReconcileError(
            where + " answered GET " + target +
            " with something that is not a report: " + result->body.substr(0, kMaxBodyInMessage)
        );
    }
    return report;
}

/// The ledger's own verdict: each imbalanced transaction it lists, and an overall line when it
/// counts more than it lists or says it is not balanced for another reason.
void CheckLedgerReport(const nlohmann::json& report, MismatchList& mismatches) {
    const auto count = report.at("imbalanced_count").get<std::int64_t>();
    std::int64_t listed = 0;
    if (const auto it = report.find("imbalanced_transactions");
        it != report.end() && it->is_array()) {
        for (const nlohmann::json& item : *it) {
            ++listed;
            mismatches.Add(
                "ledger transaction " + item.value("transaction_id", std::string("?")) +
                " does not balance: debits " + item.value("debits", nlohmann::json()).dump() +
                ", credits " + item.value("credits", nlohmann::json()).dump()
            );
        }
    }
    const auto balanced = report.find("balanced");
    const bool says_unbalanced =
        balanced != report.end() && balanced->is_boolean() && !balanced->get<bool>();
    if (count > listed || (says_unbalanced && listed == 0)) {
        mismatches.Add(
            "ledger report: not balanced; imbalanced_count " + std::to_string(count) + ", " +
            std::to_string(listed) + " listed, transactions_without_entries " +
            report.value("transactions_without_entries", nlohmann::json(0)).dump() +
            ", totals_by_currency " +
            report.value("totals_by_currency", nlohmann::json::object()).dump()
        );
    }
}

/// Empty when the entries of `posting` balance in its currency and total its amount.
std::optional<std::string> EntriesProblem(const LedgerPosting& posting) {
    const std::string amount = std::to_string(posting.amount_minor);
    if (posting.entry_count == 0) {
        return "has no entries";
    }
    if (posting.foreign_entry_count > 0) {
        return "has " + std::to_string(posting.foreign_entry_count) + " of its " +
               std::to_string(posting.entry_count) + " entries in another currency than " +
               posting.currency;
    }
    if (posting.debits != posting.credits) {
        return "does not balance: debits " + posting.debits + ", credits " + posting.credits + " " +
               posting.currency;
    }
    if (posting.debits != amount) {
        return "moves " + posting.debits + " " + posting.currency + " but records an amount of " +
               amount;
    }
    return std::nullopt;
}

void CheckPayment(
    const Payment& payment, const std::vector<LedgerPosting>& postings, MismatchList& mismatches
) {
    const std::string subject = "payment " + payment.payment_id;
    const LedgerPosting* settlement = nullptr;
    const LedgerPosting* reversal = nullptr;
    int settlements = 0;
    for (const LedgerPosting& posting : postings) {
        if (posting.purpose == "SETTLEMENT") {
            settlement = &posting;
            ++settlements;
        } else if (posting.purpose == "REVERSAL") {
            reversal = &posting;
        }
    }
    if (IsSettledStatus(payment.status)) {
        const std::string& status = payment.status;
        if (settlement == nullptr) {
            mismatches.Add(
                subject + " is " + status + " (" + Money(payment.settle_minor, payment.currency) +
                " captured) but the ledger has no SETTLEMENT for it"
            );
        } else if (settlements > 1) {
            mismatches.Add(
                subject + " is " + status + " but the ledger has " + std::to_string(settlements) +
                " SETTLEMENTs for it"
            );
        } else if (settlement->amount_minor != payment.settle_minor ||
                   settlement->currency != payment.currency) {
            mismatches.Add(
                subject + " is " + status + " for " +
                Money(payment.settle_minor, payment.currency) + " captured but its ledger " +
                "SETTLEMENT " + settlement->transaction_id + " is " +
                Money(settlement->amount_minor, settlement->currency)
            );
        }
        if (reversal != nullptr) {
            mismatches.Add(
                subject + " is " + status + " but the ledger also has a REVERSAL " +
                reversal->transaction_id + " for it"
            );
        }
    } else if (settlement != nullptr && reversal == nullptr) {
        mismatches.Add(
            subject + " is " + payment.status + ", not SETTLED, but the ledger has a SETTLEMENT " +
            settlement->transaction_id + " of " +
            Money(settlement->amount_minor, settlement->currency) + " and no REVERSAL"
        );
    }
    if (reversal != nullptr && settlement == nullptr) {
        mismatches.Add(
            subject + " has a ledger REVERSAL " + reversal->transaction_id + " but no SETTLEMENT"
        );
    }
    if (reversal != nullptr && settlement != nullptr &&
        (reversal->amount_minor != settlement->amount_minor ||
         reversal->currency != settlement->currency)) {
        mismatches.Add(
            subject + ": its ledger REVERSAL is " +
            Money(reversal->amount_minor, reversal->currency) + " but its SETTLEMENT is " +
            Money(settlement->amount_minor, settlement->currency)
        );
    }
    for (const LedgerPosting& posting : postings) {
        if (const auto problem = EntriesProblem(posting)) {
            mismatches.Add(
                subject + ": ledger transaction " + posting.transaction_id + " " + *problem
            );
        }
    }
}

/// The orchestrator's refunds of a payment against the ledger's REFUND transactions.
void CheckRefunds(
    const std::string& payment_id,
    const PaymentRefunds& orchestrator,
    const std::vector<LedgerPosting>& postings,
    MismatchList& mismatches
) {
    const std::string subject = "payment " + payment_id;
    const std::string prefix = "refund:" + payment_id + ":";
    std::map<std::string, std::vector<const LedgerPosting*>, std::less<>> posted;  // by refund id
    for (const LedgerPosting& posting : postings) {
        if (posting.purpose != "REFUND") {
            continue;
        }
        if (!posting.transaction_id.starts_with(prefix)) {
            mismatches.Add(
                subject + ": ledger REFUND " + posting.transaction_id +
                " does not name the payment and a refund"
            );
            continue;
        }
        posted[posting.transaction_id.substr(prefix.size())].push_back(&posting);
    }
    std::int64_t succeeded_total = 0;
    std::set<std::string, std::less<>> known;
    for (const PaymentRefunds::Refund& refund : orchestrator.refunds) {
        known.insert(refund.refund_id);
        const std::string what = "refund " + refund.refund_id + " of " + subject;
        const auto it = posted.find(refund.refund_id);
        const std::size_t count = it == posted.end() ? 0 : it->second.size();
        if (refund.status != "SUCCEEDED") {
            if (count > 0) {
                mismatches.Add(
                    what + " is " + refund.status + " but the ledger has a REFUND " +
                    it->second.front()->transaction_id + " of " +
                    Money(it->second.front()->amount_minor, it->second.front()->currency)
                );
            }
            continue;
        }
        succeeded_total += refund.amount_minor;
        if (count == 0) {
            std::string line = what;
            line += " SUCCEEDED (" + Money(refund.amount_minor, refund.currency);
            line += ") but the ledger has no REFUND " + prefix + refund.refund_id;
            line += " (one that succeeded moments ago may not be posted yet)";
            mismatches.Add(line);
        } else if (count > 1) {
            mismatches.Add(what + " has " + std::to_string(count) + " ledger REFUND transactions");
        } else if (const LedgerPosting& ledger = *it->second.front();
                   ledger.amount_minor != refund.amount_minor ||
                   ledger.currency != refund.currency) {
            mismatches.Add(
                what + " SUCCEEDED for " + Money(refund.amount_minor, refund.currency) +
                " but its ledger REFUND " + ledger.transaction_id + " is " +
                Money(ledger.amount_minor, ledger.currency)
            );
        }
    }
    for (const auto& [refund_id, list] : posted) {
        if (!known.contains(refund_id)) {
            for (const LedgerPosting* ledger : list) {
                mismatches.Add(
                    subject + ": the ledger has a REFUND " + ledger->transaction_id + " of " +
                    Money(ledger->amount_minor, ledger->currency) +
                    " but the orchestrator has no such refund of the payment"
                );
            }
        }
    }
    if (orchestrator.refunded_minor != succeeded_total) {
        mismatches.Add(
            subject + " records " + std::to_string(orchestrator.refunded_minor) +
            " refunded but its SUCCEEDED refunds add up to " + std::to_string(succeeded_total)
        );
    }
    if (orchestrator.status == "REFUNDED" &&
        orchestrator.refunded_minor != orchestrator.captured_minor) {
        mismatches.Add(
            subject + " is REFUNDED but " + std::to_string(orchestrator.refunded_minor) +
            " of its " + std::to_string(orchestrator.captured_minor) + " captured was refunded"
        );
    }
}

/// Pass 1: each orchestrator payment, a page at a time, against the ledger's postings for that
/// page. The ledger is read after the payments, so a payment seen SETTLED (which the ledger
/// posts before) always finds its posting. Returns the number of payments checked.
std::int64_t CheckPayments(
    postgres::Connection& orchestrator,
    postgres::Connection& ledger,
    std::int64_t page_size,
    MismatchList& mismatches
) {
    // Each payment has at most two postings besides its refunds: half a page of payments keeps
    // the queries within `page_size` rows unless payments have several refunds each.
    const std::int64_t payments_per_page = std::max<std::int64_t>(1, page_size / 2);
    std::int64_t checked = 0;
    std::optional<std::string> after;
    while (true) {
        postgres::Rows page;
        try {
            page = after ? orchestrator.Exec(kPaymentsNextPage, {*after, payments_per_page})
                         : orchestrator.Exec(kPaymentsFirstPage, {payments_per_page});
        } catch (const postgres::SqlError& error) {
            throw ReconcileError(std::string("orchestrator database: ") + error.what());
        }
        if (page.Empty()) {
            break;
        }
        std::vector<Payment> payments;
        payments.reserve(static_cast<std::size_t>(page.Size()));
        for (int i = 0; i < page.Size(); ++i) {
            payments.push_back(
                {page.GetString(i, 0),
                 page.GetString(i, 1),
                 page.GetInt(i, 2),
                 page.GetString(i, 3),
                 page.GetInt(i, 4)}
            );
        }
        std::vector<std::string> ids;
        ids.reserve(payments.size());
        for (const Payment& payment : payments) {
            ids.push_back(payment.payment_id);
        }
        postgres::Rows rows;
        try {
            rows = ledger.Exec(kPostingsOfPayments, {postgres::TextArray(ids)});
        } catch (const postgres::SqlError& error) {
            throw ReconcileError(std::string("ledger database: ") + error.what());
        }
        std::map<std::string, std::vector<LedgerPosting>, std::less<>> postings;
        for (int i = 0; i < rows.Size(); ++i) {
            postings[rows.GetString(i, 0)].push_back({
                rows.GetString(i, 1),
                rows.GetString(i, 2),
                rows.GetInt(i, 3),
                rows.GetString(i, 4),
                rows.GetString(i, 5),
                rows.GetString(i, 6),
                rows.GetInt(i, 7),
                rows.GetInt(i, 8),
            });
        }
        postgres::Rows refund_rows;
        try {
            refund_rows = orchestrator.Exec(kRefundsOfPayments, {postgres::TextArray(ids)});
        } catch (const postgres::SqlError& error) {
            throw ReconcileError(std::string("orchestrator database: ") + error.what());
        }
        std::map<std::string, PaymentRefunds, std::less<>> refunds;
        for (int i = 0; i < refund_rows.Size(); ++i) {
            PaymentRefunds& of = refunds[refund_rows.GetString(i, 0)];
            of.status = refund_rows.GetString(i, 1);
            of.captured_minor = refund_rows.GetInt(i, 2);
            of.refunded_minor = refund_rows.GetInt(i, 3);
            if (!refund_rows.IsNull(i, 4)) {
                of.refunds.push_back(
                    {refund_rows.GetString(i, 4),
                     refund_rows.GetInt(i, 5),
                     refund_rows.GetString(i, 6),
                     refund_rows.GetString(i, 7)}
                );
            }
        }
        static const std::vector<LedgerPosting> kNone;
        for (const Payment& payment : payments) {
            const auto it = postings.find(payment.payment_id);
            const std::vector<LedgerPosting>& of = it == postings.end() ? kNone : it->second;
            CheckPayment(payment, of, mismatches);
            if (const auto r = refunds.find(payment.payment_id); r != refunds.end()) {
                CheckRefunds(payment.payment_id, r->second, of, mismatches);
            }
        }
        checked += page.Size();
        if (page.Size() < payments_per_page) {
            break;
        }
        after = payments.back().payment_id;
    }
    return checked;
}

/// Pass 2: each ledger transaction, a page at a time, names a payment the orchestrator knows.
/// The orchestrator is read after the ledger, and a payment exists before anything is posted
/// for it, so a posting made during the check is never reported.
void CheckLedgerPaymentsKnown(
    postgres::Connection& orchestrator,
    postgres::Connection& ledger,
    std::int64_t page_size,
    MismatchList& mismatches
) {
    std::optional<std::string> after;
    while (true) {
        postgres::Rows page;
        try {
            page = after ? ledger.Exec(kTransactionsNextPage, {*after, page_size})
                         : ledger.Exec(kTransactionsFirstPage, {page_size});
        } catch (const postgres::SqlError& error) {
            throw ReconcileError(std::string("ledger database: ") + error.what());
        }
        if (page.Empty()) {
            break;
        }
        std::set<std::string, std::less<>> ids;
        for (int i = 0; i < page.Size(); ++i) {
            ids.insert(page.GetString(i, 1));
        }
        postgres::Rows known_rows;
        try {
            const std::vector<std::string> id_list(ids.begin(), ids.end());
            known_rows = orchestrator.Exec(kKnownPayments, {postgres::TextArray(id_list)});
        } catch (const postgres::SqlError& error) {
            throw ReconcileError(std::string("orchestrator database: ") + error.what());
        }
        std::set<std::string, std::less<>> known;
        for (int i = 0; i < known_rows.Size(); ++i) {
            known.insert(known_rows.GetString(i, 0));
        }
        for (int i = 0; i < page.Size(); ++i) {
            const std::string payment_id = page.GetString(i, 1);
            if (!known.contains(payment_id)) {
                mismatches.Add(
                    "payment " + payment_id +
                    " is unknown to the orchestrator but the ledger has " + "a " +
                    page.GetString(i, 2) + " " + page.GetString(i, 0) + " for it"
                );
            }
        }
        if (page.Size() < page_size) {
            break;
        }
        after = page.GetString(page.Size() - 1, 0);
    }
}

/// Provider payments whose PSP state is known for sure, by payment id, in pages.
constexpr const char* kProviderFirstPage =
    "SELECT payment_id::text, status, authorization_key FROM provider_payments "
    "WHERE status IN ('DECLINED','TIMED_OUT','VOIDED','REFUNDED','CAPTURED') "
    "ORDER BY payment_id LIMIT $1";
constexpr const char* kProviderNextPage =
    "SELECT payment_id::text, status, authorization_key FROM provider_payments "
    "WHERE status IN ('DECLINED','TIMED_OUT','VOIDED','REFUNDED','CAPTURED') "
    "AND payment_id > $1::uuid ORDER BY payment_id LIMIT $2";

std::string_view Name(PspOutcome outcome) {
    switch (outcome) {
        case PspOutcome::kAuthorized:
            return "AUTHORIZED";
        case PspOutcome::kCaptured:
            return "CAPTURED";
        case PspOutcome::kDeclined:
            return "DECLINED";
        case PspOutcome::kNotFound:
            return "NOT_FOUND";
        case PspOutcome::kVoided:
            return "VOIDED";
        case PspOutcome::kRefunded:
            return "REFUNDED";
        case PspOutcome::kUnknown:
            return "no answer";
    }
    return "no answer";
}

// Of a page's payments, those the orchestrator refunded in full: the PSP reports them REFUNDED
// while the provider still records their capture.
constexpr const char* kRefundedPayments =
    "SELECT payment_id::text FROM payments WHERE payment_id = ANY($1::uuid[]) "
    "AND status = 'REFUNDED'";

std::int64_t CheckProviderAgainstPsp(
    postgres::Connection& provider,
    postgres::Connection& orchestrator,
    PspClient& psp,
    std::int64_t page_size,
    MismatchList& mismatches
) {
    std::int64_t checked = 0;
    std::optional<std::string> after;
    while (true) {
        postgres::Rows page;
        try {
            page = after ? provider.Exec(kProviderNextPage, {*after, page_size})
                         : provider.Exec(kProviderFirstPage, {page_size});
        } catch (const postgres::SqlError& error) {
            throw ReconcileError(std::string("provider database: ") + error.what());
        }
        std::vector<std::string> ids;
        ids.reserve(static_cast<std::size_t>(page.Size()));
        for (int i = 0; i < page.Size(); ++i) {
            ids.push_back(page.GetString(i, 0));
        }
        std::set<std::string, std::less<>> refunded;
        try {
            const auto rows = orchestrator.Exec(kRefundedPayments, {postgres::TextArray(ids)});
            for (int i = 0; i < rows.Size(); ++i) {
                refunded.insert(rows.GetString(i, 0));
            }
        } catch (const postgres::SqlError& error) {
            throw ReconcileError(std::string("orchestrator database: ") + error.what());
        }
        for (int i = 0; i < page.Size(); ++i) {
            const std::string payment_id = page.GetString(i, 0);
            const std::string status = page.GetString(i, 1);
            const PspOutcome at_psp = psp.Inquire(page.GetString(i, 2)).outcome;
            ++checked;
            // A capture the merchant refunded in full is REFUNDED at the PSP.
            const PspOutcome expected =
                refunded.contains(payment_id) ? PspOutcome::kRefunded : PspOutcome::kCaptured;
            if (at_psp == PspOutcome::kUnknown) {
                mismatches.Add("payment " + payment_id + ": the PSP did not answer the inquiry");
            } else if (status == "CAPTURED" && at_psp != expected) {
                std::string line = "payment " + payment_id;
                line += " is CAPTURED at the provider";
                line +=
                    expected == PspOutcome::kRefunded ? " and REFUNDED at the orchestrator" : "";
                line += " but ";
                line += Name(at_psp);
                line += " at the PSP";
                mismatches.Add(std::move(line));
            } else if (status != "CAPTURED" && HoldsMoney(at_psp)) {
                std::string line = "payment " + payment_id;
                line += " failed (" + status + " at the provider) but is ";
                line += Name(at_psp);
                line += " at the PSP: money held for a failed payment";
                mismatches.Add(std::move(line));
            }
        }
        if (page.Size() < page_size) {
            break;
        }
        after = page.GetString(page.Size() - 1, 0);
    }
    return checked;
}

}  // namespace

ReconcileOptions ReconcileOptionsFromEnvironment(const EnvMap& env) {
    ReconcileOptions options;
    options.api_key = EnvValue(env, "OPS_API_KEY");
    if (options.api_key.empty()) {
        options.api_key = EnvValue(env, "API_KEY");
    }
    options.internal_token = EnvValue(env, "INTERNAL_API_TOKEN");
    const std::string base = EnvValue(env, "SAGAPAY_PG_BASE_DSN");
    options.orchestrator_dsn = EnvValue(env, "ORCHESTRATOR_POSTGRES_DSN");
    if (options.orchestrator_dsn.empty() && !base.empty()) {
        options.orchestrator_dsn = base + "/finpay_orchestrator";
    }
    options.ledger_dsn = EnvValue(env, "LEDGER_POSTGRES_DSN");
    if (options.ledger_dsn.empty() && !base.empty()) {
        options.ledger_dsn = base + "/finpay_ledger";
    }
    options.provider_dsn = EnvValue(env, "PROVIDER_POSTGRES_DSN");
    if (options.provider_dsn.empty() && !base.empty()) {
        options.provider_dsn = base + "/finpay_provider";
    }
    if (const std::string psp = EnvValue(env, "PSP_URL"); !psp.empty()) {
        options.psp_url = psp;
    }
    return options;
}

ReconcileReport Reconcile(const ReconcileOptions& options) {
    if (options.limit < 1 || options.limit > kMaxLimit) {
        throw ReconcileError("--limit must be from 1 to " + std::to_string(kMaxLimit));
    }
    if (options.page_size < 2) {
        throw ReconcileError("the page size must be at least 2");
    }
    postgres::Connection orchestrator =
        OpenDatabase("orchestrator", "ORCHESTRATOR_POSTGRES_DSN", options.orchestrator_dsn);
    postgres::Connection ledger = OpenDatabase("ledger", "LEDGER_POSTGRES_DSN", options.ledger_dsn);
    ReconcileReport report;
    MismatchList mismatches(options.limit);
    report.ledger_report = FetchLedgerReport(options);
    CheckLedgerReport(report.ledger_report, mismatches);
    report.cross_service_checked =
        CheckPayments(orchestrator, ledger, options.page_size, mismatches);
    CheckLedgerPaymentsKnown(orchestrator, ledger, options.page_size, mismatches);
    if (!options.provider_dsn.empty()) {
        postgres::Connection provider =
            OpenDatabase("provider", "PROVIDER_POSTGRES_DSN", options.provider_dsn);
        const auto psp = provider::MakeHttpPspClient(options.psp_url, kLedgerTimeout);
        report.provider_psp_checked =
            CheckProviderAgainstPsp(provider, orchestrator, *psp, options.page_size, mismatches);
    }
    report.mismatches = mismatches.Lines();
    report.mismatch_count = mismatches.Count();
    return report;
}

int RunReconcile(const ReconcileOptions& options) {
    ReconcileReport report;
    try {
        report = Reconcile(options);
    } catch (const std::exception& error) {
        std::fprintf(stderr, "sagapay reconcile: %s\n", error.what());
        return 2;
    }
    nlohmann::json out = report.ledger_report;
    out["mismatches"] = report.mismatches;
    out["mismatch_count"] = report.mismatch_count;
    out["cross_service_checked"] = report.cross_service_checked;
    out["provider_psp_checked"] = report.provider_psp_checked;
    std::printf("%s\n", out.dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
    std::fflush(stdout);
    return report.mismatch_count == 0 ? 0 : 1;
}

}  // namespace sagapay::app
