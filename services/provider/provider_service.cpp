#include "services/provider/provider_service.hpp"

#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <mutex>

#include "adapters/postgres/messaging.hpp"
#include "core/ids.hpp"
#include "core/messaging/topics.hpp"
#include "runtime/bootstrap.hpp"
#include "runtime/log.hpp"
#include "runtime/metrics.hpp"
#include "runtime/wait.hpp"
#include "services/provider/psp_client.hpp"
#include "services/provider/schema.hpp"

namespace sagapay::provider {

namespace {

constexpr const char* kService = "provider";

std::string PayloadString(const nlohmann::json& payload, const char* field) {
    const auto it = payload.find(field);
    return it != payload.end() && it->is_string() ? it->get<std::string>() : std::string();
}

RetryPolicy PolicyFromEnv() {
    RetryPolicy policy;
    const char* text = std::getenv("PROVIDER_BACKOFF_MS");
    if (text == nullptr || *text == '\0') {
        return policy;
    }
    policy.backoff.clear();
    std::string item;
    const std::string all(text);
    for (std::size_t i = 0; i <= all.size(); ++i) {
        if (i == all.size() || all[i] == ',') {
            char* end = nullptr;
            const long long ms = std::strtoll(item.c_str(), &end, 10);
            if (item.empty() || end == nullptr || *end != '\0' || ms <= 0) {
                throw std::runtime_error(
                    "PROVIDER_BACKOFF_MS must be positive milliseconds separated by commas, e.g. "
                    "1000,2000,4000"
                );
            }
            policy.backoff.emplace_back(ms);
            item.clear();
        } else {
            item.push_back(all[i]);
        }
    }
    return policy;
}

struct Row {
    std::string payment_id;
    std::string customer_id;
    std::int64_t amount_cents = 0;
    std::string currency;
    std::string trace_id;
    std::string status;
    std::string authorization_key;
    std::string authorization_id;
    int attempts = 0;
    std::string source_event;
};

constexpr const char* kRowColumns =
    "payment_id, customer_id, amount_cents, currency, trace_id, status, authorization_key, "
    "coalesce(authorization_id, ''), attempts, source_event::text";

Row ReadRow(const postgres::Rows& rows, int i) {
    Row r;
    r.payment_id = rows.GetString(i, 0);
    r.customer_id = rows.GetString(i, 1);
    r.amount_cents = rows.GetInt(i, 2);
    r.currency = rows.GetString(i, 3);
    r.trace_id = rows.GetString(i, 4);
    r.status = rows.GetString(i, 5);
    r.authorization_key = rows.GetString(i, 6);
    r.authorization_id = rows.GetString(i, 7);
    r.attempts = static_cast<int>(rows.GetInt(i, 8));
    r.source_event = rows.GetString(i, 9);
    return r;
}

class Provider {
public:
    explicit Provider(const Config& config)
        : config_(config),
          pool_(config.DsnFor(kService), static_cast<std::size_t>(config.db_pool_size)),
          psp_(MakeHttpPspClient(config.psp_url, std::chrono::milliseconds(2000))),
          policy_(PolicyFromEnv()),
          retries_(metrics::Get().retries_total.Add(
              {{"service", config.service_name}, {"dependency", "provider"}}
          )) {}

    void OnAuthorizeRequested(postgres::Transaction& tx, const Envelope& event) {
        const std::string customer = PayloadString(event.payload, "customer_id");
        const std::string currency = PayloadString(event.payload, "currency");
        const auto amount = event.payload.find("amount_cents");
        std::string invalid;
        if (customer.empty()) {
            invalid = "invalid customer_id";
        } else if (currency.size() != 3) {
            invalid = "invalid currency";
        } else if (amount == event.payload.end() || !amount->is_number_integer() || amount->get<std::int64_t>() <= 0) {
            invalid = "invalid amount_cents";
        } else if (!IsUuid(event.aggregate_id)) {
            invalid = "invalid payment id";
        }
        if (!invalid.empty()) {
            log::Warn("non-retryable provider request dropped", {{"reason", invalid}});
            EnqueueDlq(tx, event, invalid, "NON_RETRYABLE", false);
            EmitFailed(
                tx, event.aggregate_id, event.trace_id, customer, 0, "PROVIDER_INVALID_REQUEST"
            );
            return;
        }
        const auto inserted = tx.Exec(
            std::string(
                "INSERT INTO provider_payments (payment_id, customer_id, amount_cents, currency, "
                "trace_id, status, authorization_key, source_event, next_attempt_at) "
                "VALUES ($1, $2, $3, $4, $5, 'AUTHORIZING', $6, $7::jsonb, now()) "
                "ON CONFLICT (payment_id) DO NOTHING RETURNING "
            ) + kRowColumns,
            {event.aggregate_id,
             customer,
             amount->get<std::int64_t>(),
             currency,
             event.trace_id,
             "auth-" + event.aggregate_id,
             EncodeEnvelope(event)}
        );
        if (inserted.Empty()) {
            Redeliver(tx, event);
            return;
        }
        // Recorded as due now; the workers call the PSP, so no consumer ever waits on it and a
        // slow or timing-out PSP delays no other payment's first attempt.
        AfterCommit([this] { Wake(); });
    }

    void OnCaptureRequested(postgres::Transaction& tx, const Envelope& event) {
        const auto rows = tx.Exec(
            std::string("SELECT ") + kRowColumns +
                " FROM provider_payments WHERE payment_id = $1 FOR UPDATE",
            {event.aggregate_id}
        );
        if (rows.Empty()) {
            throw PermanentEventError(
                "capture requested for a payment the provider never authorized"
            );
        }
        Row row = ReadRow(rows, 0);
        if (row.status == "CAPTURED") {
            EmitCaptured(tx, row);
            return;
        }
        if (row.status != "AUTHORIZED") {
            log::Warn(
                "capture requested for a payment that is not authorized", {{"status", row.status}}
            );
            return;
        }
        const auto started = std::chrono::steady_clock::now();
        const CaptureOutcome outcome =
            psp_->Capture(row.authorization_key, "cap-" + row.payment_id);
        PspAnswer logged;
        logged.detail = outcome == CaptureOutcome::kCaptured ? "captured" : "not captured";
        RecordOp(
            tx,
            row,
            row.attempts,
            "CAPTURE",
            outcome == CaptureOutcome::kCaptured  ? "CAPTURED"
            : outcome == CaptureOutcome::kRefused ? "REFUSED"
                                                  : "TIMEOUT",
            started,
            ""
        );
        if (outcome == CaptureOutcome::kUnknown) {
            retries_.Increment();
            throw std::runtime_error("capture outcome unknown; retried with the same capture key");
        }
        if (outcome == CaptureOutcome::kRefused) {
            throw PermanentEventError("the PSP refused the capture of an authorized payment");
        }
        tx.ExecDeferred(
            "UPDATE provider_payments SET status = 'CAPTURED', updated_at = now() WHERE payment_id "
            "= $1",
            {row.payment_id}
        );
        EmitCaptured(tx, row);
    }

    /// Works through due retries until `stop`: one payment per transaction, SKIP LOCKED.
    void RunScheduler(std::stop_token stop) {
        std::unique_ptr<postgres::Connection> conn;
        while (!stop.stop_requested()) {
            try {
                if (!conn) {
                    conn = std::make_unique<postgres::Connection>(
                        postgres::Connection::Open(config_.DsnFor(kService))
                    );
                }
                const std::uint64_t seen = wakeups_.load();
                if (!RetryOneDue(*conn)) {
                    const auto next = conn->Exec(
                        "SELECT coalesce((extract(epoch FROM min(next_attempt_at) - now()) * "
                        "1000)::bigint, 200) "
                        "FROM provider_payments WHERE next_attempt_at IS NOT NULL"
                    );
                    const std::int64_t wait = std::clamp<std::int64_t>(next.GetInt(0, 0), 1, 200);
                    std::unique_lock lock(wake_mutex_);
                    wake_.wait_for(lock, stop, std::chrono::milliseconds(wait), [&] {
                        return wakeups_.load() != seen;
                    });
                }
            } catch (const std::exception& e) {
                log::Error("retry scheduler error", {{"error", e.what()}});
                conn.reset();
                WaitFor(stop, std::chrono::milliseconds(500));
            }
        }
    }

    postgres::Pool& Pool() { return pool_; }

    /// Tells idle workers that a payment became due.
    void Wake() {
        {
            const std::lock_guard lock(wake_mutex_);
            wakeups_.fetch_add(1);
        }
        wake_.notify_all();
    }

private:
    /// Claims up to kBatch due payments (SKIP LOCKED: workers never share one), works each, and
    /// commits once. A failure rolls the batch back; every PSP call in it is keyed, so redoing it
    /// returns the PSP's first answers. Returns false when nothing was due.
    bool RetryOneDue(postgres::Connection& conn) {
        constexpr int kBatch = 16;
        postgres::Transaction tx(conn);
        // First attempts before retries: a storm of timeouts never delays a new payment
        // (index ix_provider_payments_due_first serves this order).
        const auto rows = tx.Exec(
            std::string("SELECT ") + kRowColumns +
                " FROM provider_payments WHERE next_attempt_at <= now() AND next_attempt_at IS NOT "
                "NULL ORDER BY attempts > 0, next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED",
            {kBatch}
        );
        if (rows.Empty()) {
            return false;
        }
        for (int i = 0; i < rows.Size(); ++i) {
            Work(tx, ReadRow(rows, i));
        }
        tx.Commit();
        return true;
    }

    void Work(postgres::Transaction& tx, Row row) {
        const log::ScopedContext context(row.trace_id, "", row.payment_id);
        if (row.attempts == 0) {
            // The first attempt. Had a crash interrupted it after the call, sending it again under
            // the same idempotency key returns the PSP's first answer: never a second charge.
            const PspAnswer answer = psp_->Authorize(
                row.authorization_key,
                row.payment_id,
                row.customer_id,
                row.amount_cents,
                row.currency
            );
            row.attempts = 1;
            Record(tx, row, 1, "AUTHORIZE", answer);
            Act(tx, row, AfterAuthorize(1, answer.outcome, clock_.Now(), policy_), answer);
            return;
        }
        // Never a blind retry: first ask the PSP what became of the last attempt.
        const PspAnswer inquiry = psp_->Inquire(row.authorization_key);
        Record(tx, row, row.attempts, "INQUIRE", inquiry);
        Action action = AfterInquiry(row.attempts, inquiry.outcome, clock_.Now(), policy_);
        PspAnswer answer = inquiry;
        if (action.kind == ActionKind::kAuthorizeNow) {
            retries_.Increment();
            answer = psp_->Authorize(
                row.authorization_key,
                row.payment_id,
                row.customer_id,
                row.amount_cents,
                row.currency
            );
            row.attempts = action.attempt;
            Record(tx, row, row.attempts, "AUTHORIZE", answer);
            action = AfterAuthorize(row.attempts, answer.outcome, clock_.Now(), policy_);
        }
        Act(tx, row, action, answer);
    }

    void Act(
        postgres::Transaction& tx, const Row& row, const Action& action, const PspAnswer& answer
    ) {
        switch (action.kind) {
            case ActionKind::kAuthorized:
                tx.ExecDeferred(
                    "UPDATE provider_payments SET status = 'AUTHORIZED', authorization_id = $2, "
                    "attempts = $3, next_attempt_at = NULL, updated_at = now() WHERE payment_id = "
                    "$1",
                    {row.payment_id, answer.authorization_id, row.attempts}
                );
                postgres::AppendOutbox(
                    tx,
                    std::string(topics::kPaymentsAuthorized),
                    row.payment_id,
                    row.trace_id,
                    {{"attempt_number", row.attempts},
                     {"latency_ms", 0},
                     {"authorization_id", answer.authorization_id}},
                    clock_
                );
                return;
            case ActionKind::kDeclined:
                tx.ExecDeferred(
                    "UPDATE provider_payments SET status = 'DECLINED', attempts = $2, "
                    "next_attempt_at = NULL, "
                    "updated_at = now() WHERE payment_id = $1",
                    {row.payment_id, row.attempts}
                );
                EmitFailed(
                    tx,
                    row.payment_id,
                    row.trace_id,
                    row.customer_id,
                    row.attempts,
                    "PROVIDER_DECLINE"
                );
                return;
            case ActionKind::kRetryLater:
            case ActionKind::kAuthorizeNow:
                retries_.Increment();
                log::Warn("provider timeout", {{"attempt", std::to_string(row.attempts)}});
                tx.ExecDeferred(
                    "UPDATE provider_payments SET attempts = $2, next_attempt_at = "
                    "to_timestamp($3::float8), "
                    "updated_at = now() WHERE payment_id = $1",
                    {row.payment_id,
                     row.attempts,
                     std::to_string(std::chrono::duration<double>(
                                        (action.kind == ActionKind::kRetryLater ? action.at
                                                                                : clock_.Now())
                                            .time_since_epoch()
                     )
                                        .count())}
                );
                return;
            case ActionKind::kGiveUp: {
                // Release anything the PSP might still hold before telling the saga it failed.
                const auto started = std::chrono::steady_clock::now();
                const bool released = psp_->Void(row.authorization_key);
                RecordOp(
                    tx, row, row.attempts, "VOID", released ? "VOIDED" : "TIMEOUT", started, ""
                );
                if (!released) {
                    throw std::runtime_error("void at the PSP got no answer; will try again");
                }
                tx.ExecDeferred(
                    "UPDATE provider_payments SET status = 'TIMED_OUT', next_attempt_at = NULL, "
                    "updated_at = now() WHERE payment_id = $1",
                    {row.payment_id}
                );
                EmitFailed(
                    tx,
                    row.payment_id,
                    row.trace_id,
                    row.customer_id,
                    row.attempts,
                    "PROVIDER_TIMEOUT"
                );
                auto source = DecodeEnvelope(row.source_event);
                if (source) {
                    EnqueueDlq(tx, *source, "PROVIDER_TIMEOUT", "RETRY_EXHAUSTED", true);
                }
                return;
            }
        }
    }

    /// A repeated request for a payment the adapter already handles: answer with what it knows.
    void Redeliver(postgres::Transaction& tx, const Envelope& event) {
        const auto rows = tx.Exec(
            std::string("SELECT ") + kRowColumns +
                " FROM provider_payments WHERE payment_id = $1 FOR UPDATE",
            {event.aggregate_id}
        );
        const Row row = ReadRow(rows, 0);
        if (row.status == "AUTHORIZED" || row.status == "CAPTURED") {
            PspAnswer known;
            known.authorization_id = row.authorization_id;
            Act(tx, row, {ActionKind::kAuthorized, {}, row.attempts}, known);
        } else if (row.status == "DECLINED") {
            EmitFailed(
                tx, row.payment_id, row.trace_id, row.customer_id, row.attempts, "PROVIDER_DECLINE"
            );
        } else if (row.status == "TIMED_OUT" && event.payload.value("replay", false)) {
            log::Info("replayed authorization request: trying the PSP again");
            tx.ExecDeferred(
                "UPDATE provider_payments SET status = 'AUTHORIZING', attempts = 0, "
                "next_attempt_at = now(), "
                "updated_at = now() WHERE payment_id = $1",
                {row.payment_id}
            );
            AfterCommit([this] { Wake(); });
        } else if (row.status == "TIMED_OUT") {
            // The saga re-requested a payment that already timed out: tell it again.
            EmitFailed(
                tx, row.payment_id, row.trace_id, row.customer_id, row.attempts, "PROVIDER_TIMEOUT"
            );
        }
    }

    void Record(
        postgres::Transaction& tx,
        const Row& row,
        int attempt,
        const char* op,
        const PspAnswer& answer
    ) {
        tx.ExecDeferred(
            "INSERT INTO provider_attempts (payment_id, attempt_number, operation, result, "
            "latency_ms, error_code) "
            "VALUES ($1, $2, $3, $4, 0, $5)",
            {row.payment_id,
             attempt,
             op,
             std::string(ToString(answer.outcome)),
             answer.outcome == PspOutcome::kDeclined  ? postgres::Param("PROVIDER_DECLINE")
             : answer.outcome == PspOutcome::kUnknown ? postgres::Param("PROVIDER_TIMEOUT")
                                                      : postgres::Param(std::nullopt)}
        );
    }

    void
    RecordOp(postgres::Transaction& tx, const Row& row, int attempt, const char* op, const char* result, std::chrono::steady_clock::time_point started, const std::string&) {
        const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::steady_clock::now() - started
        )
                            .count();
        tx.ExecDeferred(
            "INSERT INTO provider_attempts (payment_id, attempt_number, operation, result, "
            "latency_ms) "
            "VALUES ($1, $2, $3, $4, $5)",
            {row.payment_id, attempt, op, result, static_cast<std::int64_t>(ms)}
        );
    }

    void EmitFailed(
        postgres::Transaction& tx,
        const std::string& payment_id,
        const std::string& trace,
        const std::string& customer,
        int attempts,
        const char* code
    ) {
        postgres::AppendOutbox(
            tx,
            std::string(topics::kPaymentsFailed),
            payment_id,
            trace,
            {{"attempt_number", attempts},
             {"latency_ms", 0},
             {"error_code", code},
             {"customer_id", customer}},
            clock_
        );
    }

    void EmitCaptured(postgres::Transaction& tx, const Row& row) {
        postgres::AppendOutbox(
            tx,
            std::string(topics::kProviderCaptureCompleted),
            row.payment_id,
            row.trace_id,
            {{"authorization_id", row.authorization_id},
             {"amount_cents", row.amount_cents},
             {"currency", row.currency}},
            clock_
        );
    }

    void EnqueueDlq(
        postgres::Transaction& tx,
        const Envelope& source,
        const std::string& reason,
        const char* error_type,
        bool retryable
    ) {
        nlohmann::json payload = {
            {"reason", reason},
            {"error_type", error_type},
            {"retryable", retryable},
            {"source", "provider-adapter"},
            {"source_event_id", source.event_id},
        };
        if (retryable) {
            payload["replay_topic"] = std::string(topics::kProviderAuthorizeRequested);
            payload["failed_event"] = nlohmann::json::parse(EncodeEnvelope(source));
        }
        postgres::AppendOutbox(
            tx,
            std::string(topics::kPaymentsDlq),
            source.aggregate_id,
            source.trace_id,
            payload,
            clock_
        );
        const std::string service = config_.service_name;
        const std::string type = error_type;
        AfterCommit([service, type] {
            metrics::Get()
                .dlq_published_total
                .Add({{"service", service}, {"topic", "payments.dlq"}, {"error_type", type}})
                .Increment();
        });
    }

    const Config& config_;
    postgres::Pool pool_;
    std::unique_ptr<PspClient> psp_;
    RetryPolicy policy_;
    prometheus::Counter& retries_;
    SystemClock clock_;
    std::mutex wake_mutex_;
    std::condition_variable_any wake_;
    std::atomic<std::uint64_t> wakeups_{0};
};

}  // namespace

int RunProvider(const Config& config) {
    auto bus = PrepareService(config, kService, ProviderMigrations());
    Provider provider(config);
    ServiceHost host(config, kService, config.PortFor(kService));
    AddStandardHealthChecks(host, config, &provider.Pool());
    host.AddConsumer(
        *bus,
        std::string(topics::kProviderAuthorizeRequested),
        "provider-authorize-requested",
        [&provider](postgres::Transaction& tx, const Envelope& e) {
            provider.OnAuthorizeRequested(tx, e);
        }
    );
    host.AddConsumer(
        *bus,
        std::string(topics::kProviderCaptureRequested),
        "provider-capture-requested",
        [&provider](postgres::Transaction& tx, const Envelope& e) {
            provider.OnCaptureRequested(tx, e);
        }
    );
    host.AddOutboxRelay(*bus);
    const char* workers_env = std::getenv("PROVIDER_WORKERS");
    const int workers = workers_env != nullptr && *workers_env != '\0' ? std::atoi(workers_env) : 4;
    if (workers < 1 || workers > 64) {
        throw std::runtime_error("PROVIDER_WORKERS must be from 1 to 64");
    }
    for (int i = 0; i < workers; ++i) {
        host.AddWorker("psp worker", [&provider](std::stop_token stop) {
            provider.RunScheduler(std::move(stop));
        });
    }
    return host.Run();
}

}  // namespace sagapay::provider
