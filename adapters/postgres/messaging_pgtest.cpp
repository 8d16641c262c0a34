#include "adapters/postgres/messaging.hpp"

#include <algorithm>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include "adapters/postgres/messaging_schema.hpp"
#include "adapters/postgres/migrator.hpp"
#include "testing/test_env.hpp"

namespace sagapay::postgres {
namespace {

using namespace std::chrono_literals;

constexpr auto kLongAgo = std::chrono::hours(1);

Envelope MakeTestEnvelope(
    const std::string& aggregate_id, const std::string& type = "payment.created"
) {
    Envelope envelope;
    envelope.event_id = ::sagapay::testing::UniqueName("evt");
    envelope.event_type = type;
    envelope.aggregate_id = aggregate_id;
    envelope.occurred_at = "2024-05-01T12:00:00.000000Z";
    envelope.trace_id = "trace-1";
    envelope.payload = {{"amount_minor", 1250}, {"currency", "EUR"}};
    return envelope;
}

class MessagingTest : public ::testing::Test {
protected:
    MessagingTest() : conn_(db_.Connect()) {
        const MigrationReport report = Migrate(conn_, "messaging_test", MessagingMigrations());
        EXPECT_EQ(report.applied, 3);
    }

    /// One relay round that publishes nothing anywhere: claim and mark sent, committed.
    std::vector<ClaimedEvent> ClaimAndMarkSent(Connection& conn, int limit) {
        Transaction tx(conn);
        std::vector<ClaimedEvent> claimed = ClaimOutbox(tx, limit, kLongAgo);
        MarkOutboxSent(tx, claimed);
        tx.Commit();
        return claimed;
    }

    /// Claims in a transaction that is rolled back: what a relay sees, leaving no trace.
    std::vector<ClaimedEvent> Peek(int limit = 100) {
        Transaction tx(conn_);
        return ClaimOutbox(tx, limit, kLongAgo);
    }

    void Append(const Envelope& envelope) {
        Transaction tx(conn_);
        AppendOutbox(tx, envelope);
        tx.Commit();
    }

    std::int64_t CountWithStatus(std::string_view status) {
        return conn_.Exec("SELECT count(*) FROM outbox_events WHERE status = $1", {status})
            .GetInt(0, 0);
    }

    ::sagapay::testing::TestDatabase db_;
    Connection conn_;
};

TEST_F(MessagingTest, SchemaMigrationIsEmbeddedAsVersion0001) {
    ASSERT_EQ(MessagingMigrations().size(), 3U);
    EXPECT_STREQ(MessagingMigrations()[0].version, "0001");
    EXPECT_STREQ(MessagingMigrations()[0].name, "messaging");
    EXPECT_STREQ(MessagingMigrations()[1].version, "0004");
    EXPECT_STREQ(MessagingMigrations()[2].version, "0006");
    EXPECT_EQ(Migrate(conn_, "messaging_test", MessagingMigrations()).already_applied, 3);
}

TEST_F(MessagingTest, AppendInARolledBackTransactionLeavesNothing) {
    {
        Transaction tx(conn_);
        AppendOutbox(tx, MakeTestEnvelope("pay-1"));
    }
    EXPECT_TRUE(Peek().empty());
    EXPECT_EQ(ReadOutboxBacklog(conn_).pending, 0);
}

TEST_F(MessagingTest, CommittedAppendIsClaimedThenSentOnce) {
    const Envelope envelope = MakeTestEnvelope("pay-1");
    Append(envelope);

    const std::vector<ClaimedEvent> claimed = ClaimAndMarkSent(conn_, 10);
    ASSERT_EQ(claimed.size(), 1U);
    EXPECT_EQ(claimed[0].topic, "payment.created");
    EXPECT_EQ(claimed[0].aggregate_id, "pay-1");
    EXPECT_NE(claimed[0].id, envelope.event_id);  // the row has its own id
    const auto json = nlohmann::json::parse(claimed[0].envelope_json);
    EXPECT_EQ(json.at("event_id"), envelope.event_id);
    EXPECT_EQ(json.at("event_type"), "payment.created");
    EXPECT_EQ(json.at("payload").at("amount_minor"), 1250);
    const Result<Envelope> decoded = DecodeEnvelope(claimed[0].envelope_json);
    ASSERT_TRUE(decoded.has_value()) << decoded.error().message;
    EXPECT_EQ(decoded->trace_id, "trace-1");

    const Rows row = conn_.Exec(
        "SELECT event_type, aggregate_type, status, sent_at IS NOT NULL FROM outbox_events"
    );
    EXPECT_EQ(row.Get(0, 0), "payment.created");
    EXPECT_EQ(row.Get(0, 1), "payment");
    EXPECT_EQ(row.Get(0, 2), "SENT");
    EXPECT_TRUE(row.GetBool(0, 3));

    EXPECT_TRUE(Peek().empty());
    EXPECT_EQ(ReadOutboxBacklog(conn_).pending, 0);
}

TEST_F(MessagingTest, RowsOfOneTransactionAreWrittenAtCommitInAppendOrder) {
    Transaction tx(conn_);
    for (int i = 0; i < 5; ++i) {
        AppendOutbox(tx, MakeTestEnvelope("pay-" + std::to_string(i)));
    }
    // Buffered until the commit: one statement for the transaction's rows.
    EXPECT_EQ(tx.Exec("SELECT count(*) FROM outbox_events").GetInt(0, 0), 0);
    tx.Commit();
    const Rows rows = conn_.Exec("SELECT aggregate_id FROM outbox_events ORDER BY seq");
    ASSERT_EQ(rows.Size(), 5);
    for (int i = 0; i < 5; ++i) {
        EXPECT_EQ(rows.Get(i, 0), "pay-" + std::to_string(i));
    }
}

TEST_F(MessagingTest, RollbackToASavepointDropsOnlyTheRowsAppendedAfterIt) {
    Transaction tx(conn_);
    AppendOutbox(tx, MakeTestEnvelope("pay-kept"));
    tx.Savepoint("step");
    AppendOutbox(tx, MakeTestEnvelope("pay-dropped"));
    tx.RollbackTo("step");
    AppendOutbox(tx, MakeTestEnvelope("pay-after"));
    tx.Commit();
    const Rows rows = conn_.Exec("SELECT aggregate_id FROM outbox_events ORDER BY seq");
    ASSERT_EQ(rows.Size(), 2);
    EXPECT_EQ(rows.Get(0, 0), "pay-kept");
    EXPECT_EQ(rows.Get(1, 0), "pay-after");
}

TEST_F(MessagingTest, ARolledBackClaimLeavesTheRowsPending) {
    // A relay that published and died before its commit: the rows are claimable again at once.
    Append(MakeTestEnvelope("pay-1"));
    Append(MakeTestEnvelope("pay-2"));
    {
        Transaction tx(conn_);
        ASSERT_EQ(ClaimOutbox(tx, 10, kLongAgo).size(), 2U);
    }
    EXPECT_EQ(CountWithStatus("PENDING"), 2);
    EXPECT_EQ(ClaimAndMarkSent(conn_, 10).size(), 2U);
    EXPECT_EQ(CountWithStatus("SENT"), 2);
}

TEST_F(MessagingTest, ARowLockedByOneRelayIsSkippedByAnother) {
    Append(MakeTestEnvelope("pay-1"));
    Append(MakeTestEnvelope("pay-2"));
    Transaction first(conn_);
    const std::vector<ClaimedEvent> mine = ClaimOutbox(first, 1, kLongAgo);
    ASSERT_EQ(mine.size(), 1U);
    EXPECT_EQ(mine[0].aggregate_id, "pay-1");

    Connection other = db_.Connect();
    const std::vector<ClaimedEvent> theirs = ClaimAndMarkSent(other, 10);
    ASSERT_EQ(theirs.size(), 1U);  // not blocked, not shared
    EXPECT_EQ(theirs[0].aggregate_id, "pay-2");
    MarkOutboxSent(first, mine);
    first.Commit();
    EXPECT_EQ(CountWithStatus("SENT"), 2);
}

TEST_F(MessagingTest, ClaimsOldestFirstUpToTheLimit) {
    for (int i = 0; i < 5; ++i) {
        Append(MakeTestEnvelope("pay-" + std::to_string(i)));
    }
    const std::vector<ClaimedEvent> first = ClaimAndMarkSent(conn_, 3);
    ASSERT_EQ(first.size(), 3U);
    EXPECT_EQ(first[0].aggregate_id, "pay-0");
    EXPECT_EQ(first[1].aggregate_id, "pay-1");
    EXPECT_EQ(first[2].aggregate_id, "pay-2");
    const std::vector<ClaimedEvent> rest = ClaimAndMarkSent(conn_, 3);
    ASSERT_EQ(rest.size(), 2U);
    EXPECT_EQ(rest[0].aggregate_id, "pay-3");
    EXPECT_EQ(rest[1].aggregate_id, "pay-4");
}

TEST_F(MessagingTest, ConcurrentRelaysNeverShareARow) {
    constexpr int kEvents = 300;
    {
        Transaction tx(conn_);
        for (int i = 0; i < kEvents; ++i) {
            AppendOutbox(tx, MakeTestEnvelope("pay-" + std::to_string(i)));
        }
        tx.Commit();
    }
    std::mutex mutex;
    std::vector<std::string> ids;
    std::vector<std::thread> relays;
    relays.reserve(4);
    for (int t = 0; t < 4; ++t) {
        relays.emplace_back([&] {
            Connection conn = db_.Connect();
            while (true) {
                const std::vector<ClaimedEvent> batch = ClaimAndMarkSent(conn, 7);
                if (batch.empty()) {
                    return;
                }
                const std::lock_guard lock(mutex);
                for (const ClaimedEvent& event : batch) {
                    ids.push_back(event.id);
                }
            }
        });
    }
    for (std::thread& relay : relays) {
        relay.join();
    }
    EXPECT_EQ(ids.size(), static_cast<std::size_t>(kEvents));
    EXPECT_EQ(
        std::set<std::string>(ids.begin(), ids.end()).size(), static_cast<std::size_t>(kEvents)
    );
    EXPECT_EQ(CountWithStatus("SENT"), kEvents);
}

TEST_F(MessagingTest, ProcessingRowsOfAnOlderRelayAreTakenOverAfterReclaimAfter) {
    // Rows an earlier version claimed (status PROCESSING) before it crashed.
    Append(MakeTestEnvelope("pay-old"));
    Append(MakeTestEnvelope("pay-recent"));
    conn_.Exec(
        "UPDATE outbox_events SET status = 'PROCESSING', claimed_at = now() - CASE aggregate_id "
        "WHEN 'pay-old' THEN interval '10 minutes' ELSE interval '0' END"
    );
    Transaction tx(conn_);
    const std::vector<ClaimedEvent> claimed = ClaimOutbox(tx, 10, std::chrono::minutes(5));
    ASSERT_EQ(claimed.size(), 1U);
    EXPECT_EQ(claimed[0].aggregate_id, "pay-old");
}

TEST_F(MessagingTest, SentRowsAreNotClaimedAgain) {
    Append(MakeTestEnvelope("pay-1"));
    Append(MakeTestEnvelope("pay-2"));
    ASSERT_EQ(ClaimAndMarkSent(conn_, 10).size(), 2U);
    {
        Transaction tx(conn_);
        MarkOutboxSent(tx, {});
        tx.Commit();
    }
    EXPECT_EQ(CountWithStatus("SENT"), 2);
    EXPECT_TRUE(conn_.Exec("SELECT bool_and(sent_at IS NOT NULL) FROM outbox_events").GetBool(0, 0)
    );
    Transaction tx(conn_);
    EXPECT_TRUE(ClaimOutbox(tx, 10, 0ms).empty());  // not even as "stale"
    EXPECT_EQ(ReadOutboxBacklog(conn_).pending, 0);
}

TEST_F(MessagingTest, PurgeDeletesOnlyOldSentRows) {
    Append(MakeTestEnvelope("pay-1"));
    Append(MakeTestEnvelope("pay-2"));
    Append(MakeTestEnvelope("pay-3"));
    const std::vector<ClaimedEvent> claimed = ClaimAndMarkSent(conn_, 2);
    conn_.Exec(
        "UPDATE outbox_events SET sent_at = now() - interval '2 days' WHERE id = $1",
        {claimed[0].id}
    );
    EXPECT_EQ(PurgeOutbox(conn_, std::chrono::hours(24)), 1);
    EXPECT_EQ(conn_.Exec("SELECT count(*) FROM outbox_events").GetInt(0, 0), 2);
    EXPECT_EQ(PurgeOutbox(conn_, std::chrono::seconds(0)), 1);
    EXPECT_EQ(CountWithStatus("PENDING"), 1);
}

TEST_F(MessagingTest, BacklogCountsUnsentRowsAndTheAgeOfTheOldest) {
    const OutboxBacklog empty = ReadOutboxBacklog(conn_);
    EXPECT_EQ(empty.pending, 0);
    EXPECT_EQ(empty.oldest_age_seconds, 0);

    Append(MakeTestEnvelope("pay-1"));
    Append(MakeTestEnvelope("pay-2"));
    Append(MakeTestEnvelope("pay-3"));
    conn_.Exec(
        "UPDATE outbox_events SET created_at = now() - interval '90 seconds' WHERE aggregate_id = "
        "'pay-1'"
    );
    Transaction claiming(conn_);
    (void)ClaimOutbox(claiming, 1, kLongAgo);  // claimed but not sent still counts
    const OutboxBacklog backlog = ReadOutboxBacklog(conn_);
    EXPECT_EQ(backlog.pending, 3);
    EXPECT_GE(backlog.oldest_age_seconds, 89.0);
    EXPECT_LT(backlog.oldest_age_seconds, 3600.0);
}

TEST_F(MessagingTest, CommittedRowsAreFedToTheRelayOfTheirDatabaseOnly) {
    OutboxFeed feed(DatabaseKey(conn_));
    OutboxFeed elsewhere("127.0.0.1:1/another_database");
    const auto woken = [](const OutboxFeed& f) {
        std::uint64_t count = 0;
        return ::read(f.Fd(), &count, sizeof(count)) == sizeof(count) && count > 0;
    };
    {
        Transaction tx(conn_);
        AppendOutbox(tx, MakeTestEnvelope("pay-1"));
        AppendOutbox(tx, MakeTestEnvelope("pay-2"));
        EXPECT_FALSE(woken(feed));  // nothing before the commit
        EXPECT_TRUE(feed.Take(10).empty());
        tx.Commit();
    }
    EXPECT_TRUE(woken(feed));
    EXPECT_FALSE(woken(feed));  // one wake-up per commit, drained by the read
    EXPECT_FALSE(woken(elsewhere));
    EXPECT_TRUE(elsewhere.Take(10).empty());

    const std::vector<ClaimedEvent> fed = feed.Take(10);
    ASSERT_EQ(fed.size(), 2U);
    EXPECT_EQ(fed[0].aggregate_id, "pay-1");
    EXPECT_EQ(fed[1].aggregate_id, "pay-2");
    EXPECT_EQ(fed[0].topic, "payment.created");
    // The fed rows are the committed rows: same ids, same envelopes.
    const Rows rows = conn_.Exec("SELECT id::text, payload::text FROM outbox_events ORDER BY seq");
    ASSERT_EQ(rows.Size(), 2);
    EXPECT_EQ(rows.Get(0, 0), fed[0].id);
    EXPECT_EQ(nlohmann::json::parse(rows.Get(1, 1)), nlohmann::json::parse(fed[1].envelope_json));

    // Published from memory, then marked: not claimable any more.
    MarkOutboxSent(conn_, fed);
    EXPECT_EQ(CountWithStatus("SENT"), 2);
    EXPECT_TRUE(Peek().empty());

    {
        Transaction tx(conn_);
        AppendOutbox(tx, MakeTestEnvelope("pay-3"));
    }  // rolled back: nothing fed
    EXPECT_FALSE(woken(feed));
    EXPECT_TRUE(feed.Take(10).empty());
}

TEST_F(MessagingTest, RelayWaitReturnsOnTheFeedOrANotify) {
    const OutboxFeed feed(DatabaseKey(conn_));
    Connection listener = db_.Connect();
    listener.Listen(kOutboxChannel);
    EXPECT_FALSE(listener.WaitForNotification(50ms, feed.Fd()));
    Append(MakeTestEnvelope("pay-1"));
    EXPECT_TRUE(listener.WaitForNotification(5s, feed.Fd()));
    EXPECT_FALSE(listener.WaitForNotification(50ms, feed.Fd()));  // consumed
    // A writer outside the process (no trigger since 0004) says so with NOTIFY.
    conn_.ExecScript("NOTIFY sagapay_outbox");
    EXPECT_TRUE(listener.WaitForNotification(5s, feed.Fd()));
}

TEST_F(MessagingTest, InboxPurgeDeletesOnlyRowsOlderThanTheRetentionInBatches) {
    {
        Transaction tx(conn_);
        const std::vector<std::string> old_ids = {"old-1", "old-2", "old-3", "old-4", "old-5"};
        (void)RecordInboxBatch(tx, old_ids, "ledger");
        (void)RecordInbox(tx, "recent-1", "ledger");
        (void)RecordInbox(tx, "recent-2", "notification");
        tx.Commit();
    }
    conn_.Exec(
        "UPDATE inbox_events SET consumed_at = now() - interval '15 days' "
        "WHERE event_id LIKE 'old-%'"
    );
    conn_.Exec(
        "UPDATE inbox_events SET consumed_at = now() - interval '13 days' "
        "WHERE event_id = 'recent-2'"
    );

    EXPECT_EQ(PurgeInbox(conn_, std::chrono::hours(24 * 14), 2), 5);  // three batches: 2, 2, 1

    const Rows left = conn_.Exec("SELECT event_id FROM inbox_events ORDER BY event_id");
    ASSERT_EQ(left.Size(), 2);
    EXPECT_EQ(left.GetString(0, 0), "recent-1");
    EXPECT_EQ(left.GetString(1, 0), "recent-2");
    // A redelivery of a kept event is still a duplicate.
    Transaction tx(conn_);
    EXPECT_FALSE(RecordInbox(tx, "recent-2", "notification"));
}

TEST_F(MessagingTest, SentRowsKeepTheirBusPositionUntilConsumedAndThenArePurged) {
    for (int i = 1; i <= 4; ++i) {
        Append(MakeTestEnvelope("pay-" + std::to_string(i)));
    }
    std::vector<ClaimedEvent> claimed;
    {
        Transaction tx(conn_);
        claimed = ClaimOutbox(tx, 10, kLongAgo);
        ASSERT_EQ(claimed.size(), 4U);
        // Positions as Redis hands them out: ms-seq, compared numerically (9 < 10).
        claimed[0].position = "1700000000000-9";
        claimed[1].position = "1700000000000-10";
        claimed[2].position = "1700000000001-0";
        claimed[3].position = "1700000000002-0";
        MarkOutboxSent(tx, claimed);
        tx.Commit();
    }
    const std::string topic = claimed[0].topic;

    const std::vector<KeptTopic> kept = ReadKeptTopics(conn_);
    ASSERT_EQ(kept.size(), 1U);
    EXPECT_EQ(kept[0].topic, topic);
    EXPECT_EQ(kept[0].last_position, "1700000000002-0");

    // The stream lost everything after ...000-10: the last two are to be published again.
    const auto lost = ReadRepublishable(conn_, topic, "1700000000000-10", 0, 10);
    ASSERT_EQ(lost.size(), 2U);
    EXPECT_EQ(lost[0].id, claimed[2].id);
    EXPECT_EQ(lost[1].id, claimed[3].id);
    EXPECT_EQ(ReadRepublishable(conn_, topic, "1700000000000-10", lost[0].seq, 10).size(), 1U);
    EXPECT_EQ(ReadRepublishable(conn_, topic, "0-0", 0, 10).size(), 4U);  // stream gone

    // Every group acked up to (not including) ...001-0: the first two go, the rest stays.
    EXPECT_EQ(PurgeConsumedOutbox(conn_, topic, "1700000000001-0", 1), 2);
    EXPECT_EQ(PurgeConsumedOutbox(conn_, "another.topic", "9999999999999-0"), 0);
    EXPECT_EQ(CountWithStatus("SENT"), 2);
    EXPECT_EQ(ReadKeptTopics(conn_).at(0).last_position, "1700000000002-0");
}

TEST_F(MessagingTest, AKafkaPositionMarksTheRowSentWithoutAStreamPosition) {
    Append(MakeTestEnvelope("pay-k1"));
    Append(MakeTestEnvelope("pay-k2"));
    {
        Transaction tx(conn_);
        std::vector<ClaimedEvent> claimed = ClaimOutbox(tx, 10, kLongAgo);
        ASSERT_EQ(claimed.size(), 2U);
        // Kafka hands out partition:offset, which is no stream id: the row is sent all the same.
        claimed[0].position = "2:1854";
        claimed[1].position = "0:17";
        MarkOutboxSent(tx, claimed);
        tx.Commit();
    }
    EXPECT_EQ(CountWithStatus("SENT"), 2);
    EXPECT_EQ(
        conn_
            .Exec(
                "SELECT count(*) FROM outbox_events WHERE stream_ms IS NULL AND stream_seq IS NULL"
            )
            .GetInt(0, 0),
        2
    );
    EXPECT_TRUE(ReadKeptTopics(conn_).empty());  // nothing for the Redis loss recovery
    EXPECT_TRUE(Peek().empty());
}

TEST_F(MessagingTest, InboxDetectsDuplicatesPerConsumer) {
    {
        Transaction tx(conn_);
        EXPECT_TRUE(RecordInbox(tx, "evt-1", "ledger"));
        tx.Commit();
    }
    {
        Transaction tx(conn_);
        EXPECT_FALSE(RecordInbox(tx, "evt-1", "ledger"));
        EXPECT_TRUE(RecordInbox(tx, "evt-1", "notification"));
        tx.Commit();
    }
    {
        Transaction tx(conn_);
        EXPECT_TRUE(RecordInbox(tx, "evt-2", "ledger"));
    }  // rolled back with the side effects: the redelivery is handled again
    Transaction tx(conn_);
    EXPECT_TRUE(RecordInbox(tx, "evt-2", "ledger"));
}

TEST_F(MessagingTest, InboxBatchMarksKnownIdsAndRepeatsWithinTheBatchAsDuplicates) {
    {
        Transaction tx(conn_);
        EXPECT_TRUE(RecordInbox(tx, "evt-known", "ledger"));
        tx.Commit();
    }
    const std::vector<std::string> ids = {
        "evt-a", "evt-known", "evt-b", "evt-a", "evt-\"quoted\\", "evt-b"};
    Transaction tx(conn_);
    EXPECT_THAT(
        RecordInboxBatch(tx, ids, "ledger"),
        ::testing::ElementsAre(true, false, true, false, true, false)
    );
    EXPECT_TRUE(RecordInboxBatch(tx, {}, "ledger").empty());
    EXPECT_THAT(
        RecordInboxBatch(tx, std::vector<std::string>{"evt-a", "evt-new"}, "ledger"),
        ::testing::ElementsAre(false, true)
    );
    EXPECT_THAT(
        RecordInboxBatch(tx, std::vector<std::string>{"evt-a"}, "notification"),
        ::testing::ElementsAre(true)
    );
    EXPECT_EQ(
        tx.Exec("SELECT count(*) FROM inbox_events WHERE event_id = $1", {"evt-\"quoted\\"})
            .GetInt(0, 0),
        1
    );
}

}  // namespace
}  // namespace sagapay::postgres
