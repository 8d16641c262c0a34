#pragma once

#include <chrono>
#include <stop_token>
#include <string>

#include "core/ports/event_bus.hpp"

namespace sagapay {

struct RelayOptions {
    std::string service;  ///< Metrics label.
    std::string dsn;
    int batch = 500;
    /// PROCESSING rows (claims written by versions before migration 0004) count as abandoned
    /// after this.
    std::chrono::milliseconds reclaim_after{std::chrono::seconds(30)};
    std::chrono::milliseconds poll_fallback{1000};  ///< Poll this often if a wake-up is missed.
    /// SENT rows are kept until every consumer group of their topic acked them, and at most this
    /// long (OUTBOX_RETENTION_SECONDS).
    std::chrono::seconds retention{std::chrono::hours(24 * 7)};
    /// Inbox rows are deleted after this (INBOX_RETENTION_SECONDS): longer than any redelivery,
    /// i.e. than `retention` (a kept row can be re-published until then) and BUS_PARK_AFTER_MS.
    std::chrono::seconds inbox_retention{std::chrono::hours(24 * 14)};
    /// Entries of streams no consumer group reads (the `deadletter` and `payments.dlq` streams)
    /// are deleted after this (BUS_DLQ_RETENTION_SECONDS).
    std::chrono::seconds dlq_retention{std::chrono::hours(24 * 30)};
    /// How often the relay checks its topics for a Redis data loss, trims the streams and purges
    /// consumed outbox rows (BUS_TRIM_INTERVAL_MS).
    std::chrono::milliseconds maintenance_interval{std::chrono::seconds(30)};
    /// The stream parked messages go to (RedisStreamsEventBus::DeadLetterStream without the
    /// prefix), bounded by dlq_retention.
    std::string dead_letter_topic = "deadletter";
};

/// Moves committed outbox rows to the bus until `stop` is requested. Woken in-process the moment a
/// transaction of this process that appended outbox rows commits (and by NOTIFY sagapay_outbox
/// from writers elsewhere); polls every `poll_fallback` in case a wake-up was missed. Per round,
/// in one transaction: lock up to `batch` unsent rows (FOR UPDATE SKIP LOCKED), publish them in
/// one bus call, mark them sent, commit; a full batch loops at once. A crash between publish and
/// commit leaves the rows pending and they are published again at once (consumers deduplicate by
/// event id).
///
/// The outbox stays the source of truth until consumption: each SENT row records the bus
/// position it got, and is kept until every consumer group of its topic has acked past it (then
/// purged, at most `retention` after sending). At start, after any error (a Redis restart breaks
/// the connection) and every `maintenance_interval`, the relay compares each topic's stream with
/// the highest position recorded for it: when the stream is gone or ends before that position,
/// Redis lost data, and the relay re-publishes, in order, every kept row after the stream's end.
/// The same round trims each stream to what all its groups have acked (never a pending or
/// undelivered entry), trims streams without a group by age (`dlq_retention`), and purges inbox
/// rows older than `inbox_retention`.
///
/// On a bus that reports no consumer-group progress (EventPublisher::Progress answers
/// kFailedPrecondition: Kafka, which keeps its own replicated copies under the broker's
/// retention) there is nothing to recover or trim: SENT rows are purged after 10 minutes (or
/// `retention` when shorter).
void RunOutboxRelay(std::stop_token stop, EventBus& bus, const RelayOptions& options);

}  // namespace sagapay
