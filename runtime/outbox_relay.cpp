#include "runtime/outbox_relay.hpp"

#include <algorithm>
#include <set>
#include <span>

#include "adapters/postgres/connection.hpp"
#include "adapters/postgres/messaging.hpp"
#include "runtime/log.hpp"
#include "runtime/metrics.hpp"
#include "runtime/wait.hpp"

namespace sagapay {

namespace {

/// How long SENT rows stay on a bus that reports no consumer progress (Kafka): the broker holds
/// the events replicated; the rows stay a while for inspection only.
constexpr std::chrono::seconds kSentRetentionUntracked{std::chrono::minutes(10)};

class Relay {
public:
    Relay(std::stop_token stop, EventBus& bus, const RelayOptions& options)
        : stop_(std::move(stop)),
          bus_(bus),
          options_(options),
          pending_(metrics::Get().outbox_pending_total.Add({{"service", options.service}})),
          oldest_(
              metrics::Get().outbox_oldest_pending_age_seconds.Add({{"service", options.service}})
          ),
          published_(metrics::Get().outbox_published_total.Add({{"service", options.service}})) {}

    void Run() {
        int failures = 0;
        bool claim_due = true;  // rows from before the feed existed, from elsewhere, or a crash
        while (!stop_.stop_requested()) {
            try {
                EnsureReady();
                if (recover_due_) {
                    // At start and after an error (a Redis restart breaks the connection): before
                    // anything new is published, put back what the bus may have lost.
                    Recover();
                    recover_due_ = false;
                }
                bool busy = RelayFed();
                if (claim_due) {
                    claim_due = RelayOnce();  // loops while batches are full
                    busy = busy || claim_due;
                }
                failures = 0;
                MaybeHousekeep();
                if (!busy) {
                    WaitForWork();
                    // Woken without fed rows: a NOTIFY, the poll fallback or a stop request. A
                    // relay kept busy by its feed still claims every poll_fallback.
                    claim_due =
                        !feed_->HasRows() ||
                        std::chrono::steady_clock::now() - last_claim_ >= options_.poll_fallback;
                }
            } catch (const std::exception& e) {
                ++failures;
                log::Error("outbox relay error", {{"error", e.what()}});
                conn_.reset();
                publisher_.reset();
                claim_due = true;  // fed rows that failed are still PENDING in the database
                recover_due_ = true;
                WaitFor(
                    stop_, std::chrono::milliseconds(std::min(2000, 25 << std::min(failures, 7)))
                );
            }
        }
    }

private:
    void EnsureReady() {
        if (!conn_) {
            conn_ =
                std::make_unique<postgres::Connection>(postgres::Connection::Open(options_.dsn));
            conn_->Listen(postgres::kOutboxChannel);
            // The relay's own write (mark sent) needs no flush before it goes on: if the server
            // loses it in a crash, the rows are published again and inboxes drop the duplicates.
            // This takes a WAL flush off every hop.
            conn_->ExecScript("SET synchronous_commit = off");
        }
        if (!feed_) {
            // Registered before the first claim round: a row committed from now on is fed (and
            // at worst also claimed once, a duplicate the inboxes drop).
            feed_ = std::make_unique<postgres::OutboxFeed>(postgres::DatabaseKey(*conn_));
        }
        if (!publisher_) {
            auto created = bus_.CreatePublisher();
            if (!created) {
                throw std::runtime_error("cannot create publisher: " + created.error().message);
            }
            publisher_ = std::move(*created);
        }
    }

    /// Sleeps until a commit of this process appended outbox rows (in-process wake-up), a NOTIFY
    /// from a writer elsewhere, the poll fallback, or a stop request (checked every 200 ms so
    /// shutdown never waits for the fallback).
    void WaitForWork() {
        const auto until = std::chrono::steady_clock::now() + options_.poll_fallback;
        while (!stop_.stop_requested()) {
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                until - std::chrono::steady_clock::now()
            );
            if (left.count() <= 0 || conn_->WaitForNotification(
                                         std::min(left, std::chrono::milliseconds(200)), feed_->Fd()
                                     )) {
                return;
            }
        }
    }

    /// Publishes the rows in one bus call and sets the position each got; throws when the bus
    /// refuses them (they stay PENDING in the database and a later round publishes them).
    void Publish(std::span<postgres::ClaimedEvent> rows) {
        std::vector<OutgoingMessage> batch;
        batch.reserve(rows.size());
        for (const auto& row : rows) {
            batch.push_back(OutgoingMessage{row.topic, row.aggregate_id, row.envelope_json});
        }
        auto published = publisher_->Publish(batch);
        if (!published) {
            throw std::runtime_error(
                "outbox relay: bus refused a batch of " + std::to_string(batch.size()) +
                " (rows left pending): " + published.error().message
            );
        }
        if (published->size() != rows.size()) {
            throw std::runtime_error("outbox relay: the bus returned fewer positions than rows");
        }
        for (std::size_t i = 0; i < rows.size(); ++i) {
            rows[i].position = std::move((*published)[i]);
            topics_.insert(rows[i].topic);
        }
    }

    /// Re-publishes the kept rows of every topic whose stream lost entries: the stream is gone,
    /// or it ends before the highest position recorded in the outbox. Rows already consumed are
    /// dropped again by the consumers' inboxes.
    void Recover() {
        if (!tracks_progress_) {
            return;
        }
        for (const postgres::KeptTopic& kept : postgres::ReadKeptTopics(*conn_)) {
            topics_.insert(kept.topic);
            auto progress = publisher_->Progress(kept.topic);
            if (!progress && progress.error().code == ErrorCode::kFailedPrecondition) {
                NoProgressTracking(progress.error().message);
                return;
            }
            if (!progress) {
                throw std::runtime_error(
                    "outbox relay: cannot read stream of " + kept.topic + ": " +
                    progress.error().message
                );
            }
            if (progress->exists &&
                CompareBusPositions(progress->last_position, kept.last_position) >= 0) {
                continue;
            }
            const std::string from = progress->exists ? progress->last_position : "0-0";
            std::int64_t after_seq = 0;
            std::int64_t republished = 0;
            while (!stop_.stop_requested()) {
                auto rows = postgres::ReadRepublishable(
                    *conn_, kept.topic, from, after_seq, options_.batch
                );
                if (rows.empty()) {
                    break;
                }
                Publish(rows);
                postgres::RecordOutboxPositions(*conn_, rows);
                after_seq = rows.back().seq;
                republished += static_cast<std::int64_t>(rows.size());
            }
            log::Warn(
                "bus lost events: re-published them from the outbox",
                {{"topic", kept.topic},
                 {"stream", progress->exists ? "ends at " + from : "missing"},
                 {"highest_recorded", kept.last_position},
                 {"republished", std::to_string(republished)}}
            );
        }
    }

    /// Trims every known stream to what all its consumer groups acked and purges the outbox rows
    /// they acked; streams no group reads (the dead-letter streams) are trimmed by age.
    void TrimAndPurge() {
        if (!tracks_progress_) {
            return;
        }
        std::vector<std::string> topics(topics_.begin(), topics_.end());
        topics.push_back(options_.dead_letter_topic);
        const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                std::chrono::system_clock::now().time_since_epoch()
        )
                                .count();
        const std::int64_t dlq_horizon =
            now_ms -
            std::chrono::duration_cast<std::chrono::milliseconds>(options_.dlq_retention).count();
        for (const std::string& topic : topics) {
            auto progress = publisher_->Progress(topic);
            if (!progress && progress.error().code == ErrorCode::kFailedPrecondition) {
                NoProgressTracking(progress.error().message);
                return;
            }
            if (!progress) {
                throw std::runtime_error(
                    "outbox relay: cannot read stream of " + topic + ": " + progress.error().message
                );
            }
            if (!progress->exists) {
                continue;
            }
            const std::string before =
                progress->groups == 0
                    ? std::to_string(std::max<std::int64_t>(dlq_horizon, 0)) + "-0"
                    : progress->consumed_before;
            auto trimmed = publisher_->TrimBefore(topic, before);
            if (!trimmed) {
                throw std::runtime_error(
                    "outbox relay: cannot trim stream of " + topic + ": " + trimmed.error().message
                );
            }
            if (progress->groups > 0) {
                postgres::PurgeConsumedOutbox(*conn_, topic, before);
            }
        }
    }

    /// The bus keeps its own copies (Kafka: replicated, acks=all) and reports no consumer-group
    /// progress: nothing to recover or trim; SENT rows are purged after kSentRetentionUntracked.
    void NoProgressTracking(const std::string& why) {
        tracks_progress_ = false;
        log::Info("outbox relay: the bus keeps its own copies; no stream trimming", {{"bus", why}});
    }

    /// Publishes rows this process committed, handed over in memory: no claim round trip before
    /// the publish. Returns true when a full batch was taken (more may wait).
    bool RelayFed() {
        auto fed = feed_->Take(static_cast<std::size_t>(options_.batch));
        if (fed.empty()) {
            return false;
        }
        Publish(fed);
        postgres::MarkOutboxSent(*conn_, fed);
        published_.Increment(static_cast<double>(fed.size()));
        return static_cast<int>(fed.size()) == options_.batch;
    }

    bool RelayOnce() {
        last_claim_ = std::chrono::steady_clock::now();
        postgres::Transaction tx(*conn_);
        auto claimed = postgres::ClaimOutbox(tx, options_.batch, options_.reclaim_after);
        if (claimed.empty()) {
            tx.Commit();
            return false;
        }
        Publish(claimed);  // on failure the rollback leaves the rows PENDING
        postgres::MarkOutboxSent(tx, claimed);
        tx.Commit();
        published_.Increment(static_cast<double>(claimed.size()));
        return static_cast<int>(claimed.size()) == options_.batch;
    }

    void MaybeHousekeep() {
        const auto now = std::chrono::steady_clock::now();
        if (now - last_housekeeping_ < std::min<std::chrono::milliseconds>(
                                           std::chrono::seconds(5), options_.maintenance_interval
                                       )) {
            return;
        }
        last_housekeeping_ = now;
        const auto backlog = postgres::ReadOutboxBacklog(*conn_);
        pending_.Set(static_cast<double>(backlog.pending));
        oldest_.Set(backlog.oldest_age_seconds);
        if (now - last_maintenance_ >= options_.maintenance_interval) {
            last_maintenance_ = now;
            Recover();
            TrimAndPurge();
        }
        if (now - last_purge_ > std::chrono::minutes(1)) {
            last_purge_ = now;
            postgres::PurgeOutbox(
                *conn_,
                tracks_progress_ ? options_.retention
                                 : std::min(options_.retention, kSentRetentionUntracked)
            );
            postgres::PurgeInbox(*conn_, options_.inbox_retention);
        }
    }

    std::stop_token stop_;
    EventBus& bus_;
    const RelayOptions& options_;
    prometheus::Gauge& pending_;
    prometheus::Gauge& oldest_;
    prometheus::Counter& published_;
    std::unique_ptr<postgres::Connection> conn_;
    std::unique_ptr<postgres::OutboxFeed> feed_;
    std::unique_ptr<EventPublisher> publisher_;
    std::chrono::steady_clock::time_point last_housekeeping_{};
    std::chrono::steady_clock::time_point last_claim_{};
    std::chrono::steady_clock::time_point last_purge_{};
    std::chrono::steady_clock::time_point last_maintenance_ = std::chrono::steady_clock::now();
    bool recover_due_ = true;
    /// False once the bus said it reports no progress (EventPublisher::Progress answered
    /// kFailedPrecondition): Kafka, whose retention is the broker's.
    bool tracks_progress_ = true;
    /// The topics this relay published to or keeps rows of: the streams it maintains.
    std::set<std::string> topics_;
};

}  // namespace

void RunOutboxRelay(std::stop_token stop, EventBus& bus, const RelayOptions& options) {
    Relay(std::move(stop), bus, options).Run();
}

}  // namespace sagapay
