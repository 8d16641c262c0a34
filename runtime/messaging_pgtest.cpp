// The outbox relay and the event consumer against a real PostgreSQL and a real Redis: each test
// gets a private database (testing::TestDatabase) and private streams (a unique stream prefix).
#include "adapters/postgres/messaging.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "adapters/postgres/connection.hpp"
#include "adapters/postgres/messaging_schema.hpp"
#include "adapters/postgres/migrator.hpp"
#include "adapters/redis/client.hpp"
#include "adapters/redis/streams_event_bus.hpp"
#include "core/messaging/envelope.hpp"
#include "runtime/event_consumer.hpp"
#include "runtime/metrics.hpp"
#include "runtime/outbox_relay.hpp"
#include "runtime/transaction_outbox.hpp"
#include "testing/test_env.hpp"

namespace sagapay {
namespace {

using namespace std::chrono_literals;
using ::testing::AllOf;
using ::testing::Contains;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;
using ::testing::Not;
using SteadyClock = std::chrono::steady_clock;

constexpr const char* kTopic = "payment.created";
constexpr const char* kGroup = "ledger-payment-created";
constexpr auto kDefaultWait = 10s;

/// Checks `condition` every 10 ms until it holds or `timeout` passes; true when it held.
template <class Condition>
bool Eventually(Condition&& condition, std::chrono::milliseconds timeout = kDefaultWait) {
    std::mutex mutex;
    std::condition_variable cv;
    std::unique_lock lock(mutex);
    const auto deadline = SteadyClock::now() + timeout;
    while (!condition()) {
        if (SteadyClock::now() >= deadline) {
            return false;
        }
        cv.wait_for(lock, 10ms, [] { return false; });  // Nobody notifies: a bounded pause.
    }
    return true;
}

Envelope TestEnvelope(const std::string& aggregate_id, nlohmann::json payload = {{"amount", 1}}) {
    return MakeEnvelope(kTopic, aggregate_id, "", std::move(payload), SystemClock{});
}

OutgoingMessage Message(const Envelope& envelope) {
    return OutgoingMessage{envelope.event_type, envelope.aggregate_id, EncodeEnvelope(envelope)};
}

/// `dsn` with `application_name` set, so that pg_stat_activity tells its backend apart.
std::string WithApplicationName(const std::string& dsn, const std::string& name) {
    return dsn + (dsn.find('?') == std::string::npos ? "?" : "&") + "application_name=" + name;
}

struct StreamEntry {
    std::string id;
    std::map<std::string, std::string> fields;
};

/// Inserts one row per applied event; no unique key, so a double apply shows as two rows.
void ApplyToBusinessTable(postgres::Transaction& tx, const Envelope& envelope) {
    tx.Exec(
        "INSERT INTO applied_events (event_id, aggregate_id) VALUES ($1, $2)",
        {envelope.event_id, envelope.aggregate_id}
    );
}

/// How often a handler ran for each event id; handlers run on the consumer thread.
class CallLog {
public:
    int Record(const std::string& event_id) {
        const std::lock_guard lock(mutex_);
        return ++calls_[event_id];
    }
    int Calls(const std::string& event_id) const {
        const std::lock_guard lock(mutex_);
        const auto it = calls_.find(event_id);
        return it == calls_.end() ? 0 : it->second;
    }

private:
    mutable std::mutex mutex_;
    std::map<std::string, int> calls_;
};

class RuntimeMessagingTest : public ::testing::Test {
protected:
    RuntimeMessagingTest()
        : conn_(db_.Connect()),
          endpoint_(redis::ParseRedisUrl(testing::TestRedisUrl())),
          prefix_(testing::UniqueName("rt-msg") + ":"),
          bus_(endpoint_, prefix_),
          redis_(endpoint_) {
        postgres::Migrate(conn_, "test", MessagingMigrations());
        conn_.ExecScript(
            "CREATE TABLE applied_events ("
            " id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
            " event_id text NOT NULL,"
            " aggregate_id text NOT NULL)"
        );
    }

    void TearDown() override {
        StopAll();
        try {
            (void)redis_.Command({"DEL", bus_.StreamName(kTopic), bus_.DeadLetterStream()});
        } catch (const std::exception&) {  // Best effort.
        }
    }

    /// Stops every relay and consumer and waits for them (a relay sees its stop token within
    /// 200 ms; the NOTIFY wakes it at once).
    void StopAll() {
        for (auto& thread : threads_) {
            thread.request_stop();
        }
        try {
            conn_.ExecScript("NOTIFY sagapay_outbox");
        } catch (const std::exception&) {  // Only shortens the join.
        }
        threads_.clear();
    }

    ConsumerOptions Consumer() const {
        ConsumerOptions options;
        options.service = testing::UniqueName("svc");
        options.topic = kTopic;
        options.group = kGroup;
        options.dsn = WithApplicationName(db_.Dsn(), options.service);
        options.visibility_timeout = 500ms;
        options.redelivery = RedeliveryPolicy{100ms, 1s, 1min};
        return options;
    }

    RelayOptions Relay() const {
        RelayOptions options;
        options.service = testing::UniqueName("relay");
        options.dsn = WithApplicationName(db_.Dsn(), options.service);
        return options;
    }

    void StartConsumer(ConsumerOptions options, EventHandler handler) {
        const ConsumerOptions& stored_options = consumer_options_.emplace_back(std::move(options));
        const EventHandler& stored_handler = handlers_.emplace_back(std::move(handler));
        threads_.emplace_back([this, &stored_options, &stored_handler](std::stop_token stop) {
            RunEventConsumer(std::move(stop), bus_, stored_options, stored_handler);
        });
    }

    void StartRelay(RelayOptions options) {
        const RelayOptions& stored = relay_options_.emplace_back(std::move(options));
        threads_.emplace_back([this, &stored](std::stop_token stop) {
            RunOutboxRelay(std::move(stop), bus_, stored);
        });
    }

    /// A handler that applies every event to applied_events and counts its calls.
    EventHandler Applying() {
        return [calls = calls_](postgres::Transaction& tx, const Envelope& envelope) {
            calls->Record(envelope.event_id);
            ApplyToBusinessTable(tx, envelope);
        };
    }

    void Publish(const std::vector<OutgoingMessage>& batch) {
        if (!publisher_) {
            auto created = bus_.CreatePublisher();
            if (!created) {
                throw std::runtime_error("create publisher: " + created.error().message);
            }
            publisher_ = std::move(*created);
        }
        auto published = publisher_->Publish(batch);
        if (!published) {
            throw std::runtime_error("publish: " + published.error().message);
        }
    }

    void AppendCommitted(const Envelope& envelope) {
        postgres::Transaction tx(conn_);
        postgres::AppendOutbox(tx, envelope);
        tx.Commit();
    }

    std::int64_t Applied() {
        return conn_.Exec("SELECT count(*) FROM applied_events").GetInt(0, 0);
    }

    std::int64_t Applied(const std::string& event_id) {
        return conn_.Exec("SELECT count(*) FROM applied_events WHERE event_id = $1", {event_id})
            .GetInt(0, 0);
    }

    std::int64_t SentRows() {
        return conn_.Exec("SELECT count(*) FROM outbox_events WHERE status = 'SENT'").GetInt(0, 0);
    }

    std::int64_t StreamLength() {
        return redis_.Command({"XLEN", bus_.StreamName(kTopic)}).integer;
    }

    std::int64_t Inbox() { return conn_.Exec("SELECT count(*) FROM inbox_events").GetInt(0, 0); }

    std::int64_t Inbox(const std::string& event_id) {
        return conn_.Exec("SELECT count(*) FROM inbox_events WHERE event_id = $1", {event_id})
            .GetInt(0, 0);
    }

    std::vector<StreamEntry> Entries(const std::string& stream) {
        const redis::Reply reply = redis_.Command({"XRANGE", stream, "-", "+"});
        std::vector<StreamEntry> entries;
        for (const redis::Reply& entry : reply.elements) {
            StreamEntry parsed;
            parsed.id = entry.elements.at(0).str;
            const auto& fields = entry.elements.at(1).elements;
            for (std::size_t i = 0; i + 1 < fields.size(); i += 2) {
                parsed.fields[fields[i].str] = fields[i + 1].str;
            }
            entries.push_back(std::move(parsed));
        }
        return entries;
    }

    std::vector<StreamEntry> DeadLetters() { return Entries(bus_.DeadLetterStream()); }

    /// The event ids in the topic's stream, in stream order.
    std::vector<std::string> PublishedEventIds() {
        std::vector<std::string> ids;
        for (const StreamEntry& entry : Entries(bus_.StreamName(kTopic))) {
            auto envelope = DecodeEnvelope(entry.fields.at("v"));
            ids.push_back(envelope ? envelope->event_id : "(malformed)");
        }
        return ids;
    }

    /// Entries delivered to the group and not acked yet (XPENDING summary).
    std::int64_t Pending() {
        const redis::Reply reply = redis_.Command({"XPENDING", bus_.StreamName(kTopic), kGroup});
        return reply.elements.at(0).integer;
    }

    static double CounterValue(
        prometheus::Family<prometheus::Counter>& family, const ConsumerOptions& options
    ) {
        return family.Add({{"service", options.service}, {"topic", options.topic}}).Value();
    }

    testing::TestDatabase db_;
    postgres::Connection conn_;
    redis::Endpoint endpoint_;
    std::string prefix_;
    redis::RedisStreamsEventBus bus_;
    redis::Connection redis_;
    std::unique_ptr<EventPublisher> publisher_;
    std::shared_ptr<CallLog> calls_ = std::make_shared<CallLog>();
    // What the worker threads read by reference: destroyed after threads_ (declared later).
    std::list<ConsumerOptions> consumer_options_;
    std::list<EventHandler> handlers_;
    std::list<RelayOptions> relay_options_;
    std::vector<std::jthread> threads_;
};

TEST_F(RuntimeMessagingTest, RelayPublishesCommittedRowsInOrderAndNeverARolledBackOne) {
    const Envelope rolled_back = TestEnvelope("pay-rolled-back");
    std::vector<std::string> committed;
    for (int i = 0; i < 5; ++i) {
        const Envelope envelope = TestEnvelope("pay-" + std::to_string(i % 2));
        AppendCommitted(envelope);
        committed.push_back(envelope.event_id);
        if (i == 2) {
            postgres::Transaction tx(conn_);
            postgres::AppendOutbox(tx, rolled_back);
            tx.Rollback();
        }
    }
    RelayOptions options = Relay();
    options.batch = 2;  // Five rows: three rounds, the full ones looping at once.
    StartRelay(options);

    ASSERT_TRUE(Eventually([&] { return PublishedEventIds().size() >= committed.size(); }));
    EXPECT_THAT(PublishedEventIds(), ElementsAreArray(committed));
    ASSERT_TRUE(Eventually([&] {
        return conn_.Exec("SELECT count(*) FROM outbox_events WHERE status = 'SENT'")
                   .GetInt(0, 0) == 5;
    }));
    EXPECT_EQ(
        conn_.Exec("SELECT count(*) FROM outbox_events WHERE sent_at IS NOT NULL").GetInt(0, 0), 5
    );
    EXPECT_EQ(conn_.Exec("SELECT count(*) FROM outbox_events").GetInt(0, 0), 5);

    // A later round keeps the order and still never sees the rolled-back row.
    const Envelope later = TestEnvelope("pay-0");
    AppendCommitted(later);
    committed.push_back(later.event_id);
    ASSERT_TRUE(Eventually([&] { return PublishedEventIds().size() >= committed.size(); }));
    EXPECT_THAT(PublishedEventIds(), ElementsAreArray(committed));
    EXPECT_THAT(PublishedEventIds(), Not(Contains(rolled_back.event_id)));
    const std::vector<StreamEntry> entries = Entries(bus_.StreamName(kTopic));
    ASSERT_EQ(entries.size(), committed.size());
    EXPECT_EQ(entries.back().fields.at("k"), "pay-0");
}

TEST_F(RuntimeMessagingTest, RelayRepublishesSentRowsThatRedisLostAndAConsumerGetsThem) {
    const std::vector<Envelope> events = {
        TestEnvelope("pay-1"), TestEnvelope("pay-2"), TestEnvelope("pay-3")};
    std::vector<std::string> ids;
    for (const Envelope& envelope : events) {
        AppendCommitted(envelope);
        ids.push_back(envelope.event_id);
    }
    // Started after the commits: the rows go the claim way only, once each, in outbox order.
    RelayOptions relay = Relay();
    relay.maintenance_interval = 100ms;
    StartRelay(relay);
    ASSERT_TRUE(Eventually([&] { return SentRows() == 3; }));
    ASSERT_THAT(PublishedEventIds(), ElementsAreArray(ids));

    // Redis loses the whole stream (FLUSHALL, a lost disk, a restart without AOF).
    (void)redis_.Command({"DEL", bus_.StreamName(kTopic)});
    ASSERT_TRUE(Eventually([&] { return PublishedEventIds().size() == 3; }));
    EXPECT_THAT(PublishedEventIds(), ElementsAreArray(ids));

    // Redis loses the tail: the stream ends after the first entry (appendfsync everysec and a
    // crash). Only what came after it is published again, in order.
    const StreamEntry first = Entries(bus_.StreamName(kTopic)).at(0);
    (void)redis_.Command({"DEL", bus_.StreamName(kTopic)});
    (void)redis_.Command(
        {"XADD",
         bus_.StreamName(kTopic),
         first.id,
         "k",
         first.fields.at("k"),
         "v",
         first.fields.at("v")}
    );
    ASSERT_TRUE(Eventually([&] { return PublishedEventIds().size() == 3; }));
    EXPECT_THAT(PublishedEventIds(), ElementsAreArray(ids));

    // A consumer whose group is created now gets every event once.
    StartConsumer(Consumer(), Applying());
    ASSERT_TRUE(Eventually([&] { return Applied() == 3; }));
    for (const std::string& id : ids) {
        EXPECT_EQ(Applied(id), 1);
    }
}

TEST_F(RuntimeMessagingTest, SentRowsAreKeptUntilEveryGroupAckedThemThenPurgedAndTrimmed) {
    // A second group that has not read anything yet (a service that is down).
    auto lagging = bus_.Subscribe({kTopic, "lagging-group", "lagging-1", 30s});
    ASSERT_TRUE(lagging) << lagging.error().message;
    const std::vector<Envelope> events = {
        TestEnvelope("pay-1"), TestEnvelope("pay-2"), TestEnvelope("pay-3")};
    for (const Envelope& envelope : events) {
        AppendCommitted(envelope);
    }
    // Started after the commits: each row is published once (the claim way).
    RelayOptions relay = Relay();
    relay.maintenance_interval = 50ms;
    StartRelay(relay);
    StartConsumer(Consumer(), Applying());
    ASSERT_TRUE(Eventually([&] { return Applied() == 3 && Pending() == 0; }));

    // Many maintenance rounds later the rows and the entries are still there: one group has not
    // consumed them.
    EXPECT_FALSE(Eventually([&] { return SentRows() < 3 || StreamLength() < 3; }, 500ms));

    const auto delivered = (*lagging)->Poll(10, 1s);
    ASSERT_TRUE(delivered);
    ASSERT_EQ(delivered->size(), 3U);
    // Delivered but not acked: still kept.
    EXPECT_FALSE(Eventually([&] { return SentRows() < 3 || StreamLength() < 3; }, 300ms));
    ASSERT_TRUE((*lagging)->Ack(*delivered));

    EXPECT_TRUE(Eventually([&] { return SentRows() == 0 && StreamLength() == 0; }));
}

TEST_F(RuntimeMessagingTest, RelayIsWokenByACommitLongBeforeItsPollFallback) {
    RelayOptions options = Relay();
    options.poll_fallback = 10s;
    StartRelay(options);
    const Envelope first = TestEnvelope("pay-1");
    AppendCommitted(first);
    ASSERT_TRUE(Eventually([&] { return PublishedEventIds().size() == 1; }, 5s));

    // The relay claimed `first` before publishing it, so each later row needs a new round, and
    // only a wake-up ends the relay's 10 s wait that early: the in-process one of a commit here,
    // NOTIFY sagapay_outbox from a writer outside the process.
    std::vector<std::string> expected{first.event_id};
    for (int i = 0; i < 4; ++i) {
        const Envelope next = TestEnvelope("pay-1");
        const auto appended = SteadyClock::now();
        if (i % 2 == 0) {
            AppendCommitted(next);
        } else {
            conn_.Exec(
                "INSERT INTO outbox_events (aggregate_id, event_type, topic, payload) "
                "VALUES ($1, $2, $2, $3::jsonb)",
                {next.aggregate_id, next.event_type, EncodeEnvelope(next)}
            );
            conn_.ExecScript("NOTIFY sagapay_outbox");
        }
        expected.push_back(next.event_id);
        ASSERT_TRUE(Eventually([&] { return PublishedEventIds().size() == expected.size(); }, 2s))
            << "append " << i << " not published within 2 s: the wake-up did not reach the relay";
        EXPECT_LT(SteadyClock::now() - appended, 2s);
    }
    EXPECT_THAT(PublishedEventIds(), ElementsAreArray(expected));
}

// Each instance of a service runs a relay on the service's database (`sagapay up --replicas`).
// What a process commits goes to its own relay in memory; rows it did not feed (an instance
// died before relaying them, a tool wrote them) are claimed FOR UPDATE SKIP LOCKED, so two
// relays polling at once publish each of them once.
TEST_F(RuntimeMessagingTest, TwoRelaysOnOneDatabasePublishEachRowTheyWereNotFedOnce) {
    constexpr int kCommits = 40;
    constexpr int kRowsPerCommit = 8;
    for (int r = 0; r < 2; ++r) {
        RelayOptions relay = Relay();
        relay.batch = 5;
        relay.poll_fallback = 20ms;
        StartRelay(relay);
    }
    std::vector<std::string> written;
    for (int c = 0; c < kCommits; ++c) {
        // Written as another process writes them: not through this process's feed.
        postgres::Transaction tx(conn_);
        for (int i = 0; i < kRowsPerCommit; ++i) {
            const Envelope envelope = TestEnvelope("pay-" + std::to_string(c));
            tx.Exec(
                "INSERT INTO outbox_events (aggregate_id, event_type, topic, payload) "
                "VALUES ($1, $2, $2, $3::jsonb)",
                {envelope.aggregate_id, envelope.event_type, EncodeEnvelope(envelope)}
            );
            written.push_back(envelope.event_id);
        }
        tx.Commit();
        if (c % 4 == 0) {
            conn_.ExecScript("NOTIFY sagapay_outbox");  // both relays wake at once
        }
    }

    ASSERT_TRUE(Eventually([&] { return SentRows() == std::int64_t{kCommits} * kRowsPerCommit; }));
    std::this_thread::sleep_for(200ms);  // a second copy would be on its way by now
    std::vector<std::string> published = PublishedEventIds();
    std::sort(published.begin(), published.end());
    std::sort(written.begin(), written.end());
    EXPECT_EQ(published, written);
}

TEST_F(RuntimeMessagingTest, RowRepublishedAfterARelayCrashIsAppliedExactlyOnce) {
    const Envelope envelope = TestEnvelope("pay-crash");
    AppendCommitted(envelope);

    // The crashed relay: claims and publishes, then its connection dies before the commit.
    std::string row_id;
    {
        postgres::Connection crashed = db_.Connect();
        postgres::Transaction tx(crashed);
        const std::vector<postgres::ClaimedEvent> claimed = postgres::ClaimOutbox(tx, 10, 30s);
        ASSERT_EQ(claimed.size(), 1U);
        row_id = claimed[0].id;
        Publish({OutgoingMessage{
            claimed[0].topic, claimed[0].aggregate_id, claimed[0].envelope_json}});
        conn_.Exec(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid = $1",
            {std::int64_t{PQbackendPID(crashed.Raw())}}
        );
    }
    EXPECT_EQ(
        conn_.Exec("SELECT status FROM outbox_events WHERE id = $1", {row_id}).GetString(0, 0),
        "PENDING"
    );

    const ConsumerOptions consumer = Consumer();
    StartConsumer(consumer, Applying());
    ASSERT_TRUE(Eventually([&] { return Applied(envelope.event_id) == 1; }));

    RelayOptions relay = Relay();
    relay.poll_fallback = 100ms;
    StartRelay(relay);
    ASSERT_TRUE(Eventually([&] { return PublishedEventIds().size() == 2; }));
    EXPECT_THAT(PublishedEventIds(), ElementsAreArray({envelope.event_id, envelope.event_id}));
    ASSERT_TRUE(Eventually([&] {
        return conn_.Exec("SELECT status FROM outbox_events WHERE id = $1", {row_id})
                   .GetString(0, 0) == "SENT";
    }));

    // The consumer skips the second copy: acked, counted as a duplicate, handler not run.
    auto& families = metrics::Get();
    ASSERT_TRUE(Eventually([&] {
        return Pending() == 0 &&
               CounterValue(families.duplicate_events_skipped_total, consumer) == 1;
    }));
    EXPECT_EQ(Applied(), 1);
    EXPECT_EQ(Inbox(), 1);
    EXPECT_EQ(Inbox(envelope.event_id), 1);
    EXPECT_EQ(calls_->Calls(envelope.event_id), 1);
    EXPECT_EQ(CounterValue(families.events_handled_total, consumer), 1);
}

TEST_F(RuntimeMessagingTest, SameEventPublishedThreeTimesTakesEffectOnce) {
    const Envelope envelope = TestEnvelope("pay-dup");
    // Two copies land in one batch (one transaction), the third comes alone later.
    Publish({Message(envelope), Message(envelope)});
    const ConsumerOptions consumer = Consumer();
    StartConsumer(consumer, Applying());
    ASSERT_TRUE(Eventually([&] { return Applied(envelope.event_id) == 1 && Pending() == 0; }));
    Publish({Message(envelope)});
    const Envelope sentinel = TestEnvelope("pay-sentinel");
    Publish({Message(sentinel)});
    ASSERT_TRUE(Eventually([&] { return Applied(sentinel.event_id) == 1 && Pending() == 0; }));

    EXPECT_EQ(Applied(envelope.event_id), 1);
    EXPECT_EQ(Inbox(envelope.event_id), 1);
    EXPECT_EQ(calls_->Calls(envelope.event_id), 1);
    EXPECT_EQ(PublishedEventIds().size(), 4U);
    EXPECT_EQ(CounterValue(metrics::Get().duplicate_events_skipped_total, consumer), 2);
}

TEST_F(RuntimeMessagingTest, PoisonEventIsDeadLetteredAfterTheParkHorizonWhileOthersAreHandled) {
    const Envelope poison = TestEnvelope("pay-poison");
    const std::vector<Envelope> good = {TestEnvelope("pay-a"), TestEnvelope("pay-b")};
    Publish({Message(good[0]), Message(poison), Message(good[1])});

    ConsumerOptions consumer = Consumer();
    consumer.visibility_timeout = 300ms;
    consumer.redelivery = RedeliveryPolicy{100ms, 200ms, 1s};
    StartConsumer(
        consumer,
        [calls = calls_,
         poison_id = poison.event_id](postgres::Transaction& tx, const Envelope& envelope) {
            calls->Record(envelope.event_id);
            if (envelope.event_id == poison_id) {
                throw std::runtime_error("ledger rejected the entry for " + poison_id);
            }
            ApplyToBusinessTable(tx, envelope);
        }
    );
    ASSERT_TRUE(Eventually([&] { return Applied() == 2; }));
    const Envelope later = TestEnvelope("pay-c");
    Publish({Message(later)});
    ASSERT_TRUE(Eventually([&] { return Applied(later.event_id) == 1; }));

    ASSERT_TRUE(Eventually([&] { return DeadLetters().size() == 1 && Pending() == 0; }));
    const StreamEntry parked = DeadLetters().at(0);
    EXPECT_EQ(parked.fields.at("topic"), kTopic);
    EXPECT_EQ(parked.fields.at("group"), kGroup);
    EXPECT_EQ(parked.fields.at("key"), "pay-poison");
    EXPECT_GE(std::stoi(parked.fields.at("delivery_count")), 2);
    EXPECT_THAT(
        parked.fields.at("reason"),
        AllOf(
            HasSubstr(" times over "), HasSubstr("ledger rejected the entry for " + poison.event_id)
        )
    );
    auto value = DecodeEnvelope(parked.fields.at("value"));
    ASSERT_TRUE(value);
    EXPECT_EQ(value->event_id, poison.event_id);

    EXPECT_EQ(Applied(poison.event_id), 0);
    EXPECT_EQ(Inbox(poison.event_id), 0);
    EXPECT_EQ(Applied(), 3);
    for (const Envelope& envelope : good) {
        EXPECT_EQ(Applied(envelope.event_id), 1);
    }
    // Tried on every redelivery until the horizon: about one per visibility timeout.
    EXPECT_GE(calls_->Calls(poison.event_id), 3);
    EXPECT_LE(calls_->Calls(poison.event_id), 12);
}

TEST_F(
    RuntimeMessagingTest, TransientFailureIsRetriedWithGrowingDelaysAndNotParkedBeforeTheHorizon
) {
    const Envelope flaky = TestEnvelope("pay-flaky");
    Publish({Message(flaky)});

    // The times at which the handler saw the flaky event (the immediate retries of one delivery
    // come within milliseconds; deliveries are what is spaced out).
    struct Seen {
        std::mutex mutex;
        std::vector<SteadyClock::time_point> at;
    };
    auto seen = std::make_shared<Seen>();
    ConsumerOptions consumer = Consumer();
    consumer.visibility_timeout = 100ms;
    consumer.max_deliveries = 5;  // the old rule would park it after ~0.5 s
    consumer.redelivery = RedeliveryPolicy{200ms, 800ms, 3s};
    consumer.poll_wait = 20ms;
    StartConsumer(
        consumer,
        [seen, flaky_id = flaky.event_id](postgres::Transaction& tx, const Envelope& envelope) {
            if (envelope.event_id == flaky_id) {
                {
                    const std::lock_guard lock(seen->mutex);
                    seen->at.push_back(SteadyClock::now());
                }
                throw Exception(ErrorCode::kUnavailable, "database is read-only (failover)");
            }
            ApplyToBusinessTable(tx, envelope);
        }
    );
    ASSERT_TRUE(Eventually([&] {
        const std::lock_guard lock(seen->mutex);
        return !seen->at.empty();
    }));
    // Other events keep flowing while the flaky one backs off.
    const Envelope other = TestEnvelope("pay-other");
    Publish({Message(other)});
    ASSERT_TRUE(Eventually([&] { return Applied(other.event_id) == 1; }, 2s));

    ASSERT_TRUE(Eventually([&] { return DeadLetters().size() == 1; }));
    const auto parked_at = SteadyClock::now();

    std::vector<SteadyClock::time_point> deliveries;
    {
        const std::lock_guard lock(seen->mutex);
        for (const auto at : seen->at) {
            if (deliveries.empty() || at - deliveries.back() > 50ms) {
                deliveries.push_back(at);
            }
        }
    }
    // Parked on the first failure past the horizon, not before.
    EXPECT_GE(parked_at - deliveries.front(), 3s);
    EXPECT_THAT(DeadLetters().at(0).fields.at("reason"), HasSubstr("database is read-only"));
    ASSERT_GE(deliveries.size(), 4U);
    // The gaps follow 200, 400, 800, 800 ms (each rounded up to the visibility timeout).
    const RedeliveryPolicy& policy = consumer.redelivery;
    for (std::size_t i = 1; i < deliveries.size(); ++i) {
        EXPECT_GE(
            deliveries[i] - deliveries[i - 1], policy.DelayAfter(static_cast<std::int64_t>(i))
        ) << "gap "
          << i;
    }
    EXPECT_GT(deliveries[3] - deliveries[2], (deliveries[1] - deliveries[0]) * 3 / 2);
    EXPECT_LE(deliveries.size(), 8U);
    EXPECT_EQ(Applied(flaky.event_id), 0);
}

TEST_F(RuntimeMessagingTest, PermanentEventErrorIsDeadLetteredOnTheFirstDelivery) {
    const auto handler = [calls = calls_](postgres::Transaction& tx, const Envelope& envelope) {
        calls->Record(envelope.event_id);
        if (!envelope.payload.contains("amount")) {
            throw PermanentEventError("payload has no amount");
        }
        ApplyToBusinessTable(tx, envelope);
    };
    const ConsumerOptions consumer = Consumer();
    StartConsumer(consumer, handler);

    const Envelope alone = TestEnvelope("pay-bad-1", {{"currency", "EUR"}});
    Publish({Message(alone)});
    ASSERT_TRUE(Eventually([&] { return DeadLetters().size() == 1 && Pending() == 0; }));
    EXPECT_EQ(calls_->Calls(alone.event_id), 1);

    // In a batch too: parked on its first delivery, its neighbours committed.
    const Envelope in_batch = TestEnvelope("pay-bad-2", {{"currency", "EUR"}});
    const std::vector<Envelope> good = {TestEnvelope("pay-a"), TestEnvelope("pay-z")};
    Publish({Message(good[0]), Message(in_batch), Message(good[1])});
    ASSERT_TRUE(Eventually([&] {
        return DeadLetters().size() == 2 && Applied() == 2 && Pending() == 0;
    }));

    const std::vector<StreamEntry> parked = DeadLetters();
    ASSERT_EQ(parked.size(), 2U);
    for (std::size_t i = 0; i < parked.size(); ++i) {
        SCOPED_TRACE(i);
        EXPECT_EQ(parked[i].fields.at("reason"), "not processable: payload has no amount");
        EXPECT_EQ(parked[i].fields.at("delivery_count"), "1");
        EXPECT_EQ(parked[i].fields.at("topic"), kTopic);
    }
    EXPECT_EQ(parked[0].fields.at("key"), "pay-bad-1");
    EXPECT_EQ(parked[1].fields.at("key"), "pay-bad-2");
    EXPECT_EQ(Inbox(alone.event_id), 0);
    EXPECT_EQ(Inbox(in_batch.event_id), 0);
    EXPECT_EQ(Applied(good[0].event_id), 1);
    EXPECT_EQ(Applied(good[1].event_id), 1);
    EXPECT_EQ(CounterValue(metrics::Get().events_dead_lettered_total, consumer), 2);
}

TEST_F(RuntimeMessagingTest, MalformedEnvelopesAreDeadLetteredAndTheConsumerKeepsGoing) {
    const ConsumerOptions consumer = Consumer();
    StartConsumer(consumer, Applying());
    const std::string garbage = "\x01not json at all {";
    const std::string not_an_envelope = R"({"event_id": 42, "payload": {}})";
    const Envelope before = TestEnvelope("pay-before");
    Publish(
        {Message(before),
         OutgoingMessage{kTopic, "pay-garbage", garbage},
         OutgoingMessage{kTopic, "pay-not-envelope", not_an_envelope}}
    );
    ASSERT_TRUE(Eventually([&] {
        return DeadLetters().size() == 2 && Applied(before.event_id) == 1 && Pending() == 0;
    }));

    const Envelope after = TestEnvelope("pay-after");
    Publish({Message(after)});
    ASSERT_TRUE(Eventually([&] { return Applied(after.event_id) == 1 && Pending() == 0; }));

    const std::vector<StreamEntry> parked = DeadLetters();
    ASSERT_EQ(parked.size(), 2U);
    EXPECT_EQ(parked[0].fields.at("value"), garbage);
    EXPECT_EQ(parked[0].fields.at("key"), "pay-garbage");
    EXPECT_EQ(parked[1].fields.at("value"), not_an_envelope);
    for (const StreamEntry& entry : parked) {
        EXPECT_THAT(entry.fields.at("reason"), HasSubstr("malformed envelope"));
        EXPECT_EQ(entry.fields.at("topic"), kTopic);
    }
    EXPECT_EQ(Applied(), 2);
    EXPECT_EQ(Inbox(), 2);
}

TEST_F(RuntimeMessagingTest, FailingEventInABatchIsRetriedAloneWhileTheOthersCommit) {
    std::vector<Envelope> events;
    events.reserve(10);
    for (int i = 0; i < 10; ++i) {
        events.push_back(TestEnvelope("pay-0" + std::to_string(i)));
    }
    const Envelope& flaky = events[4];
    std::vector<OutgoingMessage> batch;
    batch.reserve(events.size());
    for (const Envelope& envelope : events) {
        batch.push_back(Message(envelope));
    }
    Publish(batch);  // Before the consumer starts: its first poll takes all ten in one batch.
    std::string flaky_position;
    for (const StreamEntry& entry : Entries(bus_.StreamName(kTopic))) {
        if (entry.fields.at("k") == flaky.aggregate_id) {
            flaky_position = entry.id;
        }
    }
    ASSERT_FALSE(flaky_position.empty());

    // The delivery count of the flaky entry each time the handler sees it, read from Redis on
    // the consumer thread with a connection of its own.
    struct Seen {
        std::mutex mutex;
        std::vector<std::int64_t> delivery_counts;
    };
    auto seen = std::make_shared<Seen>();
    auto probe = std::make_shared<redis::Connection>(endpoint_);
    ConsumerOptions consumer = Consumer();
    consumer.visibility_timeout = 1s;
    StartConsumer(
        consumer,
        [calls = calls_,
         seen,
         probe,
         flaky_id = flaky.event_id,
         flaky_position,
         stream = bus_.StreamName(kTopic)](postgres::Transaction& tx, const Envelope& envelope) {
            const int call = calls->Record(envelope.event_id);
            if (envelope.event_id == flaky_id) {
                const redis::Reply rows =
                    probe->Command({"XPENDING", stream, kGroup, flaky_position, flaky_position, "1"}
                    );
                const std::lock_guard lock(seen->mutex);
                seen->delivery_counts.push_back(rows.elements.at(0).elements.at(3).integer);
                if (call <= 2) {
                    throw std::runtime_error("flaky failure " + std::to_string(call));
                }
            }
            ApplyToBusinessTable(tx, envelope);
        }
    );

    // First delivery: the batch fails, the nine others commit one by one and are acked.
    ASSERT_TRUE(Eventually([&] { return Applied() == 9 && Pending() == 1; }));
    EXPECT_EQ(Applied(flaky.event_id), 0);
    // Redelivered after the visibility timeout, and then applied.
    ASSERT_TRUE(Eventually([&] { return Applied() == 10 && Pending() == 0; }));
    for (const Envelope& envelope : events) {
        EXPECT_EQ(Applied(envelope.event_id), 1) << envelope.aggregate_id;
        EXPECT_EQ(Inbox(envelope.event_id), 1) << envelope.aggregate_id;
    }
    EXPECT_EQ(calls_->Calls(flaky.event_id), 3);
    const std::lock_guard lock(seen->mutex);
    EXPECT_THAT(seen->delivery_counts, ElementsAreArray(std::vector<std::int64_t>{1, 1, 2}));
    EXPECT_TRUE(DeadLetters().empty());
}

TEST_F(RuntimeMessagingTest, BatchPreludeSeesTheNewEventsOfABatchInsideItsTransaction) {
    const Envelope seen_before = TestEnvelope("pay-old");
    const std::vector<Envelope> batch = {
        TestEnvelope("pay-c"), TestEnvelope("pay-a"), TestEnvelope("pay-b")};
    struct Seen {
        std::mutex mutex;
        std::vector<std::vector<std::string>> preludes;  // aggregate ids per prelude call
        int handlers_with_prelude_state = 0;
    };
    auto seen = std::make_shared<Seen>();
    ConsumerOptions consumer = Consumer();
    consumer.prelude = [seen](postgres::Transaction& tx, std::span<const Envelope* const> events) {
        std::vector<std::string> ids;
        for (const Envelope* event : events) {
            ids.push_back(event->aggregate_id);
        }
        tx.Local<std::vector<std::string>>("test.prelude") = ids;
        const std::lock_guard lock(seen->mutex);
        seen->preludes.push_back(std::move(ids));
    };
    const EventHandler handler = [seen](postgres::Transaction& tx, const Envelope& envelope) {
        ApplyToBusinessTable(tx, envelope);
        const auto& prepared = tx.Local<std::vector<std::string>>("test.prelude");
        const std::lock_guard lock(seen->mutex);
        if (std::find(prepared.begin(), prepared.end(), envelope.aggregate_id) != prepared.end()) {
            ++seen->handlers_with_prelude_state;
        }
    };
    StartConsumer(consumer, handler);
    Publish({Message(seen_before)});
    ASSERT_TRUE(Eventually([&] { return Applied() == 1 && Pending() == 0; }));
    StopAll();

    // One batch: three new events and a redelivered one the inbox already has.
    Publish({Message(batch[0]), Message(seen_before), Message(batch[1]), Message(batch[2])});
    StartConsumer(consumer, handler);
    ASSERT_TRUE(Eventually([&] { return Applied() == 4 && Pending() == 0; }));
    const std::lock_guard lock(seen->mutex);
    ASSERT_EQ(seen->preludes.size(), 1U);  // the single-event first batch ran alone, no prelude
    EXPECT_THAT(seen->preludes[0], ElementsAreArray({"pay-a", "pay-b", "pay-c"}));
    EXPECT_EQ(seen->handlers_with_prelude_state, 3);
}

TEST_F(RuntimeMessagingTest, AfterCommitHooksRunOnlyForCommittedWork) {
    // Each hook checks from a connection of its own that its event's row is already visible.
    struct Hooks {
        std::atomic<int> total{0};
        std::atomic<int> saw_uncommitted{0};
        std::mutex mutex;
        std::map<std::string, int> per_event;
        std::optional<postgres::Connection> observer;  // Used on the consumer thread only.
    };
    auto hooks = std::make_shared<Hooks>();
    const Envelope doomed = TestEnvelope("pay-doomed");
    const Envelope flaky = TestEnvelope("pay-flaky");
    const std::vector<Envelope> good = {
        TestEnvelope("pay-a"), TestEnvelope("pay-m"), TestEnvelope("pay-z")};

    ConsumerOptions consumer = Consumer();
    consumer.visibility_timeout = 300ms;
    StartConsumer(
        consumer,
        [calls = calls_,
         hooks,
         dsn = db_.Dsn(),
         doomed_id = doomed.event_id,
         flaky_id = flaky.event_id](postgres::Transaction& tx, const Envelope& envelope) {
            const int call = calls->Record(envelope.event_id);
            ApplyToBusinessTable(tx, envelope);
            TransactionOutbox(tx).AfterCommit([hooks, dsn, event_id = envelope.event_id] {
                if (!hooks->observer) {
                    hooks->observer.emplace(postgres::Connection::Open(dsn));
                }
                if (hooks->observer
                        ->Exec(
                            "SELECT count(*) FROM applied_events WHERE event_id = $1", {event_id}
                        )
                        .GetInt(0, 0) != 1) {
                    ++hooks->saw_uncommitted;
                }
                {
                    const std::lock_guard lock(hooks->mutex);
                    ++hooks->per_event[event_id];
                }
                ++hooks->total;
            });
            if (envelope.event_id == doomed_id) {
                throw PermanentEventError("never processable");
            }
            if (envelope.event_id == flaky_id && call <= 2) {
                throw std::runtime_error("transient");
            }
        }
    );
    Publish({Message(good[0]), Message(doomed), Message(good[1]), Message(flaky), Message(good[2])}
    );

    ASSERT_TRUE(Eventually([&] {
        return Applied() == 4 && DeadLetters().size() == 1 && Pending() == 0;
    }));
    ASSERT_TRUE(Eventually([&] { return hooks->total.load() == 4; }));
    // A later, fully committed batch runs its own hooks and nothing left over.
    const std::vector<Envelope> later = {TestEnvelope("pay-b"), TestEnvelope("pay-c")};
    Publish({Message(later[0]), Message(later[1])});
    ASSERT_TRUE(Eventually([&] { return Applied() == 6 && Pending() == 0; }));
    ASSERT_TRUE(Eventually([&] { return hooks->total.load() == 6; }));

    StopAll();  // Hooks only run on the consumer thread: now the tallies are final.
    EXPECT_EQ(hooks->total.load(), 6);
    EXPECT_EQ(hooks->saw_uncommitted.load(), 0);
    const std::lock_guard lock(hooks->mutex);
    EXPECT_EQ(hooks->per_event.count(doomed.event_id), 0U);
    EXPECT_EQ(hooks->per_event[flaky.event_id], 1);
    for (const Envelope& envelope : good) {
        EXPECT_EQ(hooks->per_event[envelope.event_id], 1) << envelope.aggregate_id;
    }
    for (const Envelope& envelope : later) {
        EXPECT_EQ(hooks->per_event[envelope.event_id], 1) << envelope.aggregate_id;
    }
    EXPECT_GE(calls_->Calls(flaky.event_id), 3);
}

TEST_F(RuntimeMessagingTest, ConsumerSurvivesItsDatabaseConnectionBeingKilled) {
    const ConsumerOptions consumer = Consumer();
    StartConsumer(consumer, Applying());
    const Envelope first = TestEnvelope("pay-1");
    Publish({Message(first)});
    ASSERT_TRUE(Eventually([&] { return Applied(first.event_id) == 1; }));

    const std::string backends =
        "SELECT pid FROM pg_stat_activity "
        "WHERE application_name = $1 AND datname = current_database()";
    const postgres::Rows before = conn_.Exec(backends, {consumer.service});
    ASSERT_EQ(before.Size(), 1);
    const std::string killed_pid = before.GetString(0, 0);
    EXPECT_TRUE(conn_.Exec("SELECT pg_terminate_backend($1::int)", {killed_pid}).GetBool(0, 0));
    ASSERT_TRUE(Eventually([&] { return conn_.Exec(backends, {consumer.service}).Empty(); }));

    const std::vector<Envelope> later = {TestEnvelope("pay-2"), TestEnvelope("pay-3")};
    Publish({Message(later[0])});
    Publish({Message(later[1])});
    ASSERT_TRUE(Eventually([&] { return Applied() == 3 && Pending() == 0; }));
    for (const Envelope& envelope : later) {
        EXPECT_EQ(Applied(envelope.event_id), 1) << envelope.aggregate_id;
    }
    const postgres::Rows after = conn_.Exec(backends, {consumer.service});
    ASSERT_EQ(after.Size(), 1);
    EXPECT_NE(after.GetString(0, 0), killed_pid);
    EXPECT_EQ(Inbox(), 3);
    EXPECT_TRUE(DeadLetters().empty());
}

}  // namespace
}  // namespace sagapay
