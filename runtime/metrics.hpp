#pragma once

#include <memory>
#include <string>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

namespace sagapay::metrics {

/// The seed's metric families (same names and labels) plus SagaPay's own, in one registry per
/// process. Family::Add is thread-safe and returns a stable reference; hot paths keep it.
struct Families {
    prometheus::Family<prometheus::Counter>& payment_requests_total;
    prometheus::Family<prometheus::Counter>& payment_success_total;
    prometheus::Family<prometheus::Counter>& payment_failure_total;
    prometheus::Family<prometheus::Histogram>& payment_latency_seconds;
    prometheus::Family<prometheus::Counter>& http_requests_total;
    prometheus::Family<prometheus::Histogram>& http_request_duration_seconds;
    prometheus::Family<prometheus::Histogram>& payment_e2e_seconds;
    prometheus::Family<prometheus::Histogram>& event_queue_delay_seconds;
    prometheus::Family<prometheus::Gauge>& outbox_pending_total;
    prometheus::Family<prometheus::Gauge>& outbox_oldest_pending_age_seconds;
    prometheus::Family<prometheus::Counter>& retries_total;
    prometheus::Family<prometheus::Counter>& dlq_published_total;
    prometheus::Family<prometheus::Counter>& duplicate_events_skipped_total;
    prometheus::Family<prometheus::Counter>& events_handled_total;
    prometheus::Family<prometheus::Counter>& events_dead_lettered_total;
    prometheus::Family<prometheus::Counter>& handler_errors_total;
    prometheus::Family<prometheus::Counter>& stale_events_total;
    prometheus::Family<prometheus::Counter>& outbox_published_total;
    prometheus::Family<prometheus::Gauge>& stuck_payments;
    /// The seed's name (a counter it never updated): messages of a topic its consumer group has
    /// not acked yet, whole group, {service, topic, group}; on both buses.
    prometheus::Family<prometheus::Gauge>& kafka_consumer_lag;
    /// One saga step: from the event that asked for it (its occurred_at) to the commit of its
    /// handling, {service, topic}; queueing included, so a slow hop shows wherever it waits.
    prometheus::Family<prometheus::Histogram>& saga_step_seconds;
    /// PSP calls, {service, operation, outcome}: outcome is ok, declined, refused, timeout, error.
    prometheus::Family<prometheus::Counter>& psp_requests_total;
    prometheus::Family<prometheus::Histogram>& psp_request_duration_seconds;
    /// What the ledger's periodic self-check found wrong, {service, check}: 0 when clean.
    prometheus::Family<prometheus::Gauge>& reconciliation_mismatches;
    /// Spans handed to the OTLP exporter and what became of them, {service}; dropped also by
    /// {reason}: queue_full (the bounded queue was full) or export_failed (the collector refused
    /// or did not answer).
    prometheus::Family<prometheus::Counter>& otel_spans_exported_total;
    prometheus::Family<prometheus::Counter>& otel_spans_dropped_total;
    /// Admission control (services/orchestrator/admission_gate.hpp), {service}: the payments in
    /// flight as the orchestrator estimates them, its limit, the POSTs that waited for room and
    /// how long, and those refused (503) after waiting their longest.
    prometheus::Family<prometheus::Gauge>& payments_in_flight;
    prometheus::Family<prometheus::Gauge>& payments_in_flight_limit;
    prometheus::Family<prometheus::Histogram>& admission_wait_seconds;
    prometheus::Family<prometheus::Counter>& admission_refused_total;
};

[[nodiscard]] prometheus::Registry& Registry();
[[nodiscard]] Families& Get();

/// Latency buckets from 0.25 ms to 10 s: SagaPay's hops are sub-millisecond, the seed's were not.
[[nodiscard]] const prometheus::Histogram::BucketBoundaries& LatencyBuckets();

/// The registry in Prometheus text format.
[[nodiscard]] std::string Serialize();

}  // namespace sagapay::metrics
