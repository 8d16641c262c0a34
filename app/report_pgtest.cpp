#include "app/report.hpp"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include "adapters/postgres/migrator.hpp"
#include "app/report_html.hpp"
#include "core/clock.hpp"
#include "core/ids.hpp"
#include "core/messaging/envelope.hpp"
#include "core/messaging/events.hpp"
#include "services/ledger/journal.hpp"
#include "services/ledger/ledger_store.hpp"
#include "services/ledger/schema.hpp"
#include "services/orchestrator/schema.hpp"
#include "services/risk/schema.hpp"
#include "testing/process.hpp"
#include "testing/test_env.hpp"

namespace sagapay::app::report {
namespace {

namespace fs = std::filesystem;
using ::sagapay::testing::ReadFile;
using ::sagapay::testing::RunProgram;
using ::sagapay::testing::TestDatabase;
using ::testing::HasSubstr;

/// The bus as `dlq list` sees it: ReadTopic over fixed messages; nothing else is used.
class StoredBus final : public EventBus {
public:
    std::vector<StoredMessage> payments_dlq;
    std::vector<StoredMessage> deadletter;

    Result<std::unique_ptr<EventPublisher>> CreatePublisher() override {
        return Fail(ErrorCode::kFailedPrecondition, "read-only test bus");
    }
    Result<std::unique_ptr<EventSubscription>> Subscribe(const SubscriptionOptions&) override {
        return Fail(ErrorCode::kFailedPrecondition, "read-only test bus");
    }
    Result<std::vector<StoredMessage>> ReadTopic(std::string_view topic, std::size_t) override {
        if (topic == "payments.dlq") {
            return payments_dlq;
        }
        if (topic == "deadletter") {
            return deadletter;
        }
        return std::vector<StoredMessage>{};
    }
    Result<void> EnsureTopics(std::span<const std::string>, const TopicSettings&) override {
        return {};
    }
};

std::size_t Count(std::string_view text, std::string_view what) {
    std::size_t n = 0;
    for (auto at = text.find(what); at != std::string_view::npos; at = text.find(what, at + 1)) {
        ++n;
    }
    return n;
}

/// Migrated orchestrator, risk and ledger databases holding a known mix, as the services would
/// have written it, all created in the last hour but one payment and one review.
class ReportTest : public ::testing::Test {
protected:
    ReportTest()
        : orchestrator_(orchestrator_db_.Connect()),
          risk_(risk_db_.Connect()),
          ledger_(ledger_db_.Connect()) {
        postgres::Migrate(orchestrator_, "orchestrator", OrchestratorMigrations());
        postgres::Migrate(risk_, "risk", RiskMigrations());
        postgres::Migrate(ledger_, "ledger", LedgerMigrations());
    }

    /// A payment created `age_s` ago that last changed `latency_s` after that; its timeline
    /// holds `reasons` as (to_state, reason).
    std::string Payment(
        const std::string& status,
        std::int64_t amount,
        const std::string& currency,
        double age_s,
        double latency_s,
        const std::vector<std::pair<std::string, std::string>>& timeline = {}
    ) {
        std::string id = NewUuid();
        orchestrator_.Exec(
            "INSERT INTO payments (payment_id, customer_id, amount_cents, currency, status, "
            "idempotency_key, request_fingerprint, trace_id, created_at, updated_at) VALUES "
            "($1, 'cust-1', $2, $3, $4, $5, 'fp', 'trace', now() - make_interval(secs => "
            "$6::float8), "
            "now() - make_interval(secs => $6::float8) + make_interval(secs => $7::float8))",
            {id,
             amount,
             currency,
             status,
             "key-" + id,
             std::to_string(age_s),
             std::to_string(latency_s)}
        );
        for (const auto& [to, reason] : timeline) {
            orchestrator_.Exec(
                "INSERT INTO payment_timeline (payment_id, to_state, reason) VALUES ($1, $2, $3)",
                {id, to, reason}
            );
        }
        return id;
    }

    void Settle(const std::string& id, std::int64_t amount, const std::string& currency) {
        auto entry = ledger::BuildJournalEntry(ledger::Purpose::kSettlement, id, amount, currency);
        ASSERT_TRUE(entry.has_value());
        postgres::Transaction tx(ledger_);
        ASSERT_TRUE(ledger::LedgerStore::Post(tx, id, *entry, "evt-" + NewUuid()));
        tx.Commit();
    }

    void Review(const std::string& status, const char* reviewed_by, double age_s) {
        const std::string payment = NewUuid();
        risk_.Exec(
            "INSERT INTO risk_reviews (review_id, payment_id, customer_id, amount_cents, currency, "
            "reason, status, reviewed_by, trace_id, created_at) VALUES ($1, $2, 'cust-1', 100, "
            "'USD', 'amount_review', $3, $4, 'trace', now() - make_interval(secs => $5::float8))",
            {NewUuid(),
             payment,
             status,
             reviewed_by == nullptr ? postgres::Param(std::nullopt) : postgres::Param(reviewed_by),
             std::to_string(age_s)}
        );
    }

    /// Four settled (three USD, one EUR), two failed as declined, one reversed after timeouts,
    /// two in flight; one settled two hours ago (outside the window); every settlement in the
    /// ledger. Final latencies are 1 … 7 s.
    void Mix() {
        for (const auto& [amount, latency] : {std::pair{1000, 1.0}, {2000, 2.0}, {3050, 3.0}}) {
            Settle(Payment("SETTLED", amount, "USD", 1200, latency), amount, "USD");
        }
        Settle(Payment("SETTLED", 999, "EUR", 900, 4.0), 999, "EUR");
        for (const double latency : {5.0, 6.0}) {
            Payment(
                "FAILED",
                500,
                "USD",
                600,
                latency,
                {{"APPROVED", "risk_approved"}, {"FAILED", "provider_failed:PROVIDER_DECLINED"}}
            );
        }
        Payment(
            "REVERSED",
            700,
            "USD",
            300,
            7.0,
            {{"FAILED", "provider_failed:PROVIDER_TIMEOUT"},
             {"REVERSED", "provider_timeout_compensation"}}
        );
        Payment("CREATED", 100, "USD", 30, 0);
        Payment("RISK_REVIEW", 50'000, "USD", 60, 0.5);
        Settle(Payment("SETTLED", 4000, "USD", 7200, 1.0), 4000, "USD");

        Review("PENDING", nullptr, 60);
        Review("APPROVED", "ops-user", 600);
        Review("DENIED", "ops-user", 700);
        Review("DENIED", "system:expiry", 800);
        Review("PENDING", nullptr, 3 * 3600);  // outside the window, still pending

        const SystemClock clock;
        DlqRecorded dlq;
        dlq.reason = "authorize attempts exhausted";
        dlq.error_type = "RETRY_EXHAUSTED";
        dlq.source = "provider-adapter";
        dlq.source_event_id = EventId(NewUuid());
        bus_.payments_dlq.push_back({
            .position = "1-0",
            .key = "p",
            .value = EncodeEnvelope(
                MakeEnvelope("payments.dlq", "p", "trace", EncodePayload(SagaEvent(dlq)), clock)
            ),
            .headers = {},
        });
        bus_.deadletter.push_back({
            .position = "2-0",
            .key = "q",
            .value = R"({"event_id":"e1","event_type":"payments.captured","aggregate_id":"q"})",
            .headers = {{"topic", "payments.captured"}, {"reason", "handler failed <30 min>"}},
        });
    }

    ReportSources Sources() {
        ReportSources s;
        s.orchestrator = &orchestrator_;
        s.risk = &risk_;
        s.ledger = &ledger_;
        s.bus = &bus_;
        return s;
    }

    TestDatabase orchestrator_db_;
    TestDatabase risk_db_;
    TestDatabase ledger_db_;
    postgres::Connection orchestrator_;
    postgres::Connection risk_;
    postgres::Connection ledger_;
    StoredBus bus_;
};

TEST_F(ReportTest, CountsThePaymentsOfTheWindow) {
    Mix();
    const ReportData data = CollectReport(Sources(), "1h", 60);
    const PaymentsSummary& p = data.payments;
    EXPECT_EQ(p.created, 9);
    EXPECT_EQ(p.settled, 4);
    EXPECT_EQ(p.failed, 2);
    EXPECT_EQ(p.reversed, 1);
    EXPECT_EQ(p.in_flight, 2);
    ASSERT_TRUE(p.SuccessRatio().has_value());
    EXPECT_DOUBLE_EQ(*p.SuccessRatio(), 4.0 / 7.0);
    // percentile_cont over 1 … 7 s.
    ASSERT_TRUE(p.p50_ms && p.p95_ms && p.p99_ms);
    EXPECT_NEAR(*p.p50_ms, 4000, 1e-6);
    EXPECT_NEAR(*p.p95_ms, 6700, 1e-6);
    EXPECT_NEAR(*p.p99_ms, 6940, 1e-6);
    ASSERT_EQ(p.settled_amounts.size(), 2U);
    EXPECT_EQ(p.settled_amounts[0].currency, "EUR");
    EXPECT_EQ(p.settled_amounts[0].amount_minor, 999);
    EXPECT_EQ(p.settled_amounts[1].currency, "USD");
    EXPECT_EQ(p.settled_amounts[1].payments, 3);
    EXPECT_EQ(p.settled_amounts[1].amount_minor, 6050);
}

TEST_F(ReportTest, FailureReasonsComeFromTheTimeline) {
    Mix();
    const PaymentsSummary p = CollectReport(Sources(), "1h", 60).payments;
    ASSERT_EQ(p.failure_reasons.size(), 2U);
    EXPECT_EQ(p.failure_reasons[0].reason, "provider_failed:PROVIDER_DECLINED");
    EXPECT_EQ(p.failure_reasons[0].count, 2);
    EXPECT_EQ(p.failure_reasons[1].reason, "provider_failed:PROVIDER_TIMEOUT");
    EXPECT_EQ(p.failure_reasons[1].count, 1);
    EXPECT_EQ(p.other_reasons, 0);
}

TEST_F(ReportTest, BucketsCoverTheWindowAndAddUp) {
    Mix();
    const ReportData data = CollectReport(Sources(), "1h", 60);
    EXPECT_EQ(data.window.step_us, 60'000'000);
    ASSERT_EQ(data.payments.buckets.size(), 60U);
    std::int64_t created = 0;
    std::int64_t settled = 0;
    std::int64_t failed = 0;
    std::size_t with_p95 = 0;
    for (const auto& b : data.payments.buckets) {
        created += b.created;
        settled += b.settled;
        failed += b.failed;
        with_p95 += b.p95_ms.has_value() ? 1U : 0U;
    }
    EXPECT_EQ(created, 9);
    EXPECT_EQ(settled, 4);
    EXPECT_EQ(failed, 3);
    EXPECT_EQ(with_p95, 4U) << "final payments were created 20, 15, 10 and 5 minutes ago";
    EXPECT_EQ(data.payments.buckets.front().start_us, data.window.from_us);
}

TEST_F(ReportTest, ReadsReviewsAndDeadLetters) {
    Mix();
    const ReportData data = CollectReport(Sources(), "1h", 60);
    const ReviewsSummary& r = data.reviews;
    ASSERT_TRUE(r.read) << r.note;
    EXPECT_EQ(r.pending, 1);
    EXPECT_EQ(r.approved, 1);
    EXPECT_EQ(r.denied, 1);
    EXPECT_EQ(r.expired, 1);
    EXPECT_EQ(r.pending_now, 2);
    ASSERT_TRUE(r.oldest_pending_age_s.has_value());
    EXPECT_GE(*r.oldest_pending_age_s, 3 * 3600);
    EXPECT_LT(*r.oldest_pending_age_s, 3 * 3600 + 120);

    const DlqSummary& d = data.dlq;
    ASSERT_TRUE(d.read) << d.note;
    EXPECT_EQ(d.total, 2);
    ASSERT_EQ(d.rows.size(), 2U);
    // One each: ties in topic order.
    EXPECT_EQ(d.rows[0].topic, "deadletter");
    EXPECT_EQ(d.rows[0].reason, "handler failed <30 min>");
    EXPECT_EQ(d.rows[1].topic, "payments.dlq");
    EXPECT_EQ(d.rows[1].reason, "RETRY_EXHAUSTED: authorize attempts exhausted");
}

TEST_F(ReportTest, ReconciliationIsCleanWhenTheLedgerHasEverySettlement) {
    Mix();
    const ReconciliationSummary r = CollectReport(Sources(), "1h", 60).reconciliation;
    ASSERT_TRUE(r.read) << r.note;
    EXPECT_TRUE(r.Clean());
    ASSERT_EQ(r.currencies.size(), 2U);
    const auto& usd = r.currencies[1];
    EXPECT_EQ(usd.currency, "USD");
    EXPECT_EQ(usd.settled_payments, 4) << "all time, not the window";
    EXPECT_EQ(usd.settled_amount_minor, 10'050);
    EXPECT_EQ(usd.ledger_settlements, 4);
    EXPECT_EQ(usd.debits_minor, 10'050);
    EXPECT_EQ(usd.credits_minor, 10'050);
    EXPECT_EQ(r.imbalanced_transactions, 0);
}

TEST_F(ReportTest, ReconciliationFindsASettlementForAnotherPayment) {
    Mix();
    // Same count and amount as a SETTLED payment the ledger lacks, but another payment's id.
    Payment("SETTLED", 1234, "USD", 100, 1.0);
    Settle(NewUuid(), 1234, "USD");
    const ReconciliationSummary r = CollectReport(Sources(), "1h", 60).reconciliation;
    ASSERT_TRUE(r.read) << r.note;
    EXPECT_FALSE(r.Clean());
    const auto& usd = r.currencies[1];
    EXPECT_EQ(usd.settled_payments, usd.ledger_settlements);
    EXPECT_EQ(usd.settled_amount_minor, usd.ledger_amount_minor);
    EXPECT_FALSE(usd.same_payments);
}

TEST_F(ReportTest, AMissingSourceIsNotedAndTheRestIsRead) {
    Mix();
    ReportSources s;
    s.orchestrator = &orchestrator_;
    s.risk_note = "no risk database (set RISK_POSTGRES_DSN)";
    const ReportData data = CollectReport(s, "1h", 60);
    EXPECT_EQ(data.payments.created, 9);
    EXPECT_FALSE(data.reviews.read);
    EXPECT_EQ(data.reviews.note, "no risk database (set RISK_POSTGRES_DSN)");
    EXPECT_FALSE(data.dlq.read);
    EXPECT_FALSE(data.reconciliation.read);
    EXPECT_FALSE(data.prometheus.asked);
}

TEST_F(ReportTest, AnUnreachablePrometheusIsNotedNotFatal) {
    ReportSources s = Sources();
    s.prom_url = "http://127.0.0.1:1";
    s.prom_timeout = std::chrono::milliseconds(500);
    const ReportData data = CollectReport(s, "30m", 30);
    EXPECT_TRUE(data.prometheus.asked);
    EXPECT_FALSE(data.prometheus.reachable);
    EXPECT_FALSE(data.prometheus.note.empty());
    EXPECT_THAT(RenderReportHtml(data), HasSubstr("could not be queried"));
}

TEST_F(ReportTest, AMalformedSinceIsAnError) {
    EXPECT_THROW((void)CollectReport(Sources(), "soon", 30), ReportError);
    ReportSources none;
    EXPECT_THROW((void)CollectReport(none, "1h", 30), ReportError);
}

/// The page in a real browser: headless Chromium lays it out (--dump-dom) and paints it
/// (--screenshot). SAGAPAY_SCREENSHOT_DIR keeps the picture as report.png.
TEST_F(ReportTest, ChromiumRendersThePage) {
    Mix();
    const fs::path dir = fs::temp_directory_path() / ("sagapay-report-" + NewUuid());
    fs::create_directories(dir);
    const fs::path page = dir / "executive_report.html";
    {
        std::ofstream out(page);
        out << RenderReportHtml(CollectReport(Sources(), "1h", 60));
    }
    const std::vector<std::string> common = {
        "chromium",
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--hide-scrollbars",
        "--user-data-dir=" + (dir / "profile").string(),
        "--window-size=1280,2000"};
    auto dump = common;
    dump.emplace_back("--dump-dom");
    dump.push_back("file://" + page.string());
    const fs::path dom_path = dir / "dom.html";
    ASSERT_EQ(RunProgram(dump, dom_path), 0) << ReadFile(dom_path);
    const std::string dom = ReadFile(dom_path);
    EXPECT_THAT(dom, HasSubstr("<h1>SagaPay executive report</h1>"));
    EXPECT_GE(Count(dom, R"(class="card)"), 9U);
    EXPECT_GE(Count(dom, "<svg "), 3U);
    EXPECT_THAT(dom, HasSubstr("provider_failed:PROVIDER_DECLINED"));
    EXPECT_THAT(dom, HasSubstr(R"(<span class="badge ok">clean</span>)"));

    auto shot = common;
    const fs::path png = dir / "report.png";
    shot.push_back("--screenshot=" + png.string());
    shot.push_back("file://" + page.string());
    const fs::path log = dir / "screenshot.log";
    ASSERT_EQ(RunProgram(shot, log), 0) << ReadFile(log);
    ASSERT_TRUE(fs::exists(png)) << ReadFile(log);
    EXPECT_GT(fs::file_size(png), 20'000U) << "an empty page?";
    if (const char* keep = std::getenv("SAGAPAY_SCREENSHOT_DIR");
        keep != nullptr && *keep != '\0') {
        fs::create_directories(keep);
        fs::copy_file(png, fs::path(keep) / "report.png", fs::copy_options::overwrite_existing);
    }
    std::error_code ignored;
    fs::remove_all(dir, ignored);
}

}  // namespace
}  // namespace sagapay::app::report
