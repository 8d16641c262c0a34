#include "runtime/metrics.hpp"

#include <prometheus/text_serializer.h>

namespace sagapay::metrics {

prometheus::Registry& Registry() {
    static prometheus::Registry registry;
    return registry;
}

const prometheus::Histogram::BucketBoundaries& LatencyBuckets() {
    static const prometheus::Histogram::BucketBoundaries kBuckets = {
        0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
    return kBuckets;
}

namespace {

template <class Builder>
auto& Build(Builder builder, const char* name, const char* help) {
    return builder.Name(name).Help(help).Register(Registry());
}

}  // namespace

Families& Get() {
    static Families families{
        Build(prometheus::BuildCounter(), "payment_requests_total", "Payment create requests"),
        Build(prometheus::BuildCounter(), "payment_success_total", "Payments settled"),
        Build(prometheus::BuildCounter(), "payment_failure_total", "Payments failed or reversed"),
        Build(prometheus::BuildHistogram(), "payment_latency_seconds", "Payment create latency"),
        Build(prometheus::BuildCounter(), "http_requests_total", "HTTP requests"),
        Build(prometheus::BuildHistogram(), "http_request_duration_seconds", "HTTP latency"),
        Build(prometheus::BuildHistogram(), "payment_e2e_seconds", "Create to terminal state"),
        Build(prometheus::BuildHistogram(), "event_queue_delay_seconds", "Event age at consume"),
        Build(prometheus::BuildGauge(), "outbox_pending_total", "Outbox rows not yet sent"),
        Build(
            prometheus::BuildGauge(),
            "outbox_oldest_pending_age_seconds",
            "Age of the oldest unsent outbox row"
        ),
        Build(prometheus::BuildCounter(), "retries_total", "Retries of a dependency call"),
        Build(prometheus::BuildCounter(), "dlq_published_total", "Messages sent to payments.dlq"),
        Build(
            prometheus::BuildCounter(),
            "duplicate_events_skipped_total",
            "Events skipped because the inbox had them"
        ),
        Build(prometheus::BuildCounter(), "events_handled_total", "Events handled and committed"),
        Build(
            prometheus::BuildCounter(),
            "events_dead_lettered_total",
            "Bus messages parked in the dead-letter stream"
        ),
        Build(prometheus::BuildCounter(), "handler_errors_total", "Event handler failures"),
        Build(
            prometheus::BuildCounter(),
            "stale_events_total",
            "Events acknowledged without effect: they did not fit the payment's state"
        ),
        Build(prometheus::BuildCounter(), "outbox_published_total", "Outbox rows published"),
        Build(prometheus::BuildGauge(), "stuck_payments", "Payments without progress, by state"),
        Build(
            prometheus::BuildGauge(),
            "kafka_consumer_lag",
            "Messages of the topic the consumer group has not acked yet (both buses)"
        ),
        Build(
            prometheus::BuildHistogram(),
            "saga_step_seconds",
            "From the event that asked for a saga step to the commit of its handling"
        ),
        Build(
            prometheus::BuildCounter(), "psp_requests_total", "PSP calls by operation and outcome"
        ),
        Build(
            prometheus::BuildHistogram(),
            "psp_request_duration_seconds",
            "PSP call latency, timeouts included"
        ),
        Build(
            prometheus::BuildGauge(),
            "reconciliation_mismatches",
            "Mismatches the last reconciliation self-check found, by check"
        ),
        Build(
            prometheus::BuildCounter(),
            "otel_spans_exported_total",
            "Spans the OTLP exporter delivered to the collector"
        ),
        Build(
            prometheus::BuildCounter(),
            "otel_spans_dropped_total",
            "Spans the OTLP exporter dropped, by reason (queue_full, export_failed)"
        ),
        Build(
            prometheus::BuildGauge(),
            "payments_in_flight",
            "Payments created and not yet final (RISK_REVIEW excepted), as admission control "
            "estimates them"
        ),
        Build(
            prometheus::BuildGauge(),
            "payments_in_flight_limit",
            "MAX_PAYMENTS_IN_FLIGHT: above it a POST waits, then is refused (0: no limit)"
        ),
        Build(
            prometheus::BuildHistogram(),
            "admission_wait_seconds",
            "How long POSTs that found no room waited for it (admitted or refused)"
        ),
        Build(
            prometheus::BuildCounter(),
            "admission_refused_total",
            "POSTs refused with 503 overloaded after waiting ADMISSION_MAX_WAIT_MS"
        ),
    };
    return families;
}

std::string Serialize() {
    return prometheus::TextSerializer().Serialize(Registry().Collect());
}

}  // namespace sagapay::metrics
