#include "services/orchestrator/sweeper.hpp"

#include <algorithm>

#include "adapters/postgres/connection.hpp"
#include "adapters/postgres/messaging.hpp"
#include "runtime/log.hpp"
#include "runtime/metrics.hpp"
#include "runtime/tracing.hpp"
#include "runtime/transaction_outbox.hpp"
#include "runtime/wait.hpp"
#include "services/orchestrator/payment_saga.hpp"
#include "services/orchestrator/pg_payment_store.hpp"

namespace sagapay::orchestrator {

bool IsStuck(
    PaymentStatus status,
    Clock::TimePoint updated_at,
    Clock::TimePoint now,
    std::chrono::milliseconds stuck_after,
    int redrive_count
) noexcept {
    PaymentSnapshot probe;
    probe.status = status;
    const int doublings = std::clamp(redrive_count, 0, kMaxRedriveDoublings);
    return PendingStepRequest(probe).has_value() &&
           now - updated_at > stuck_after * (1 << doublings);
}

namespace {

/// A manual-capture authorization waits on the merchant: never stuck (PaymentSnapshot's
/// AwaitingCapture, in SQL).
constexpr const char* kNotAwaitingCapture =
    "AND NOT (status = 'AUTHORIZED' AND capture_method = 'manual' AND "
    "capture_amount_cents IS NULL)";

constexpr const char* kSnapshotColumns =
    "SELECT payment_id, customer_id, amount_cents, currency, status, state_version, trace_id, "
    "(extract(epoch FROM updated_at) * 1000000)::bigint, capture_method, "
    "coalesce(capture_amount_cents, 0), coalesce(captured_cents, 0), refund_reserved_cents, "
    "refunded_cents FROM payments ";

PaymentSnapshot SnapshotAt(const postgres::Rows& rows, int i) {
    PaymentSnapshot p;
    p.payment_id = PaymentId(rows.GetString(i, 0));
    p.customer_id = CustomerId(rows.GetString(i, 1));
    p.amount.amount_minor = rows.GetInt(i, 2);
    p.amount.currency = Currency::Parse(rows.Get(i, 3)).value_or(Currency());
    p.status = ParsePaymentStatus(rows.Get(i, 4)).value_or(PaymentStatus::kRiskReview);
    p.state_version = rows.GetInt(i, 5);
    p.capture_method = ParseCaptureMethod(rows.Get(i, 8)).value_or(CaptureMethod::kAutomatic);
    p.capture_amount_minor = rows.GetInt(i, 9);
    p.captured_minor = rows.GetInt(i, 10);
    p.refund_reserved_minor = rows.GetInt(i, 11);
    p.refunded_minor = rows.GetInt(i, 12);
    return p;
}

}  // namespace

int VoidExpiredAuthorizations(
    postgres::Connection& conn, const SweeperOptions& options, const Clock& clock
) {
    postgres::Transaction tx(conn);
    // Served by ix_payments_awaiting_capture.
    const auto rows = tx.Exec(
        std::string(kSnapshotColumns) +
            "WHERE status = 'AUTHORIZED' AND capture_method = 'manual' AND "
            "capture_amount_cents IS NULL AND updated_at < now() - make_interval(secs => "
            "$1::float8) ORDER BY updated_at LIMIT $2 FOR UPDATE SKIP LOCKED",
        {std::to_string(std::chrono::duration<double>(options.capture_window).count()),
         options.batch}
    );
    if (rows.Empty()) {
        return 0;
    }
    PgPaymentStore store(tx);
    TransactionOutbox outbox(tx);
    int voided = 0;
    for (int i = 0; i < rows.Size(); ++i) {
        PaymentSnapshot payment = SnapshotAt(rows, i);
        const CommandPlan command = PlanCancel(payment, "authorization_expired");
        if (command.refused || command.replay) {
            continue;
        }
        const log::ScopedContext context(rows.GetString(i, 6), "", payment.payment_id.Value());
        log::Info("manual-capture authorization expired uncaptured; voiding it");
        for (const Step& step : command.plan.steps) {
            store.Apply(payment, step, EventId());
        }
        store.Record(payment, command.plan, EventId());
        for (const SagaEvent& emit : command.plan.emits) {
            outbox.Emit(emit, payment.payment_id, rows.GetString(i, 6), clock);
        }
        ++voided;
    }
    tx.Commit();
    if (voided > 0) {
        metrics::Get()
            .retries_total.Add({{"service", options.service}, {"dependency", "capture_window"}})
            .Increment(voided);
    }
    return voided;
}

int RedriveStuckRefunds(
    postgres::Connection& conn, const SweeperOptions& options, const Clock& clock
) {
    postgres::Transaction tx(conn);
    // Served by ix_refunds_pending; redrive_count lives in the payment's row for payments, and
    // a refund's back-off is its age: each pass re-emits only refunds idle for stuck_after.
    const auto rows = tx.Exec(
        "SELECT r.refund_id, r.payment_id, r.amount_cents, r.currency, p.customer_id, r.reason, "
        "r.trace_id FROM refunds r JOIN payments p ON p.payment_id = r.payment_id "
        "WHERE r.status = 'PENDING' AND r.updated_at < now() - make_interval(secs => $1::float8) "
        "ORDER BY r.updated_at LIMIT $2 FOR UPDATE OF r SKIP LOCKED",
        {std::to_string(std::chrono::duration<double>(options.stuck_after).count()), options.batch}
    );
    int redriven = 0;
    for (int i = 0; i < rows.Size(); ++i) {
        const auto currency = Currency::Parse(rows.Get(i, 3));
        if (!currency) {
            continue;
        }
        const PaymentId payment(rows.GetString(i, 1));
        const log::ScopedContext context(rows.GetString(i, 6), "", payment.Value());
        log::Warn("refund made no progress; re-emitting its request");
        postgres::AppendOutbox(
            tx,
            NewEnvelope(
                RefundRequested{
                    rows.GetString(i, 0),
                    Money{rows.GetInt(i, 2), *currency},
                    CustomerId(rows.GetString(i, 4)),
                    rows.GetString(i, 5)},
                payment,
                rows.GetString(i, 6),
                clock
            )
        );
        ++redriven;
    }
    if (redriven > 0) {
        std::vector<std::string> ids;
        ids.reserve(rows.Size());
        for (int i = 0; i < rows.Size(); ++i) {
            ids.push_back(rows.GetString(i, 0));
        }
        tx.Exec(
            "UPDATE refunds SET updated_at = now() WHERE refund_id = ANY($1::uuid[])",
            {postgres::TextArray(ids)}
        );
    }
    tx.Commit();
    if (redriven > 0) {
        metrics::Get()
            .retries_total.Add({{"service", options.service}, {"dependency", "refund_sweeper"}})
            .Increment(redriven);
    }
    return redriven;
}

int SweepStuckPayments(
    postgres::Connection& conn, const SweeperOptions& options, const Clock& clock
) {
    const double stuck_seconds = std::chrono::duration<double>(options.stuck_after).count();
    {
        // Served by the partial index ix_payments_waiting: only waiting payments are read.
        const auto counts = conn.Exec(
            "SELECT status, count(*) FROM payments "
            "WHERE status IN ('CREATED','APPROVED','AUTHORIZED','CAPTURED') "
            "AND updated_at < now() - make_interval(secs => $1::float8) " +
                std::string(kNotAwaitingCapture) + " GROUP BY status",
            {std::to_string(stuck_seconds)}
        );
        auto& gauge = metrics::Get().stuck_payments;
        for (const std::string_view state : {"CREATED", "APPROVED", "AUTHORIZED", "CAPTURED"}) {
            double count = 0;
            for (int i = 0; i < counts.Size(); ++i) {
                if (counts.Get(i, 0) == state) {
                    count = static_cast<double>(counts.GetInt(i, 1));
                }
            }
            gauge.Add({{"service", options.service}, {"state", std::string(state)}}).Set(count);
        }
    }
    postgres::Transaction tx(conn);
    const auto rows = tx.Exec(
        std::string(kSnapshotColumns) +
            "WHERE status IN ('CREATED','RISK_REVIEW','APPROVED','AUTHORIZED','CAPTURED') "
            "AND updated_at < now() - make_interval(secs => $1::float8) "
            // IsStuck's back-off: each re-drive doubles the wait before the next.
            "AND updated_at < now() - make_interval(secs => $1::float8 * "
            "power(2, least(redrive_count, $3))) " +
            std::string(kNotAwaitingCapture) +
            " ORDER BY updated_at LIMIT $2 FOR UPDATE SKIP LOCKED",
        {std::to_string(stuck_seconds), options.batch, kMaxRedriveDoublings}
    );
    int redriven = 0;
    for (int i = 0; i < rows.Size(); ++i) {
        const PaymentSnapshot p = SnapshotAt(rows, i);
        const auto pending = PendingStepRequest(p);
        if (!pending) {
            continue;
        }
        const log::ScopedContext context(rows.GetString(i, 6), "", p.payment_id.Value());
        // A span in the payment's trace (from its seed trace id): the re-emitted event links to it.
        tracing::Span span(
            "saga sweeper re-emit",
            tracing::SpanKind::kProducer,
            ContinueTrace("", "", rows.GetString(i, 6))
        );
        span.SetAttribute("payment.id", p.payment_id.Value());
        span.SetAttribute("messaging.destination.name", std::string(TopicOf(*pending)));
        log::Warn(
            "payment made no progress; re-emitting its pending step",
            {{"status", std::string(ToString(p.status))}, {"topic", std::string(TopicOf(*pending))}}
        );
        postgres::AppendOutbox(
            tx, NewEnvelope(*pending, p.payment_id, rows.GetString(i, 6), clock)
        );
        tx.Exec(
            "UPDATE payments SET updated_at = now(), redrive_count = redrive_count + 1 "
            "WHERE payment_id = $1",
            {p.payment_id.Value()}
        );
        ++redriven;
    }
    tx.Commit();
    if (redriven > 0) {
        metrics::Get()
            .retries_total.Add({{"service", options.service}, {"dependency", "saga_sweeper"}})
            .Increment(redriven);
    }
    return redriven;
}

void RunSweeper(std::stop_token stop, const SweeperOptions& options, const Clock& clock) {
    std::unique_ptr<postgres::Connection> conn;
    while (!WaitFor(stop, options.interval)) {
        try {
            if (!conn) {
                conn =
                    std::make_unique<postgres::Connection>(postgres::Connection::Open(options.dsn));
            }
            VoidExpiredAuthorizations(*conn, options, clock);
            RedriveStuckRefunds(*conn, options, clock);
            SweepStuckPayments(*conn, options, clock);
        } catch (const std::exception& e) {
            log::Error("sweeper error", {{"error", e.what()}});
            conn.reset();
        }
    }
}

}  // namespace sagapay::orchestrator
