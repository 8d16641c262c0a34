#include "runtime/event_consumer.hpp"

#include <algorithm>
#include <optional>
#include <unordered_map>

#include <unistd.h>

#include "adapters/postgres/messaging.hpp"
#include "runtime/log.hpp"
#include "runtime/metrics.hpp"
#include "runtime/tracing.hpp"
#include "runtime/wait.hpp"

namespace sagapay {

namespace {

struct Counters {
    prometheus::Counter& handled;
    prometheus::Counter& duplicates;
    prometheus::Counter& errors;
    prometheus::Counter& dead_lettered;
    prometheus::Histogram& queue_delay;
    prometheus::Gauge& lag;
    prometheus::Histogram& step;
};

Counters MakeCounters(const ConsumerOptions& o) {
    auto& m = metrics::Get();
    const std::map<std::string, std::string> labels = {{"service", o.service}, {"topic", o.topic}};
    return Counters{
        m.events_handled_total.Add(labels),
        m.duplicate_events_skipped_total.Add(labels),
        m.handler_errors_total.Add(labels),
        m.events_dead_lettered_total.Add(labels),
        m.event_queue_delay_seconds.Add(labels, metrics::LatencyBuckets()),
        m.kafka_consumer_lag.Add({{"service", o.service}, {"topic", o.topic}, {"group", o.group}}),
        m.saga_step_seconds.Add(labels, metrics::LatencyBuckets()),
    };
}

struct Item {
    Delivery delivery;
    Envelope envelope;
};

/// The consumer span of one event: continues the trace of the span that emitted it (its
/// `traceparent`), else the trace of its seed `trace_id`.
void DescribeConsumerSpan(
    tracing::Span& span, const ConsumerOptions& options, const Envelope& envelope
) {
    span.SetAttribute("messaging.operation.type", std::string("process"));
    span.SetAttribute("messaging.destination.name", options.topic);
    span.SetAttribute("messaging.consumer.group.name", options.group);
    span.SetAttribute("messaging.message.id", envelope.event_id);
    span.SetAttribute("payment.id", envelope.aggregate_id);
}

std::optional<TraceContext> ParentOf(const Envelope& envelope) {
    return ContinueTrace(envelope.traceparent, envelope.tracestate, envelope.trace_id);
}

/// Runs the handler for an event whose inbox row is written (one of a batch sharing `tx`), with
/// its log context and its consumer span.
void RunHandler(
    postgres::Transaction& tx,
    const ConsumerOptions& options,
    const EventHandler& handler,
    const Envelope& envelope,
    std::size_t batch_size
) {
    const log::ScopedContext context(envelope.trace_id, envelope.event_id, envelope.aggregate_id);
    tracing::Span span(
        options.topic + " process", tracing::SpanKind::kConsumer, ParentOf(envelope)
    );
    DescribeConsumerSpan(span, options, envelope);
    span.SetAttribute("messaging.batch.message_count", static_cast<std::int64_t>(batch_size));
    handler(tx, envelope);
}

/// Runs inbox + handler for one event inside `tx`. Returns false for a duplicate.
bool Apply(
    postgres::Transaction& tx,
    const ConsumerOptions& options,
    const EventHandler& handler,
    const Envelope& envelope
) {
    const log::ScopedContext context(envelope.trace_id, envelope.event_id, envelope.aggregate_id);
    if (!postgres::RecordInbox(tx, envelope.event_id, options.service)) {
        log::Debug("duplicate event skipped", {{"topic", options.topic}});
        return false;
    }
    handler(tx, envelope);
    return true;
}

void Backoff(const std::stop_token& stop, int attempt) {
    WaitFor(stop, std::chrono::milliseconds(std::min(2000, 25 << std::min(attempt, 7))));
}

class Worker {
public:
    Worker(
        std::stop_token stop,
        EventBus& bus,
        const ConsumerOptions& options,
        const EventHandler& handler
    )
        : stop_(std::move(stop)),
          bus_(bus),
          options_(options),
          handler_(handler),
          counters_(MakeCounters(options)) {}

    void Run() {
        int failures = 0;
        while (!stop_.stop_requested()) {
            try {
                EnsureReady();
                PollOnce();
                MaybeReportLag();
                failures = 0;
            } catch (const std::exception& e) {
                ++failures;
                log::Error(
                    "consumer_loop_error",
                    {{"topic", options_.topic}, {"group", options_.group}, {"error", e.what()}}
                );
                if (conn_ && !conn_->IsHealthy()) {
                    conn_.reset();
                }
                subscription_.reset();
                Backoff(stop_, failures);
            }
        }
    }

private:
    void EnsureReady() {
        if (!conn_) {
            conn_ =
                std::make_unique<postgres::Connection>(postgres::Connection::Open(options_.dsn));
        }
        if (!subscription_) {
            SubscriptionOptions sub;
            sub.topic = options_.topic;
            sub.group = options_.group;
            char host[64] = {};
            gethostname(host, sizeof(host) - 1);
            sub.consumer = options_.service + "-" + host + "-" + std::to_string(getpid()) + "-" +
                           std::to_string(reinterpret_cast<std::uintptr_t>(this) % 100000);
            sub.visibility_timeout = options_.visibility_timeout;
            auto created = bus_.Subscribe(sub);
            if (!created) {
                throw std::runtime_error("subscribe failed: " + created.error().message);
            }
            subscription_ = std::move(*created);
        }
    }

    /// kafka_consumer_lag, at most every kLagInterval: a failed read keeps the last value (the
    /// next poll reports the outage if there is one).
    void MaybeReportLag() {
        constexpr auto kLagInterval = std::chrono::seconds(5);
        const auto now = std::chrono::steady_clock::now();
        if (now - last_lag_report_ < kLagInterval) {
            return;
        }
        last_lag_report_ = now;
        if (const auto lag = subscription_->GroupLag()) {
            counters_.lag.Set(static_cast<double>(*lag));
        } else {
            log::Debug(
                "consumer lag unavailable",
                {{"topic", options_.topic}, {"error", lag.error().message}}
            );
        }
    }

    void PollOnce() {
        auto polled = subscription_->Poll(options_.batch, options_.poll_wait);
        if (!polled) {
            throw std::runtime_error("poll failed: " + polled.error().message);
        }
        if (polled->empty()) {
            return;
        }
        std::vector<Item> items;
        items.reserve(polled->size());
        const auto now = Now();
        for (auto& delivery : *polled) {
            auto envelope = DecodeEnvelope(delivery.value);
            if (!envelope) {
                Park(delivery, "malformed envelope: " + envelope.error().message);
                continue;
            }
            const auto failed = failures_.find(envelope->event_id);
            if (failed != failures_.end() && now < failed->second.not_before) {
                // Backing off: left pending, handed out again after the visibility timeout.
                continue;
            }
            if (failed == failures_.end() && delivery.delivery_count > options_.max_deliveries) {
                Park(
                    delivery,
                    "delivered " + std::to_string(delivery.delivery_count) +
                        " times without an outcome (consumer crashed or restarted each time)",
                    &*envelope
                );
                continue;
            }
            if (const auto occurred = ParseIsoUtc(envelope->occurred_at)) {
                counters_.queue_delay.Observe(
                    std::max(0.0, std::chrono::duration<double>(now - *occurred).count())
                );
            }
            items.push_back(Item{std::move(delivery), std::move(*envelope)});
        }
        // One lock order for every batch: no deadlock between consumers of different topics.
        if (options_.order == HandlingOrder::kByPaymentId) {
            std::stable_sort(items.begin(), items.end(), [](const Item& a, const Item& b) {
                return a.envelope.aggregate_id < b.envelope.aggregate_id;
            });
        }
        if (items.empty()) {
            return;
        }
        if (options_.batch_mode == BatchMode::kOneTransaction && items.size() > 1 &&
            TryBatch(items)) {
            return;
        }
        for (auto& item : items) {
            HandleAlone(item);
        }
    }

    /// saga_step_seconds of an event whose handling just committed.
    void ObserveStep(const Envelope& envelope) {
        if (const auto occurred = ParseIsoUtc(envelope.occurred_at)) {
            counters_.step.Observe(
                std::max(0.0, std::chrono::duration<double>(Now() - *occurred).count())
            );
        }
    }

    bool TryBatch(const std::vector<Item>& items) {
        std::int64_t duplicates = 0;
        std::vector<bool> fresh;
        try {
            postgres::Transaction tx(*conn_);
            // One inbox statement for the whole batch, then the handlers of the new events.
            std::vector<std::string> ids;
            ids.reserve(items.size());
            for (const auto& item : items) {
                ids.push_back(item.envelope.event_id);
            }
            fresh = postgres::RecordInboxBatch(tx, ids, options_.service);
            if (options_.prelude) {
                std::vector<const Envelope*> events;
                events.reserve(items.size());
                for (std::size_t i = 0; i < items.size(); ++i) {
                    if (fresh[i]) {
                        events.push_back(&items[i].envelope);
                    }
                }
                if (!events.empty()) {
                    options_.prelude(tx, events);
                }
            }
            for (std::size_t i = 0; i < items.size(); ++i) {
                if (fresh[i]) {
                    RunHandler(tx, options_, handler_, items[i].envelope, items.size());
                } else {
                    ++duplicates;
                }
            }
            tx.Commit();
        } catch (const std::exception& e) {
            if (!conn_->IsHealthy()) {
                throw;
            }
            log::Debug("batch failed, retrying events one by one", {{"error", e.what()}});
            return false;
        }
        std::vector<Delivery> done;
        done.reserve(items.size());
        for (std::size_t i = 0; i < items.size(); ++i) {
            done.push_back(items[i].delivery);
            failures_.erase(items[i].envelope.event_id);
            if (fresh[i]) {
                ObserveStep(items[i].envelope);
            }
        }
        AckOrThrow(done);
        counters_.handled.Increment(
            static_cast<double>(items.size()) - static_cast<double>(duplicates)
        );
        counters_.duplicates.Increment(static_cast<double>(duplicates));
        return true;
    }

    void HandleAlone(const Item& item) {
        constexpr int kImmediateAttempts = 3;
        for (int attempt = 0; attempt < kImmediateAttempts; ++attempt) {
            ErrorCode code = ErrorCode::kInternal;
            std::string error;
            tracing::Span span(
                options_.topic + " process", tracing::SpanKind::kConsumer, ParentOf(item.envelope)
            );
            DescribeConsumerSpan(span, options_, item.envelope);
            try {
                bool fresh = false;
                {
                    tracing::Span transaction("postgresql transaction", tracing::SpanKind::kClient);
                    transaction.SetAttribute("db.system", std::string("postgresql"));
                    postgres::Transaction tx(*conn_);
                    fresh = Apply(tx, options_, handler_, item.envelope);
                    tx.Commit();  // runs the transaction's after-commit hooks
                }
                if (!fresh) {
                    span.SetAttribute("messaging.duplicate", std::string("true"));
                }
                (fresh ? counters_.handled : counters_.duplicates).Increment();
                if (fresh) {
                    ObserveStep(item.envelope);
                }
                failures_.erase(item.envelope.event_id);
                AckOrThrow({&item.delivery, 1});
                return;
            } catch (const Exception& e) {
                code = e.Code();
                error = e.what();
            } catch (const std::exception& e) {
                error = e.what();
            }
            counters_.errors.Increment();
            span.SetError(error.substr(0, 200));
            const FailureAction action = ActionForFailure(code);
            if (action == FailureAction::kDeadLetterNow) {
                Park(item.delivery, "not processable: " + error, &item.envelope);
                return;
            }
            const bool last_attempt =
                action != FailureAction::kRetryNow || attempt + 1 == kImmediateAttempts;
            if (!conn_->IsHealthy()) {
                if (RecordFailure(item, error)) {
                    return;
                }
                throw std::runtime_error("database connection lost: " + error);
            }
            if (last_attempt) {
                (void)RecordFailure(item, error);
                return;
            }
        }
    }

    /// Records a failed try of an event left for redelivery and sets when it may run again;
    /// parks it instead when it has been failing for longer than the park horizon. Returns true
    /// when it was parked.
    bool RecordFailure(const Item& item, const std::string& error) {
        const log::ScopedContext context(
            item.envelope.trace_id, item.envelope.event_id, item.envelope.aggregate_id
        );
        const auto now = Now();
        if (failures_.size() > 10'000 && !failures_.contains(item.envelope.event_id)) {
            failures_.clear();  // bounded memory; a forgotten event starts its horizon again
        }
        auto [it, added] = failures_.try_emplace(item.envelope.event_id);
        Failure& failure = it->second;
        if (added) {
            failure.first = now;
        }
        ++failure.count;
        failure.last_error = error;
        if (options_.redelivery.ParkNow(failure.first, now)) {
            const auto seconds =
                std::chrono::duration_cast<std::chrono::seconds>(now - failure.first).count();
            const std::string reason = "failed " + std::to_string(failure.count) + " times over " +
                                       std::to_string(seconds) + " s; last error: " + error;
            failures_.erase(it);
            Park(item.delivery, reason, &item.envelope);
            return true;
        }
        const auto delay = options_.redelivery.DelayAfter(failure.count);
        failure.not_before = now + delay;
        log::Warn(
            "handler_error",
            {{"topic", options_.topic},
             {"group", options_.group},
             {"error", error},
             {"failures", std::to_string(failure.count)},
             {"retry_in_ms", std::to_string(delay.count())}}
        );
        return false;
    }

    [[nodiscard]] Clock::TimePoint Now() const {
        return options_.clock != nullptr ? options_.clock->Now() : std::chrono::system_clock::now();
    }

    void Park(
        const Delivery& delivery, const std::string& reason, const Envelope* envelope = nullptr
    ) {
        const log::ScopedContext context(
            envelope != nullptr ? envelope->trace_id : std::string(),
            envelope != nullptr ? envelope->event_id : std::string(),
            envelope != nullptr ? envelope->aggregate_id : delivery.key
        );
        log::Error(
            "event dead-lettered",
            {{"topic", options_.topic}, {"position", delivery.position}, {"reason", reason}}
        );
        auto parked = subscription_->DeadLetter(delivery, reason);
        if (!parked) {
            throw std::runtime_error("dead-letter failed: " + parked.error().message);
        }
        counters_.dead_lettered.Increment();
    }

    void AckOrThrow(std::span<const Delivery> deliveries) {
        auto acked = subscription_->Ack(deliveries);
        if (!acked) {
            // Committed but not acked: redelivery is skipped by the inbox.
            throw std::runtime_error("ack failed: " + acked.error().message);
        }
    }

    std::stop_token stop_;
    EventBus& bus_;
    const ConsumerOptions& options_;
    const EventHandler& handler_;
    Counters counters_;
    std::chrono::steady_clock::time_point last_lag_report_{};
    std::unique_ptr<postgres::Connection> conn_;
    std::unique_ptr<EventSubscription> subscription_;
    /// Events of this consumer whose handling failed and that wait for redelivery, by event id.
    struct Failure {
        Clock::TimePoint first;
        Clock::TimePoint not_before;
        std::int64_t count = 0;
        std::string last_error;
    };
    std::unordered_map<std::string, Failure> failures_;
};

}  // namespace

std::chrono::milliseconds RedeliveryPolicy::DelayAfter(std::int64_t failures) const noexcept {
    std::chrono::milliseconds delay = initial_delay;
    for (std::int64_t i = 1; i < failures && delay < max_delay; ++i) {
        delay *= 2;
    }
    return std::min(delay, max_delay);
}

bool RedeliveryPolicy::ParkNow(
    std::chrono::system_clock::time_point first_failure, std::chrono::system_clock::time_point now
) const noexcept {
    return now - first_failure >= park_after;
}

FailureAction ActionForFailure(ErrorCode code) noexcept {
    if (IsRetryable(code)) {
        return FailureAction::kRetryNow;
    }
    switch (code) {
        case ErrorCode::kInvalidArgument:
        case ErrorCode::kFailedPrecondition:
        case ErrorCode::kNotFound:
            return FailureAction::kDeadLetterNow;
        default:
            return FailureAction::kRedeliverLater;
    }
}

void RunEventConsumer(
    std::stop_token stop, EventBus& bus, const ConsumerOptions& options, const EventHandler& handler
) {
    Worker(std::move(stop), bus, options, handler).Run();
}

}  // namespace sagapay
