#include "adapters/postgres/messaging.hpp"

#include <algorithm>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

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
        EXPECT_EQ(report.applied, 1);
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
    ASSERT_EQ(MessagingMigrations().size(), 1U);
    EXPECT_STREQ(MessagingMigrations()[0].version, "0001");
    EXPECT_STREQ(MessagingMigrations()[0].name, "messaging");
    EXPECT_EQ(Migrate(conn_, "messaging_test", MessagingMigrations()).already_applied, 1);
}

TEST_F(MessagingTest, AppendInARolledBackTransactionLeavesNothing) {
    {
        Transaction tx(conn_);
        AppendOutbox(tx, MakeTestEnvelope("pay-1"));
    }
    EXPECT_TRUE(ClaimOutbox(conn_, 10, kLongAgo).empty());
    EXPECT_EQ(ReadOutboxBacklog(conn_).pending, 0);
}

TEST_F(MessagingTest, CommittedAppendIsClaimableOnce) {
    const Envelope envelope = MakeTestEnvelope("pay-1");
    Append(envelope);

    const std::vector<ClaimedEvent> claimed = ClaimOutbox(conn_, 10, kLongAgo);
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
        "SELECT event_type, aggregate_type, status, claimed_at IS NOT NULL FROM outbox_events"
    );
    EXPECT_EQ(row.Get(0, 0), "payment.created");
    EXPECT_EQ(row.Get(0, 1), "payment");
    EXPECT_EQ(row.Get(0, 2), "PROCESSING");
    EXPECT_TRUE(row.GetBool(0, 3));

    EXPECT_TRUE(ClaimOutbox(conn_, 10, kLongAgo).empty());
}

TEST_F(MessagingTest, ClaimsOldestFirstUpToTheLimit) {
    for (int i = 0; i < 5; ++i) {
        Append(MakeTestEnvelope("pay-" + std::to_string(i)));
    }
    const std::vector<ClaimedEvent> first = ClaimOutbox(conn_, 3, kLongAgo);
    ASSERT_EQ(first.size(), 3U);
    EXPECT_EQ(first[0].aggregate_id, "pay-0");
    EXPECT_EQ(first[1].aggregate_id, "pay-1");
    EXPECT_EQ(first[2].aggregate_id, "pay-2");
    const std::vector<ClaimedEvent> rest = ClaimOutbox(conn_, 3, kLongAgo);
    ASSERT_EQ(rest.size(), 2U);
    EXPECT_EQ(rest[0].aggregate_id, "pay-3");
    EXPECT_EQ(rest[1].aggregate_id, "pay-4");
}

TEST_F(MessagingTest, ConcurrentClaimersNeverShareARow) {
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
    std::vector<std::thread> claimers;
    for (int t = 0; t < 4; ++t) {
        claimers.emplace_back([&] {
            Connection conn = db_.Connect();
            while (true) {
                const std::vector<ClaimedEvent> batch = ClaimOutbox(conn, 7, kLongAgo);
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
    for (std::thread& claimer : claimers) {
        claimer.join();
    }
    EXPECT_EQ(ids.size(), static_cast<std::size_t>(kEvents));
    EXPECT_EQ(
        std::set<std::string>(ids.begin(), ids.end()).size(), static_cast<std::size_t>(kEvents)
    );
    EXPECT_EQ(CountWithStatus("PROCESSING"), kEvents);
}

TEST_F(MessagingTest, ReclaimsRowsClaimedLongerAgoThanReclaimAfter) {
    Append(MakeTestEnvelope("pay-1"));
    const std::vector<ClaimedEvent> claimed = ClaimOutbox(conn_, 10, kLongAgo);
    ASSERT_EQ(claimed.size(), 1U);
    // A relay that crashed ten minutes ago.
    conn_.Exec("UPDATE outbox_events SET claimed_at = now() - interval '10 minutes'");
    EXPECT_TRUE(ClaimOutbox(conn_, 10, kLongAgo).empty());
    const std::vector<ClaimedEvent> reclaimed = ClaimOutbox(conn_, 10, std::chrono::minutes(5));
    ASSERT_EQ(reclaimed.size(), 1U);
    EXPECT_EQ(reclaimed[0].id, claimed[0].id);
    // The reclaim restarted the clock.
    EXPECT_TRUE(ClaimOutbox(conn_, 10, std::chrono::minutes(5)).empty());
}

TEST_F(MessagingTest, MarkSentRowsAreNotClaimedAgain) {
    Append(MakeTestEnvelope("pay-1"));
    Append(MakeTestEnvelope("pay-2"));
    const std::vector<ClaimedEvent> claimed = ClaimOutbox(conn_, 10, kLongAgo);
    ASSERT_EQ(claimed.size(), 2U);
    MarkOutboxSent(conn_, claimed);
    MarkOutboxSent(conn_, {});
    EXPECT_EQ(CountWithStatus("SENT"), 2);
    EXPECT_TRUE(conn_.Exec("SELECT bool_and(sent_at IS NOT NULL) FROM outbox_events").GetBool(0, 0)
    );
    EXPECT_TRUE(ClaimOutbox(conn_, 10, 0ms).empty());  // not even as "stale"
    EXPECT_EQ(ReadOutboxBacklog(conn_).pending, 0);
    // A late requeue from a relay that lost the race does not resurrect them.
    RequeueOutbox(conn_, claimed);
    EXPECT_EQ(CountWithStatus("SENT"), 2);
}

TEST_F(MessagingTest, RequeueMakesRowsClaimableAgain) {
    Append(MakeTestEnvelope("pay-1"));
    Append(MakeTestEnvelope("pay-2"));
    const std::vector<ClaimedEvent> claimed = ClaimOutbox(conn_, 10, kLongAgo);
    ASSERT_EQ(claimed.size(), 2U);
    RequeueOutbox(conn_, std::span(claimed).first(1));
    EXPECT_EQ(CountWithStatus("PENDING"), 1);
    const std::vector<ClaimedEvent> again = ClaimOutbox(conn_, 10, kLongAgo);
    ASSERT_EQ(again.size(), 1U);
    EXPECT_EQ(again[0].id, claimed[0].id);
}

TEST_F(MessagingTest, PurgeDeletesOnlyOldSentRows) {
    Append(MakeTestEnvelope("pay-1"));
    Append(MakeTestEnvelope("pay-2"));
    Append(MakeTestEnvelope("pay-3"));
    const std::vector<ClaimedEvent> claimed = ClaimOutbox(conn_, 2, kLongAgo);
    MarkOutboxSent(conn_, claimed);
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
    (void)ClaimOutbox(conn_, 1, kLongAgo);  // PROCESSING still counts
    const OutboxBacklog backlog = ReadOutboxBacklog(conn_);
    EXPECT_EQ(backlog.pending, 3);
    EXPECT_GE(backlog.oldest_age_seconds, 89.0);
    EXPECT_LT(backlog.oldest_age_seconds, 3600.0);
}

TEST_F(MessagingTest, CommitOfAnAppendNotifiesTheRelays) {
    Connection listener = db_.Connect();
    listener.Listen(kOutboxChannel);
    {
        Transaction tx(conn_);
        AppendOutbox(tx, MakeTestEnvelope("pay-1"));
        AppendOutbox(tx, MakeTestEnvelope("pay-2"));
        EXPECT_FALSE(listener.WaitForNotification(100ms));  // nothing before the commit
        tx.Commit();
    }
    EXPECT_TRUE(listener.WaitForNotification(5s));
    EXPECT_FALSE(listener.WaitForNotification(50ms));  // folded into one

    {
        Transaction tx(conn_);
        AppendOutbox(tx, MakeTestEnvelope("pay-3"));
    }  // rolled back: no wake-up
    EXPECT_FALSE(listener.WaitForNotification(100ms));
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

}  // namespace
}  // namespace sagapay::postgres
