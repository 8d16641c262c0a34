#include "adapters/redis/streams_event_bus.hpp"

#include <chrono>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "testing/test_env.hpp"

namespace sagapay::redis {
namespace {

using namespace std::chrono_literals;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using Clock = std::chrono::steady_clock;

constexpr const char* kTopic = "payment.authorized";

template <class T>
std::string ErrorText(const Result<T>& result) {
    return result ? std::string("(ok)") : result.error().message;
}

std::vector<std::string> Keys(const std::vector<Delivery>& deliveries) {
    std::vector<std::string> keys;
    keys.reserve(deliveries.size());
    for (const Delivery& delivery : deliveries) {
        keys.push_back(delivery.key);
    }
    return keys;
}

/// `*`, `?`, `[`, `]` and `\` are glob syntax in SCAN MATCH.
std::string GlobEscape(const std::string& text) {
    std::string escaped;
    for (const char c : text) {
        if (c == '*' || c == '?' || c == '[' || c == ']' || c == '\\') {
            escaped.push_back('\\');
        }
        escaped.push_back(c);
    }
    return escaped;
}

class StreamsEventBusRedisTest : public ::testing::Test {
protected:
    StreamsEventBusRedisTest()
        : endpoint_(ParseRedisUrl(sagapay::testing::TestRedisUrl())),
          prefix_(sagapay::testing::UniqueName("bus-test-") + ":"),
          bus_(endpoint_, prefix_),
          admin_(endpoint_) {}

    void TearDown() override {
        try {  // Drop every stream this test made: the prefix is unique to it.
            std::string cursor = "0";
            do {
                const Reply page = admin_.Command(
                    {"SCAN", cursor, "MATCH", GlobEscape(prefix_) + "*", "COUNT", "1000"}
                );
                cursor = page.elements.at(0).str;
                std::vector<std::string> del{"DEL"};
                for (const Reply& key : page.elements.at(1).elements) {
                    del.push_back(key.str);
                }
                if (del.size() > 1) {
                    (void)admin_.Command(del);
                }
            } while (cursor != "0");
        } catch (const std::exception&) {  // Best effort.
        }
    }

    std::unique_ptr<EventSubscription> Subscribe(
        const std::string& group,
        const std::string& consumer,
        std::chrono::milliseconds visibility_timeout = 30s
    ) {
        auto subscription = bus_.Subscribe({kTopic, group, consumer, visibility_timeout});
        if (!subscription) {
            ADD_FAILURE() << "subscribe failed: " << subscription.error().message;
            return nullptr;
        }
        return std::move(*subscription);
    }

    void Publish(const std::vector<OutgoingMessage>& batch) {
        auto publisher = bus_.CreatePublisher();
        ASSERT_TRUE(publisher) << ErrorText(publisher);
        const auto published = (*publisher)->Publish(batch);
        ASSERT_TRUE(published) << ErrorText(published);
    }

    /// Publishes `count` messages with keys pay-0, pay-1, ... and values value-0, value-1, ...
    void PublishNumbered(int count) {
        std::vector<OutgoingMessage> batch;
        batch.reserve(static_cast<std::size_t>(count));
        for (int i = 0; i < count; ++i) {
            batch.push_back({kTopic, "pay-" + std::to_string(i), "value-" + std::to_string(i)});
        }
        Publish(batch);
    }

    /// Polls (50 ms at a time) until `want` deliveries arrived or `limit` passed.
    static std::vector<Delivery> PollUntil(
        EventSubscription& subscription, std::size_t want, std::chrono::milliseconds limit
    ) {
        std::vector<Delivery> got;
        const auto deadline = Clock::now() + limit;
        while (got.size() < want && Clock::now() < deadline) {
            auto polled = subscription.Poll(want - got.size(), 50ms);
            if (!polled) {
                ADD_FAILURE() << "poll failed: " << polled.error().message;
                break;
            }
            for (Delivery& delivery : *polled) {
                got.push_back(std::move(delivery));
            }
        }
        return got;
    }

    std::int64_t PendingCount(const std::string& group) {
        // XPENDING summary: [count, smallest id, greatest id, consumers]
        return admin_.Command({"XPENDING", bus_.StreamName(kTopic), group}).elements.at(0).integer;
    }

    Endpoint endpoint_;
    std::string prefix_;
    RedisStreamsEventBus bus_;
    Connection admin_;
};

TEST_F(StreamsEventBusRedisTest, StreamNamesArePrefixedTopics) {
    EXPECT_EQ(bus_.StreamName("ledger.posted"), prefix_ + "ledger.posted");
    EXPECT_EQ(bus_.DeadLetterStream(), prefix_ + "deadletter");
}

TEST_F(StreamsEventBusRedisTest, PolledMessagesArriveInPublishOrderWithTheirKeys) {
    Publish({
        {kTopic, "pay-1", "first"},
        {kTopic, "pay-2", "second"},
        {kTopic, "pay-1", "third"},
    });
    auto subscription = Subscribe("orchestrator", "worker-1");
    ASSERT_NE(subscription, nullptr);

    const auto polled = subscription->Poll(10, 1s);

    ASSERT_TRUE(polled) << ErrorText(polled);
    ASSERT_EQ(polled->size(), 3u);
    EXPECT_THAT(Keys(*polled), ElementsAre("pay-1", "pay-2", "pay-1"));
    EXPECT_EQ((*polled)[0].value, "first");
    EXPECT_EQ((*polled)[1].value, "second");
    EXPECT_EQ((*polled)[2].value, "third");
    for (const Delivery& delivery : *polled) {
        EXPECT_EQ(delivery.topic, kTopic);
        EXPECT_EQ(delivery.delivery_count, 1);
        EXPECT_FALSE(delivery.position.empty());
    }
    EXPECT_NE((*polled)[0].position, (*polled)[1].position);
}

TEST_F(StreamsEventBusRedisTest, PublishWritesEachMessageToItsTopicsStream) {
    Publish({
        {kTopic, "pay-1", "a"},
        {"payment.captured", "pay-1", "b"},
        {kTopic, "pay-2", "c"},
    });

    EXPECT_EQ(admin_.Command({"XLEN", bus_.StreamName(kTopic)}).integer, 2);
    EXPECT_EQ(admin_.Command({"XLEN", bus_.StreamName("payment.captured")}).integer, 1);
}

TEST_F(StreamsEventBusRedisTest, PublishingAnEmptyBatchSucceeds) {
    Publish({});
    EXPECT_EQ(admin_.Command({"EXISTS", bus_.StreamName(kTopic)}).integer, 0);
}

TEST_F(StreamsEventBusRedisTest, BinaryValuesSurviveTheRoundTrip) {
    constexpr char kRaw[] = "{\"amount\":1}\0\xff\r\n";
    const std::string value(kRaw, sizeof(kRaw) - 1);
    Publish({{kTopic, std::string("k\0y", 3), value}});
    auto subscription = Subscribe("orchestrator", "worker-1");
    ASSERT_NE(subscription, nullptr);

    const auto polled = subscription->Poll(10, 1s);

    ASSERT_TRUE(polled) << ErrorText(polled);
    ASSERT_EQ(polled->size(), 1u);
    EXPECT_EQ((*polled)[0].key, std::string("k\0y", 3));
    EXPECT_EQ((*polled)[0].value, value);
}

TEST_F(StreamsEventBusRedisTest, ConsumersOfOneGroupSplitTheMessages) {
    PublishNumbered(10);
    auto first = Subscribe("ledger", "ledger-a");
    auto second = Subscribe("ledger", "ledger-b");
    ASSERT_NE(first, nullptr);
    ASSERT_NE(second, nullptr);

    const auto to_first = first->Poll(4, 1s);
    const auto to_second = second->Poll(100, 1s);

    ASSERT_TRUE(to_first) << ErrorText(to_first);
    ASSERT_TRUE(to_second) << ErrorText(to_second);
    EXPECT_EQ(to_first->size(), 4u);
    EXPECT_EQ(to_second->size(), 6u);
    std::set<std::string> keys;
    for (const auto* part : {&*to_first, &*to_second}) {
        for (const Delivery& delivery : *part) {
            EXPECT_TRUE(keys.insert(delivery.key).second) << delivery.key << " delivered twice";
        }
    }
    EXPECT_EQ(keys.size(), 10u);

    const auto first_again = first->Poll(100, 100ms);
    const auto second_again = second->Poll(100, 100ms);
    ASSERT_TRUE(first_again && second_again);
    EXPECT_TRUE(first_again->empty());
    EXPECT_TRUE(second_again->empty());
}

TEST_F(StreamsEventBusRedisTest, EachGroupGetsEveryMessage) {
    PublishNumbered(3);
    auto ledger = Subscribe("ledger", "ledger-1");
    auto notification = Subscribe("notification", "notification-1");
    ASSERT_NE(ledger, nullptr);
    ASSERT_NE(notification, nullptr);

    EXPECT_THAT(Keys(PollUntil(*ledger, 3, 2s)), ElementsAre("pay-0", "pay-1", "pay-2"));
    EXPECT_THAT(Keys(PollUntil(*notification, 3, 2s)), ElementsAre("pay-0", "pay-1", "pay-2"));
}

TEST_F(
    StreamsEventBusRedisTest, UnackedMessageOfADeadConsumerGoesToAnotherAfterTheVisibilityTimeout
) {
    PublishNumbered(1);
    std::string position;
    Clock::time_point first_delivery;
    {
        auto doomed = Subscribe("risk", "risk-doomed", 200ms);
        ASSERT_NE(doomed, nullptr);
        first_delivery = Clock::now();  // No later than Redis handed the entry out.
        const auto polled = doomed->Poll(10, 1s);
        ASSERT_TRUE(polled) << ErrorText(polled);
        ASSERT_EQ(polled->size(), 1u);
        position = (*polled)[0].position;
    }  // Gone without acking.
    auto survivor = Subscribe("risk", "risk-survivor", 200ms);
    ASSERT_NE(survivor, nullptr);

    const std::vector<Delivery> redelivered = PollUntil(*survivor, 1, 5s);

    ASSERT_EQ(redelivered.size(), 1u);
    EXPECT_GE(Clock::now() - first_delivery, 190ms);  // Redis counts idle time in whole ms.
    EXPECT_EQ(redelivered[0].position, position);
    EXPECT_EQ(redelivered[0].topic, kTopic);
    EXPECT_EQ(redelivered[0].key, "pay-0");
    EXPECT_EQ(redelivered[0].value, "value-0");
    EXPECT_EQ(redelivered[0].delivery_count, 2);

    ASSERT_TRUE(survivor->Ack(redelivered));
    EXPECT_EQ(PendingCount("risk"), 0);
}

TEST_F(StreamsEventBusRedisTest, DeliveryCountGrowsWithEachRedelivery) {
    PublishNumbered(1);
    auto flaky = Subscribe("risk", "risk-flaky", 200ms);
    ASSERT_NE(flaky, nullptr);

    ASSERT_EQ(PollUntil(*flaky, 1, 2s).size(), 1u);
    const std::vector<Delivery> second = PollUntil(*flaky, 1, 5s);
    ASSERT_EQ(second.size(), 1u);
    const std::vector<Delivery> third = PollUntil(*flaky, 1, 5s);
    ASSERT_EQ(third.size(), 1u);

    EXPECT_EQ(second[0].delivery_count, 2);
    EXPECT_EQ(third[0].delivery_count, 3);
}

TEST_F(StreamsEventBusRedisTest, AckedMessagesAreNeverRedelivered) {
    PublishNumbered(2);
    auto worker = Subscribe("risk", "risk-1", 200ms);
    auto other = Subscribe("risk", "risk-2", 200ms);
    ASSERT_NE(worker, nullptr);
    ASSERT_NE(other, nullptr);
    const auto polled = worker->Poll(10, 1s);
    ASSERT_TRUE(polled) << ErrorText(polled);
    ASSERT_EQ(polled->size(), 2u);

    const Result<void> acked = worker->Ack(*polled);

    ASSERT_TRUE(acked) << ErrorText(acked);
    EXPECT_EQ(PendingCount("risk"), 0);
    EXPECT_TRUE(PollUntil(*other, 1, 700ms).empty());
    EXPECT_TRUE(PollUntil(*worker, 1, 300ms).empty());
}

TEST_F(StreamsEventBusRedisTest, AckingADeliveryOfAnotherTopicIsRejected) {
    auto worker = Subscribe("risk", "risk-1");
    ASSERT_NE(worker, nullptr);
    const Delivery foreign{"payment.captured", "pay-1", "v", "1-0", 1};

    const Result<void> acked = worker->Ack(std::vector<Delivery>{foreign});
    const Result<void> parked = worker->DeadLetter(foreign, "why");

    ASSERT_FALSE(acked);
    EXPECT_EQ(acked.error().code, ErrorCode::kInvalidArgument);
    ASSERT_FALSE(parked);
    EXPECT_EQ(parked.error().code, ErrorCode::kInvalidArgument);
}

TEST_F(StreamsEventBusRedisTest, DeadLetterParksTheEntryWithItsReasonAndAcksIt) {
    Publish({{kTopic, "pay-7", "{\"amount\":-5}"}});
    auto worker = Subscribe("ledger", "ledger-1", 200ms);
    ASSERT_NE(worker, nullptr);
    const auto polled = worker->Poll(10, 1s);
    ASSERT_TRUE(polled) << ErrorText(polled);
    ASSERT_EQ(polled->size(), 1u);
    const Delivery& delivery = (*polled)[0];

    const Result<void> parked = worker->DeadLetter(delivery, "amount is negative");

    ASSERT_TRUE(parked) << ErrorText(parked);
    EXPECT_EQ(PendingCount("ledger"), 0);
    const Reply entries = admin_.Command({"XRANGE", bus_.DeadLetterStream(), "-", "+"});
    ASSERT_EQ(entries.elements.size(), 1u);
    std::map<std::string, std::string> fields;
    const Reply& pairs = entries.elements[0].elements.at(1);
    for (std::size_t i = 0; i + 1 < pairs.elements.size(); i += 2) {
        fields[pairs.elements[i].str] = pairs.elements[i + 1].str;
    }
    EXPECT_EQ(
        fields,
        (std::map<std::string, std::string>{
            {"topic", kTopic},
            {"group", "ledger"},
            {"key", "pay-7"},
            {"value", "{\"amount\":-5}"},
            {"reason", "amount is negative"},
            {"position", delivery.position},
            {"delivery_count", "1"},
        })
    );
    EXPECT_TRUE(PollUntil(*worker, 1, 500ms).empty());
}

TEST_F(StreamsEventBusRedisTest, PollOnAnEmptyStreamReturnsNothingAfterTheWait) {
    auto worker = Subscribe("ledger", "ledger-1");
    ASSERT_NE(worker, nullptr);
    const auto start = Clock::now();

    const auto polled = worker->Poll(10, 300ms);

    const auto elapsed = Clock::now() - start;
    ASSERT_TRUE(polled) << ErrorText(polled);
    EXPECT_TRUE(polled->empty());
    EXPECT_GE(elapsed, 250ms);
    EXPECT_LT(elapsed, 1500ms);
}

TEST_F(StreamsEventBusRedisTest, PollWithZeroWaitReturnsAtOnceInsteadOfBlockingForever) {
    auto worker = Subscribe("ledger", "ledger-1");
    ASSERT_NE(worker, nullptr);
    const auto start = Clock::now();

    const auto polled = worker->Poll(10, 0ms);

    ASSERT_TRUE(polled) << ErrorText(polled);
    EXPECT_TRUE(polled->empty());
    EXPECT_LT(Clock::now() - start, 1s);  // BLOCK 0 would hang until the socket timeout.
}

TEST_F(StreamsEventBusRedisTest, PollWakesUpAsSoonAsAMessageIsPublished) {
    auto worker = Subscribe("ledger", "ledger-1");
    ASSERT_NE(worker, nullptr);
    ASSERT_TRUE(worker->Poll(10, 0ms));  // The first poll's reclaim pass is out of the way.
    PublishNumbered(1);
    const auto start = Clock::now();

    const auto polled = worker->Poll(10, 5s);

    ASSERT_TRUE(polled) << ErrorText(polled);
    EXPECT_EQ(polled->size(), 1u);
    EXPECT_LT(Clock::now() - start, 2s);
}

TEST_F(StreamsEventBusRedisTest, AGroupCreatedAfterPublishingStillGetsEarlierMessages) {
    PublishNumbered(3);

    auto late = Subscribe("late-joiner", "late-1");
    ASSERT_NE(late, nullptr);

    EXPECT_THAT(Keys(PollUntil(*late, 3, 2s)), ElementsAre("pay-0", "pay-1", "pay-2"));
}

TEST_F(StreamsEventBusRedisTest, SubscribingTwiceToOneGroupKeepsItsProgress) {
    PublishNumbered(2);
    auto first = Subscribe("ledger", "ledger-1");
    ASSERT_NE(first, nullptr);
    const std::vector<Delivery> delivered = PollUntil(*first, 2, 2s);
    ASSERT_EQ(delivered.size(), 2u);
    ASSERT_TRUE(first->Ack(delivered));

    auto again = Subscribe("ledger", "ledger-2");
    ASSERT_NE(again, nullptr);

    EXPECT_TRUE(PollUntil(*again, 1, 300ms).empty());
}

TEST_F(StreamsEventBusRedisTest, EntriesWithoutKeyOrValueFieldsAreDeliveredWithEmptyStrings) {
    auto worker = Subscribe("ledger", "ledger-1");
    ASSERT_NE(worker, nullptr);
    (void)admin_.Command({"XADD", bus_.StreamName(kTopic), "*", "unrelated", "x"});

    const std::vector<Delivery> delivered = PollUntil(*worker, 1, 2s);

    ASSERT_EQ(delivered.size(), 1u);
    EXPECT_EQ(delivered[0].key, "");
    EXPECT_EQ(delivered[0].value, "");
}

TEST_F(StreamsEventBusRedisTest, PollReturnsAnErrorWhenTheGroupVanishedAndRecoversAfterwards) {
    auto worker = Subscribe("ledger", "ledger-1");
    ASSERT_NE(worker, nullptr);
    (void)admin_.Command({"DEL", bus_.StreamName(kTopic)});

    const auto failed = worker->Poll(10, 100ms);

    ASSERT_FALSE(failed);
    EXPECT_EQ(failed.error().code, ErrorCode::kUnavailable);
    EXPECT_THAT(failed.error().message, HasSubstr("NOGROUP"));
    PublishNumbered(1);
    EXPECT_EQ(PollUntil(*worker, 1, 2s).size(), 1u);
}

TEST_F(StreamsEventBusRedisTest, SubscribeRejectsIncompleteOptions) {
    const auto no_group = bus_.Subscribe({kTopic, "", "c", 30s});
    const auto no_timeout = bus_.Subscribe({kTopic, "g", "c", 0ms});

    ASSERT_FALSE(no_group);
    EXPECT_EQ(no_group.error().code, ErrorCode::kInvalidArgument);
    ASSERT_FALSE(no_timeout);
    EXPECT_EQ(no_timeout.error().code, ErrorCode::kInvalidArgument);
}

TEST(StreamsEventBusUnreachableTest, AnUnreachableServerGivesUnavailableResultsNotExceptions) {
    RedisStreamsEventBus bus(Endpoint{"127.0.0.1", 1, 200ms}, "nowhere:");

    const auto subscription = bus.Subscribe({kTopic, "g", "c", 30s});
    auto publisher = bus.CreatePublisher();
    ASSERT_TRUE(publisher) << ErrorText(publisher);
    const OutgoingMessage message{kTopic, "k", "v"};
    const auto published = (*publisher)->Publish({&message, 1});

    ASSERT_FALSE(subscription);
    EXPECT_EQ(subscription.error().code, ErrorCode::kUnavailable);
    ASSERT_FALSE(published);
    EXPECT_EQ(published.error().code, ErrorCode::kUnavailable);
}

std::vector<std::string> Positions(const std::vector<Delivery>& deliveries) {
    std::vector<std::string> positions;
    positions.reserve(deliveries.size());
    for (const Delivery& delivery : deliveries) {
        positions.push_back(delivery.position);
    }
    return positions;
}

TEST_F(StreamsEventBusRedisTest, PublishReturnsThePositionOfEachMessageInOrder) {
    auto publisher = bus_.CreatePublisher();
    ASSERT_TRUE(publisher) << ErrorText(publisher);
    const std::vector<OutgoingMessage> batch = {{kTopic, "pay-0", "a"}, {kTopic, "pay-1", "b"}};

    const auto published = (*publisher)->Publish(batch);

    ASSERT_TRUE(published) << ErrorText(published);
    const Reply entries = admin_.Command({"XRANGE", bus_.StreamName(kTopic), "-", "+"});
    ASSERT_EQ(published->size(), 2U);
    EXPECT_EQ((*published)[0], entries.elements.at(0).elements.at(0).str);
    EXPECT_EQ((*published)[1], entries.elements.at(1).elements.at(0).str);
}

TEST_F(StreamsEventBusRedisTest, TrimmingNeverRemovesAnEntryAGroupHasNotAcknowledged) {
    auto fast = Subscribe("fast", "f1");
    auto slow = Subscribe("slow", "s1");
    PublishNumbered(6);
    // fast: all six delivered, the first four acked, two pending.
    const std::vector<Delivery> fast_got = PollUntil(*fast, 6, 2s);
    ASSERT_EQ(fast_got.size(), 6U);
    ASSERT_TRUE(fast->Ack(std::span(fast_got).first(4)));
    // slow: three delivered, only the first acked (the second is its oldest pending entry).
    const std::vector<Delivery> slow_got = PollUntil(*slow, 3, 2s);
    ASSERT_EQ(slow_got.size(), 3U);
    ASSERT_TRUE(slow->Ack(std::span(slow_got).first(1)));
    auto publisher = bus_.CreatePublisher();
    ASSERT_TRUE(publisher);

    auto progress = (*publisher)->Progress(kTopic);
    ASSERT_TRUE(progress) << ErrorText(progress);
    EXPECT_TRUE(progress->exists);
    EXPECT_EQ(progress->groups, 2U);
    EXPECT_EQ(progress->last_position, fast_got[5].position);
    EXPECT_EQ(progress->consumed_before, slow_got[1].position);  // slow's oldest pending
    auto trimmed = (*publisher)->TrimBefore(kTopic, progress->consumed_before);
    ASSERT_TRUE(trimmed) << ErrorText(trimmed);
    EXPECT_EQ(*trimmed, 1);

    // slow acks its two and reads the rest: now both groups are done up to fast's pending ones.
    ASSERT_TRUE(slow->Ack(std::span(slow_got).subspan(1)));
    const std::vector<Delivery> slow_rest = PollUntil(*slow, 3, 2s);
    ASSERT_EQ(slow_rest.size(), 3U);
    EXPECT_EQ(slow_rest[0].value, "value-3");
    ASSERT_TRUE(slow->Ack(slow_rest));
    progress = (*publisher)->Progress(kTopic);
    ASSERT_TRUE(progress);
    EXPECT_EQ(progress->consumed_before, fast_got[4].position);  // fast's oldest pending
    trimmed = (*publisher)->TrimBefore(kTopic, progress->consumed_before);
    ASSERT_TRUE(trimmed);
    EXPECT_EQ(*trimmed, 3);
    const Reply left = admin_.Command({"XRANGE", bus_.StreamName(kTopic), "-", "+"});
    ASSERT_EQ(left.elements.size(), 2U);
    EXPECT_EQ(left.elements[0].elements.at(0).str, fast_got[4].position);

    // fast acks the rest: everything is consumed, the stream empties, its ids go on.
    ASSERT_TRUE(fast->Ack(std::span(fast_got).subspan(4)));
    progress = (*publisher)->Progress(kTopic);
    ASSERT_TRUE(progress);
    ASSERT_TRUE((*publisher)->TrimBefore(kTopic, progress->consumed_before));
    EXPECT_EQ(admin_.Command({"XLEN", bus_.StreamName(kTopic)}).integer, 0);
    PublishNumbered(1);
    EXPECT_EQ(Positions(PollUntil(*slow, 1, 2s)).size(), 1U);
}

TEST_F(StreamsEventBusRedisTest, GroupLagCountsTheEntriesItselfWhenRedisCannotTell) {
    auto worker = Subscribe("ledger", "ledger-1");
    ASSERT_NE(worker, nullptr);
    auto publisher = bus_.CreatePublisher();
    ASSERT_TRUE(publisher);
    std::vector<OutgoingMessage> batch;
    batch.reserve(5);
    for (int i = 0; i < 5; ++i) {
        batch.push_back({kTopic, "pay-" + std::to_string(i), "v"});
    }
    const auto positions = (*publisher)->Publish(batch);
    ASSERT_TRUE(positions);
    // An XDEL after the group's last delivered entry makes XINFO GROUPS report `lag` as nil.
    (void)admin_.Command({"XDEL", bus_.StreamName(kTopic), (*positions)[1]});
    const Reply groups = admin_.Command({"XINFO", "GROUPS", bus_.StreamName(kTopic)});
    ASSERT_EQ(groups.elements.size(), 1U);
    for (std::size_t i = 0; i + 1 < groups.elements[0].elements.size(); i += 2) {
        if (groups.elements[0].elements[i].str == "lag") {
            ASSERT_TRUE(groups.elements[0].elements[i + 1].IsNil());
        }
    }

    const auto undelivered = worker->GroupLag();
    ASSERT_EQ(PollUntil(*worker, 2, 2s).size(), 2U);
    const auto two_pending = worker->GroupLag();

    ASSERT_TRUE(undelivered) << ErrorText(undelivered);
    EXPECT_EQ(*undelivered, 4);
    ASSERT_TRUE(two_pending) << ErrorText(two_pending);
    EXPECT_EQ(*two_pending, 4);
}

TEST_F(StreamsEventBusRedisTest, ReadTopicGivesADeadLetterEntrysFieldsAsHeaders) {
    (void)admin_.Command(
        {"XADD",
         bus_.DeadLetterStream(),
         "*",
         "topic",
         kTopic,
         "key",
         "pay-1",
         "value",
         "{}",
         "reason",
         "bad"}
    );

    const auto held = bus_.ReadTopic("deadletter", 0);

    ASSERT_TRUE(held) << ErrorText(held);
    ASSERT_EQ(held->size(), 1U);
    EXPECT_EQ((*held)[0].key, "pay-1");
    EXPECT_EQ((*held)[0].value, "{}");
    using Header = std::pair<std::string, std::string>;
    EXPECT_THAT((*held)[0].headers, ElementsAre(Header{"topic", kTopic}, Header{"reason", "bad"}));
}

TEST_F(StreamsEventBusRedisTest, ReadTopicPagesThroughLongStreams) {
    PublishNumbered(2500);

    const auto all = bus_.ReadTopic(kTopic, 0);
    const auto some = bus_.ReadTopic(kTopic, 1001);

    ASSERT_TRUE(all) << ErrorText(all);
    ASSERT_EQ(all->size(), 2500U);
    EXPECT_EQ(all->back().value, "value-2499");
    ASSERT_TRUE(some) << ErrorText(some);
    ASSERT_EQ(some->size(), 1001U);
    EXPECT_EQ(some->back().value, "value-1000");
}

TEST_F(StreamsEventBusRedisTest, ProgressOfAMissingStreamSaysSoAndAStreamWithoutGroupsHasNoBound) {
    auto publisher = bus_.CreatePublisher();
    ASSERT_TRUE(publisher);
    auto missing = (*publisher)->Progress(kTopic);
    ASSERT_TRUE(missing) << ErrorText(missing);
    EXPECT_FALSE(missing->exists);

    PublishNumbered(2);
    auto ungrouped = (*publisher)->Progress(kTopic);
    ASSERT_TRUE(ungrouped);
    EXPECT_TRUE(ungrouped->exists);
    EXPECT_EQ(ungrouped->groups, 0U);
    EXPECT_TRUE(ungrouped->consumed_before.empty());
}

}  // namespace
}  // namespace sagapay::redis
