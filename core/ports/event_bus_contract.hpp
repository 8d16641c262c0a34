#pragma once

// The contract of EventBus, run against redis::RedisStreamsEventBus
// (adapters/redis/streams_event_bus_contract_redistest.cpp) and kafka::KafkaEventBus
// (adapters/kafka/kafka_event_bus_kafkatest.cpp). Services rely on no more than this.
//
// A harness `H` gives each test a bus of its own (a name prefix unique to the test) and provides:
//   EventBus& Bus();
//   void Settle(const std::vector<EventSubscription*>& group);
//       returns once every subscription of one group takes part in it (Kafka: each owns
//       partitions after the group rebalanced; Redis: at once). It may Poll them, so call it
//       before anything is published to their topic.
//   static constexpr std::chrono::milliseconds kArrival;
//       the longest a published message may take to reach a subscribed consumer, group joins
//       included.
//
// Where the adapters differ by design, so nothing here asserts it:
//   - positions: Redis stream ids `ms-seq`, Kafka `partition:offset`;
//   - order: Redis keeps one order per topic, Kafka one per key (its partition);
//   - a dead consumer's un-acked messages: Redis hands them to another consumer after the
//     visibility timeout (XAUTOCLAIM), Kafka once the group rebalanced (session timeout), from
//     the group's committed offset;
//   - delivery_count: Redis keeps it on the server; Kafka in the consumer's memory, so it starts
//     at 1 again after a rebalance or restart;
//   - a message acked after an un-acked one of its partition: Kafka commits only each
//     partition's acked prefix, so a rebalance or restart delivers it again (inbox dedupes).

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "core/ports/event_bus.hpp"

namespace sagapay::event_bus_contract {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

inline constexpr const char* kTopic = "payments.requested";
inline constexpr const char* kDeadLetterTopic = "deadletter";
/// Partitions enough for two consumers to split; the broker's replication factor, which suits
/// its min.insync.replicas (a 3-broker test cluster refuses acks=all on a topic of 1 replica).
inline constexpr TopicSettings kTopicSettings{.partitions = 3, .replication_factor = 0};

template <class T>
std::string ErrorText(const Result<T>& result) {
    return result ? std::string("(ok)") : result.error().message;
}

inline std::string HeaderOf(const StoredMessage& message, const std::string& name) {
    for (const auto& [header, value] : message.headers) {
        if (header == name) {
            return value;
        }
    }
    return "(no header " + name + ")";
}

template <class Harness>
class EventBusContract : public ::testing::Test {
protected:
    void SetUp() override {
        const std::vector<std::string> topics = {kTopic, kDeadLetterTopic};
        const auto ensured = Bus().EnsureTopics(topics, kTopicSettings);
        ASSERT_TRUE(ensured) << ErrorText(ensured);
    }

    EventBus& Bus() { return harness_.Bus(); }

    std::unique_ptr<EventSubscription> Subscribe(
        const std::string& group,
        const std::string& consumer,
        std::chrono::milliseconds visibility_timeout = 30s
    ) {
        auto subscription = Bus().Subscribe(SubscriptionOptions{
            .topic = kTopic,
            .group = group,
            .consumer = consumer,
            .visibility_timeout = visibility_timeout,
        });
        if (!subscription) {
            ADD_FAILURE() << "subscribe failed: " << subscription.error().message;
            return nullptr;
        }
        return std::move(*subscription);
    }

    std::vector<std::string> Publish(const std::vector<OutgoingMessage>& batch) {
        auto publisher = Bus().CreatePublisher();
        if (!publisher) {
            ADD_FAILURE() << "create publisher failed: " << publisher.error().message;
            return {};
        }
        auto published = (*publisher)->Publish(batch);
        if (!published) {
            ADD_FAILURE() << "publish failed: " << published.error().message;
            return {};
        }
        return std::move(*published);
    }

    /// `count` messages with keys pay-<first>, ... and values value-<first>, ...
    static std::vector<OutgoingMessage> Numbered(int count, int first = 0) {
        std::vector<OutgoingMessage> batch;
        batch.reserve(static_cast<std::size_t>(count));
        for (int i = first; i < first + count; ++i) {
            batch.push_back(OutgoingMessage{
                .topic = kTopic,
                .key = "pay-" + std::to_string(i),
                .value = "value-" + std::to_string(i),
            });
        }
        return batch;
    }

    /// `count` messages with the key pay-1 and values v0, v1, ...
    static std::vector<OutgoingMessage> OneKey(int count) {
        std::vector<OutgoingMessage> batch;
        batch.reserve(static_cast<std::size_t>(count));
        for (int i = 0; i < count; ++i) {
            batch.push_back({.topic = kTopic, .key = "pay-1", .value = "v" + std::to_string(i)});
        }
        return batch;
    }

    /// Polls (100 ms at a time, `max` per poll) until `want` deliveries arrived or `limit` passed;
    /// acks each poll's deliveries when `ack`.
    static std::vector<Delivery> PollUntil(
        EventSubscription& subscription,
        std::size_t want,
        std::chrono::milliseconds limit,
        bool ack = false,
        std::size_t max = 1000
    ) {
        std::vector<Delivery> got;
        const auto deadline = Clock::now() + limit;
        while (got.size() < want && Clock::now() < deadline) {
            auto polled = subscription.Poll(std::min(max, want - got.size()), 100ms);
            if (!polled) {
                ADD_FAILURE() << "poll failed: " << polled.error().message;
                break;
            }
            if (ack && !polled->empty()) {
                const auto acked = subscription.Ack(*polled);
                EXPECT_TRUE(acked) << ErrorText(acked);
            }
            for (Delivery& delivery : *polled) {
                got.push_back(std::move(delivery));
            }
        }
        return got;
    }

    /// Everything delivered within `duration` (acked when `ack`).
    static std::vector<Delivery> Drain(
        EventSubscription& subscription, std::chrono::milliseconds duration, bool ack = true
    ) {
        std::vector<Delivery> got;
        const auto deadline = Clock::now() + duration;
        while (Clock::now() < deadline) {
            auto polled = subscription.Poll(1000, 50ms);
            if (!polled) {
                ADD_FAILURE() << "poll failed: " << polled.error().message;
                break;
            }
            if (ack && !polled->empty()) {
                EXPECT_TRUE(subscription.Ack(*polled));
            }
            for (Delivery& delivery : *polled) {
                got.push_back(std::move(delivery));
            }
        }
        return got;
    }

    static std::vector<std::string> Values(const std::vector<Delivery>& deliveries) {
        std::vector<std::string> values;
        values.reserve(deliveries.size());
        for (const Delivery& delivery : deliveries) {
            values.push_back(delivery.value);
        }
        return values;
    }

    Harness harness_;
};

TYPED_TEST_SUITE_P(EventBusContract);

TYPED_TEST_P(EventBusContract, APublishedMessageArrivesWithItsKeyValueAndPosition) {
    auto worker = this->Subscribe("ledger", "ledger-1");
    ASSERT_NE(worker, nullptr);
    this->harness_.Settle({worker.get()});

    const std::vector<std::string> positions = this->Publish({
        {.topic = kTopic, .key = "pay-1", .value = "first"},
        {.topic = kTopic, .key = "pay-2", .value = "second"},
    });
    const std::vector<Delivery> got = this->PollUntil(*worker, 2, TypeParam::kArrival);

    ASSERT_EQ(positions.size(), 2U);
    EXPECT_FALSE(positions[0].empty());
    EXPECT_NE(positions[0], positions[1]);
    ASSERT_EQ(got.size(), 2U);
    std::map<std::string, Delivery> by_key;
    for (const Delivery& delivery : got) {
        by_key[delivery.key] = delivery;
    }
    ASSERT_EQ(by_key.count("pay-1"), 1U);
    ASSERT_EQ(by_key.count("pay-2"), 1U);
    EXPECT_EQ(by_key["pay-1"].value, "first");
    EXPECT_EQ(by_key["pay-1"].position, positions[0]);
    EXPECT_EQ(by_key["pay-2"].value, "second");
    EXPECT_EQ(by_key["pay-2"].position, positions[1]);
    for (const Delivery& delivery : got) {
        EXPECT_EQ(delivery.topic, kTopic);
        EXPECT_EQ(delivery.delivery_count, 1);
    }
}

TYPED_TEST_P(EventBusContract, MessagesOfOneKeyArriveInPublishOrder) {
    std::vector<OutgoingMessage> first;
    std::vector<OutgoingMessage> second;
    for (int i = 0; i < 40; ++i) {
        const std::string key = "pay-" + std::to_string(i % 5);
        (i < 20 ? first : second)
            .push_back({.topic = kTopic, .key = key, .value = key + "/" + std::to_string(i)});
    }
    this->Publish(first);
    this->Publish(second);
    auto worker = this->Subscribe("ledger", "ledger-1");
    ASSERT_NE(worker, nullptr);

    const std::vector<Delivery> got = this->PollUntil(*worker, 40, TypeParam::kArrival, true);

    ASSERT_EQ(got.size(), 40U);
    std::map<std::string, std::vector<std::string>> per_key;
    for (const Delivery& delivery : got) {
        per_key[delivery.key].push_back(delivery.value);
    }
    for (const auto& batch : {first, second}) {
        for (const OutgoingMessage& message : batch) {
            auto& seen = per_key[message.key];
            ASSERT_FALSE(seen.empty()) << message.value << " missing or out of order";
            EXPECT_EQ(seen.front(), message.value);
            seen.erase(seen.begin());
        }
    }
}

TYPED_TEST_P(EventBusContract, PublishingAnEmptyBatchGivesNoPositions) {
    auto publisher = this->Bus().CreatePublisher();
    ASSERT_TRUE(publisher) << ErrorText(publisher);

    const auto published = (*publisher)->Publish({});

    ASSERT_TRUE(published) << ErrorText(published);
    EXPECT_TRUE(published->empty());
}

TYPED_TEST_P(EventBusContract, ConsumersOfOneGroupSplitTheMessagesWithoutDuplicatesOrLoss) {
    auto first = this->Subscribe("risk", "risk-a");
    auto second = this->Subscribe("risk", "risk-b");
    ASSERT_NE(first, nullptr);
    ASSERT_NE(second, nullptr);
    this->harness_.Settle({first.get(), second.get()});
    this->Publish(this->Numbered(30));

    std::vector<Delivery> to_first;
    std::vector<Delivery> to_second;
    const auto deadline = Clock::now() + TypeParam::kArrival;
    while (to_first.size() + to_second.size() < 30 && Clock::now() < deadline) {
        for (auto* part : {&to_first, &to_second}) {
            EventSubscription& consumer = part == &to_first ? *first : *second;
            auto got = this->PollUntil(consumer, 5, 100ms, true, 5);
            part->insert(part->end(), got.begin(), got.end());
        }
    }
    const std::vector<Delivery> late_first = this->Drain(*first, 500ms);
    const std::vector<Delivery> late_second = this->Drain(*second, 500ms);

    EXPECT_FALSE(to_first.empty());
    EXPECT_FALSE(to_second.empty());
    EXPECT_TRUE(late_first.empty());
    EXPECT_TRUE(late_second.empty());
    std::set<std::string> keys;
    for (const auto* part : {&to_first, &to_second}) {
        for (const Delivery& delivery : *part) {
            EXPECT_TRUE(keys.insert(delivery.key).second) << delivery.key << " delivered twice";
        }
    }
    EXPECT_EQ(keys.size(), 30U);
}

TYPED_TEST_P(EventBusContract, EachGroupGetsEveryMessage) {
    this->Publish(this->Numbered(6));
    auto ledger = this->Subscribe("ledger", "ledger-1");
    auto notification = this->Subscribe("notification", "notification-1");
    ASSERT_NE(ledger, nullptr);
    ASSERT_NE(notification, nullptr);

    const auto to_ledger = this->Values(this->PollUntil(*ledger, 6, TypeParam::kArrival, true));
    const auto to_notification =
        this->Values(this->PollUntil(*notification, 6, TypeParam::kArrival, true));

    const std::set<std::string> all = {
        "value-0", "value-1", "value-2", "value-3", "value-4", "value-5"};
    EXPECT_EQ(std::set<std::string>(to_ledger.begin(), to_ledger.end()), all);
    EXPECT_EQ(to_ledger.size(), 6U);
    EXPECT_EQ(std::set<std::string>(to_notification.begin(), to_notification.end()), all);
    EXPECT_EQ(to_notification.size(), 6U);
}

TYPED_TEST_P(
    EventBusContract, AnUnackedDeliveryComesBackAfterTheVisibilityTimeoutWithoutHoldingBackOthers
) {
    constexpr auto kVisibility = 500ms;
    auto worker = this->Subscribe("risk", "risk-1", kVisibility);
    ASSERT_NE(worker, nullptr);
    this->harness_.Settle({worker.get()});
    this->Publish(this->Numbered(1));
    const auto before_first_poll = Clock::now();
    const std::vector<Delivery> first = this->PollUntil(*worker, 1, TypeParam::kArrival);
    ASSERT_EQ(first.size(), 1U);
    this->Publish(this->Numbered(3, 1));

    // The later messages are handled and acked while pay-0 is still un-acked; pay-0 is acked
    // once it came back and every later one was seen.
    std::set<std::string> later;
    std::vector<Delivery> redelivered;
    Clock::time_point redelivered_at;
    const auto deadline = Clock::now() + TypeParam::kArrival + 5 * kVisibility;
    while ((later.size() < 3 || redelivered.empty()) && Clock::now() < deadline) {
        auto polled = worker->Poll(10, 50ms);
        ASSERT_TRUE(polled) << ErrorText(polled);
        for (const Delivery& delivery : *polled) {
            if (delivery.key != "pay-0") {
                EXPECT_EQ(delivery.delivery_count, 1);
                EXPECT_TRUE(later.insert(delivery.key).second) << delivery.key << " came twice";
                ASSERT_TRUE(worker->Ack(std::vector<Delivery>{delivery}));
            } else if (redelivered.empty()) {
                redelivered_at = Clock::now();
                redelivered.push_back(delivery);
            }
        }
    }

    EXPECT_EQ(later.size(), 3U);
    ASSERT_EQ(redelivered.size(), 1U);
    EXPECT_GE(redelivered_at - before_first_poll, kVisibility - 10ms);  // Redis: whole ms.
    EXPECT_EQ(redelivered[0].position, first[0].position);
    EXPECT_EQ(redelivered[0].value, "value-0");
    EXPECT_EQ(redelivered[0].topic, kTopic);
    EXPECT_GE(redelivered[0].delivery_count, 2);
    ASSERT_TRUE(worker->Ack(redelivered));
    EXPECT_TRUE(this->Drain(*worker, 2 * kVisibility).empty());
}

TYPED_TEST_P(EventBusContract, AckedMessagesNeverComeBackForANewConsumerOfTheGroup) {
    {
        auto first = this->Subscribe("orchestrator", "orchestrator-1");
        ASSERT_NE(first, nullptr);
        this->harness_.Settle({first.get()});
        this->Publish(this->Numbered(4));
        ASSERT_EQ(this->PollUntil(*first, 4, TypeParam::kArrival, true).size(), 4U);
    }  // Gone after acking everything, as a restarted process is.
    auto second = this->Subscribe("orchestrator", "orchestrator-2");
    ASSERT_NE(second, nullptr);
    this->harness_.Settle({second.get()});

    const std::vector<Delivery> old = this->Drain(*second, 500ms);
    this->Publish(this->Numbered(1, 4));
    std::vector<Delivery> fresh = this->PollUntil(*second, 1, TypeParam::kArrival, true);
    for (Delivery& more : this->Drain(*second, 300ms)) {
        fresh.push_back(std::move(more));
    }

    EXPECT_TRUE(old.empty()) << old.size() << " acked messages came back, first "
                             << (old.empty() ? "" : old[0].value);
    EXPECT_EQ(this->Values(fresh), std::vector<std::string>{"value-4"});
}

TYPED_TEST_P(EventBusContract, ADeadLetteredMessageIsParkedWithItsReasonAndNotDeliveredAgain) {
    auto worker = this->Subscribe("ledger", "ledger-1", 300ms);
    ASSERT_NE(worker, nullptr);
    this->harness_.Settle({worker.get()});
    this->Publish({{.topic = kTopic, .key = "pay-7", .value = "{\"amount\":-5}"}});
    const std::vector<Delivery> got = this->PollUntil(*worker, 1, TypeParam::kArrival);
    ASSERT_EQ(got.size(), 1U);

    const Result<void> parked = worker->DeadLetter(got[0], "amount is negative");

    ASSERT_TRUE(parked) << ErrorText(parked);
    EXPECT_TRUE(this->Drain(*worker, 1s).empty());
    const auto held = this->Bus().ReadTopic(kDeadLetterTopic, 0);
    ASSERT_TRUE(held) << ErrorText(held);
    ASSERT_EQ(held->size(), 1U);
    const StoredMessage& message = (*held)[0];
    EXPECT_EQ(message.key, "pay-7");
    EXPECT_EQ(message.value, "{\"amount\":-5}");
    EXPECT_FALSE(message.position.empty());
    EXPECT_EQ(HeaderOf(message, "reason"), "amount is negative");
    EXPECT_EQ(HeaderOf(message, "topic"), kTopic);
    EXPECT_EQ(HeaderOf(message, "group"), "ledger");
    EXPECT_EQ(HeaderOf(message, "position"), got[0].position);
    EXPECT_EQ(HeaderOf(message, "delivery_count"), "1");
}

TYPED_TEST_P(EventBusContract, ReadTopicGivesTheHeldMessagesOldestFirstUpToTheLimit) {
    const std::vector<std::string> positions = this->Publish(this->OneKey(5));
    ASSERT_EQ(positions.size(), 5U);

    const auto all = this->Bus().ReadTopic(kTopic, 0);
    const auto first_three = this->Bus().ReadTopic(kTopic, 3);
    const auto missing = this->Bus().ReadTopic("never.published", 0);

    ASSERT_TRUE(all) << ErrorText(all);
    ASSERT_EQ(all->size(), 5U);
    for (std::size_t i = 0; i < 5; ++i) {
        EXPECT_EQ((*all)[i].value, "v" + std::to_string(i));
        EXPECT_EQ((*all)[i].key, "pay-1");
        EXPECT_EQ((*all)[i].position, positions[i]);
        EXPECT_TRUE((*all)[i].headers.empty());
    }
    ASSERT_TRUE(first_three) << ErrorText(first_three);
    ASSERT_EQ(first_three->size(), 3U);
    EXPECT_EQ((*first_three)[2].value, "v2");
    ASSERT_TRUE(missing) << ErrorText(missing);
    EXPECT_TRUE(missing->empty());
}

TYPED_TEST_P(EventBusContract, EnsureTopicsAcceptsTopicsThatExistAlready) {
    const std::vector<std::string> topics = {kTopic, "ledger.posted"};

    const auto once = this->Bus().EnsureTopics(topics, kTopicSettings);
    const auto twice = this->Bus().EnsureTopics(topics, kTopicSettings);
    auto publisher = this->Bus().CreatePublisher();
    ASSERT_TRUE(publisher) << ErrorText(publisher);
    const OutgoingMessage message{.topic = "ledger.posted", .key = "pay-1", .value = "posted"};
    const auto published = (*publisher)->Publish({&message, 1});

    ASSERT_TRUE(once) << ErrorText(once);
    ASSERT_TRUE(twice) << ErrorText(twice);
    ASSERT_TRUE(published) << ErrorText(published);
    const auto held = this->Bus().ReadTopic("ledger.posted", 0);
    ASSERT_TRUE(held) << ErrorText(held);
    ASSERT_EQ(held->size(), 1U);
    EXPECT_EQ((*held)[0].value, "posted");
}

TYPED_TEST_P(EventBusContract, GroupLagCountsWhatTheGroupHasNotAckedAndDropsToZeroAfterAcks) {
    auto worker = this->Subscribe("notification", "notification-1");
    ASSERT_NE(worker, nullptr);
    this->harness_.Settle({worker.get()});
    const auto empty = worker->GroupLag();
    this->Publish(this->OneKey(5));  // One key: one partition, so acks commit in order.

    const auto published = worker->GroupLag();
    const std::vector<Delivery> got = this->PollUntil(*worker, 5, TypeParam::kArrival);
    ASSERT_EQ(got.size(), 5U);
    const auto delivered = worker->GroupLag();
    ASSERT_TRUE(worker->Ack(std::vector<Delivery>(got.begin(), got.begin() + 2)));
    const auto partly_acked = worker->GroupLag();
    ASSERT_TRUE(worker->Ack(std::vector<Delivery>(got.begin() + 2, got.end())));
    const auto all_acked = worker->GroupLag();

    ASSERT_TRUE(empty) << ErrorText(empty);
    EXPECT_EQ(*empty, 0);
    ASSERT_TRUE(published) << ErrorText(published);
    EXPECT_EQ(*published, 5);
    ASSERT_TRUE(delivered) << ErrorText(delivered);
    EXPECT_EQ(*delivered, 5);
    ASSERT_TRUE(partly_acked) << ErrorText(partly_acked);
    EXPECT_EQ(*partly_acked, 3);
    ASSERT_TRUE(all_acked) << ErrorText(all_acked);
    EXPECT_EQ(*all_acked, 0);
}

TYPED_TEST_P(EventBusContract, ManyMessagesAcrossTwoConsumersAreEachHandledExactlyOnce) {
    constexpr int kCount = 5000;
    auto first = this->Subscribe("ledger", "ledger-a");
    auto second = this->Subscribe("ledger", "ledger-b");
    ASSERT_NE(first, nullptr);
    ASSERT_NE(second, nullptr);
    this->harness_.Settle({first.get(), second.get()});
    for (int start = 0; start < kCount; start += 1000) {
        ASSERT_EQ(this->Publish(this->Numbered(1000, start)).size(), 1000U);
    }

    std::map<std::string, int> seen;
    std::size_t total = 0;
    const auto deadline = Clock::now() + TypeParam::kArrival + 30s;
    while (seen.size() < static_cast<std::size_t>(kCount) && Clock::now() < deadline) {
        for (EventSubscription* consumer : {first.get(), second.get()}) {
            for (const Delivery& delivery : this->PollUntil(*consumer, 200, 100ms, true, 200)) {
                ++seen[delivery.key];
                ++total;
            }
        }
    }
    for (EventSubscription* consumer : {first.get(), second.get()}) {
        for (const Delivery& delivery : this->Drain(*consumer, 500ms)) {
            ++seen[delivery.key];
            ++total;
        }
    }

    EXPECT_EQ(seen.size(), static_cast<std::size_t>(kCount));
    EXPECT_EQ(total, static_cast<std::size_t>(kCount)) << "some message came more than once";
}

TYPED_TEST_P(EventBusContract, AckingADeliveryOfAnotherTopicIsRejected) {
    auto worker = this->Subscribe("risk", "risk-1");
    ASSERT_NE(worker, nullptr);
    const Delivery foreign{
        .topic = "payment.captured",
        .key = "pay-1",
        .value = "v",
        .position = "0-1",
        .delivery_count = 1,
    };

    const Result<void> acked = worker->Ack(std::vector<Delivery>{foreign});
    const Result<void> parked = worker->DeadLetter(foreign, "why");

    ASSERT_FALSE(acked);
    EXPECT_EQ(acked.error().code, ErrorCode::kInvalidArgument);
    ASSERT_FALSE(parked);
    EXPECT_EQ(parked.error().code, ErrorCode::kInvalidArgument);
}

TYPED_TEST_P(EventBusContract, SubscribeRejectsIncompleteOptions) {
    const auto no_group = this->Bus().Subscribe({kTopic, "", "c", 30s});
    const auto no_consumer = this->Bus().Subscribe({kTopic, "g", "", 30s});
    const auto no_timeout = this->Bus().Subscribe({kTopic, "g", "c", 0ms});

    ASSERT_FALSE(no_group);
    EXPECT_EQ(no_group.error().code, ErrorCode::kInvalidArgument);
    ASSERT_FALSE(no_consumer);
    EXPECT_EQ(no_consumer.error().code, ErrorCode::kInvalidArgument);
    ASSERT_FALSE(no_timeout);
    EXPECT_EQ(no_timeout.error().code, ErrorCode::kInvalidArgument);
}

TYPED_TEST_P(EventBusContract, PollOnAnIdleTopicReturnsNothingAfterTheWait) {
    auto worker = this->Subscribe("ledger", "ledger-1");
    ASSERT_NE(worker, nullptr);
    this->harness_.Settle({worker.get()});
    const auto start = Clock::now();

    const auto polled = worker->Poll(10, 300ms);

    const auto elapsed = Clock::now() - start;
    ASSERT_TRUE(polled) << ErrorText(polled);
    EXPECT_TRUE(polled->empty());
    EXPECT_GE(elapsed, 250ms);
    EXPECT_LT(elapsed, 3s);
}

TYPED_TEST_P(EventBusContract, APollReturnsNoMoreThanMax) {
    this->Publish(this->Numbered(10));
    auto worker = this->Subscribe("ledger", "ledger-1");
    ASSERT_NE(worker, nullptr);

    std::size_t total = 0;
    const auto deadline = Clock::now() + TypeParam::kArrival;
    while (total < 10 && Clock::now() < deadline) {
        auto polled = worker->Poll(3, 100ms);
        ASSERT_TRUE(polled) << ErrorText(polled);
        EXPECT_LE(polled->size(), 3U);
        total += polled->size();
        ASSERT_TRUE(worker->Ack(*polled));
    }

    EXPECT_EQ(total, 10U);
}

REGISTER_TYPED_TEST_SUITE_P(
    EventBusContract,
    APublishedMessageArrivesWithItsKeyValueAndPosition,
    MessagesOfOneKeyArriveInPublishOrder,
    PublishingAnEmptyBatchGivesNoPositions,
    ConsumersOfOneGroupSplitTheMessagesWithoutDuplicatesOrLoss,
    EachGroupGetsEveryMessage,
    AnUnackedDeliveryComesBackAfterTheVisibilityTimeoutWithoutHoldingBackOthers,
    AckedMessagesNeverComeBackForANewConsumerOfTheGroup,
    ADeadLetteredMessageIsParkedWithItsReasonAndNotDeliveredAgain,
    ReadTopicGivesTheHeldMessagesOldestFirstUpToTheLimit,
    EnsureTopicsAcceptsTopicsThatExistAlready,
    GroupLagCountsWhatTheGroupHasNotAckedAndDropsToZeroAfterAcks,
    ManyMessagesAcrossTwoConsumersAreEachHandledExactlyOnce,
    AckingADeliveryOfAnotherTopicIsRejected,
    SubscribeRejectsIncompleteOptions,
    PollOnAnIdleTopicReturnsNothingAfterTheWait,
    APollReturnsNoMoreThanMax
);

}  // namespace sagapay::event_bus_contract
