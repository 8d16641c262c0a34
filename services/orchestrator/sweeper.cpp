#include "services/orchestrator/sweeper.hpp"

#include <algorithm>

#include "adapters/postgres/connection.hpp"
#include "adapters/postgres/messaging.hpp"
#include "runtime/log.hpp"
#include "runtime/metrics.hpp"
#include "runtime/tracing.hpp"
#include "runtime/wait.hpp"
#include "services/orchestrator/payment_saga.hpp"

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

int SweepStuckPayments(
    postgres::Connection& conn, const SweeperOptions& options, const Clock& clock
) {
    const double stuck_seconds = std::chrono::duration<double>(options.stuck_after).count();
    {
        // Served by the partial index ix_payments_waiting: only waiting payments are read.
        const auto counts = conn.Exec(
            "SELECT status, count(*) FROM payments "
            "WHERE status IN ('CREATED','APPROVED','AUTHORIZED','CAPTURED') "
            "AND updated_at < now() - make_interval(secs => $1::float8) GROUP BY status",
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
        "SELECT payment_id, customer_id, amount_cents, currency, status, state_version, trace_id, "
        "(extract(epoch FROM updated_at) * 1000000)::bigint FROM payments "
        "WHERE status IN ('CREATED','RISK_REVIEW','APPROVED','AUTHORIZED','CAPTURED') "
        "AND updated_at < now() - make_interval(secs => $1::float8) "
        // IsStuck's back-off: each re-drive doubles the wait before the next.
        "AND updated_at < now() - make_interval(secs => $1::float8 * "
        "power(2, least(redrive_count, $3))) "
        "ORDER BY updated_at LIMIT $2 FOR UPDATE SKIP LOCKED",
        {std::to_string(stuck_seconds), options.batch, kMaxRedriveDoublings}
    );
    int redriven = 0;
    for (int i = 0; i < rows.Size(); ++i) {
        PaymentSnapshot p;
        p.payment_id = PaymentId(rows.GetString(i, 0));
        p.customer_id = CustomerId(rows.GetString(i, 1));
        p.amount.amount_minor = rows.GetInt(i, 2);
        p.amount.currency = Currency::Parse(rows.Get(i, 3)).value_or(Currency());
        p.status = ParsePaymentStatus(rows.Get(i, 4)).value_or(PaymentStatus::kRiskReview);
        p.state_version = rows.GetInt(i, 5);
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
            SweepStuckPayments(*conn, options, clock);
        } catch (const std::exception& e) {
            log::Error("sweeper error", {{"error", e.what()}});
            conn.reset();
        }
    }
}

}  // namespace sagapay::orchestrator
