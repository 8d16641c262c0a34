#include "adapters/kafka/kafka_event_bus.hpp"

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "adapters/kafka/client.hpp"
#include "core/ports/event_bus_contract.hpp"
#include "testing/test_env.hpp"

namespace sagapay::event_bus_contract {
namespace {

using kafka::KafkaEventBus;

/// Group joins in about a second: the broker has group.initial.rebalance.delay.ms=0
/// (scripts/kafka.sh), a consumer that leaves says so, and a dead one is noticed in 6 s.
kafka::KafkaBusOptions TestOptions(const std::string& prefix) {
    return kafka::KafkaBusOptions{
        .bootstrap_servers = testing::TestKafkaBootstrapServers(),
        .prefix = prefix,
        .client_id = "sagapay-kafkatest",
        .extra =
            {{"consumer.session.timeout.ms", "6000"},
             {"consumer.heartbeat.interval.ms", "500"},
             {"consumer.fetch.wait.max.ms", "100"}},
    };
}

/// Deletes every topic whose name starts with `prefix` (best effort).
void DeleteTopics(const kafka::KafkaBusOptions& options, const std::string& prefix) {
    auto conf = kafka::MakeConfig(options, kafka::ClientKind::kProducer, {}, {});
    if (!conf) {
        return;
    }
    auto client = kafka::NewClient(std::move(*conf), kafka::ClientKind::kProducer);
    if (!client) {
        return;
    }
    const rd_kafka_metadata_t* raw = nullptr;
    if (rd_kafka_metadata(client->get(), 1, nullptr, &raw, 5000) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        return;
    }
    const kafka::MetadataHandle metadata(raw);
    std::vector<kafka::DeleteTopicHandle> owned;
    std::vector<rd_kafka_DeleteTopic_t*> requests;
    for (const auto& topic :
         std::span(metadata->topics, static_cast<std::size_t>(metadata->topic_cnt))) {
        if (std::string_view(topic.topic).starts_with(prefix)) {
            owned.emplace_back(rd_kafka_DeleteTopic_new(topic.topic));
            requests.push_back(owned.back().get());
        }
    }
    if (requests.empty()) {
        return;
    }
    const kafka::QueueHandle queue(rd_kafka_queue_new(client->get()));
    rd_kafka_DeleteTopics(client->get(), requests.data(), requests.size(), nullptr, queue.get());
    const kafka::EventHandle done(rd_kafka_queue_poll(queue.get(), 10000));
}

/// A KafkaEventBus on the test cluster (KAFKA_BOOTSTRAP_SERVERS) whose topics and groups carry a
/// prefix unique to the test; its topics are deleted afterwards.
class KafkaHarness {
public:
    static constexpr std::chrono::milliseconds kArrival{20000};

    KafkaHarness() : prefix_(testing::UniqueName("kafkatest-") + ":"), bus_(TestOptions(prefix_)) {}

    KafkaHarness(const KafkaHarness&) = delete;
    KafkaHarness& operator=(const KafkaHarness&) = delete;

    ~KafkaHarness() {
        if (std::getenv("KAFKA_BOOTSTRAP_SERVERS") == nullptr) {
            return;
        }
        if (::testing::Test::HasFailure()) {  // Left for a look with kcat.
            std::fprintf(stderr, "kept the topics %s* of the failed test\n", prefix_.c_str());
            return;
        }
        DeleteTopics(TestOptions(prefix_), kafka::SanitizeKafkaName(prefix_));
    }

    EventBus& Bus() { return bus_; }
    KafkaEventBus& Kafka() { return bus_; }

    /// Polls the group's consumers until each owns partitions and no partition is owned twice.
    static void Settle(const std::vector<EventSubscription*>& group) {
        const auto deadline = Clock::now() + kArrival;
        while (Clock::now() < deadline) {
            bool settled = true;
            std::set<std::int32_t> owned;
            for (EventSubscription* subscription : group) {
                auto polled = subscription->Poll(1, 50ms);  // Runs the rebalance callbacks.
                if (!polled) {
                    ADD_FAILURE() << "poll failed: " << polled.error().message;
                    return;
                }
                if (!polled->empty()) {
                    ADD_FAILURE() << "a message arrived while the group settled: "
                                  << (*polled)[0].value;
                    return;
                }
                const auto partitions = kafka::AssignedPartitions(*subscription);
                if (!partitions || partitions->empty()) {
                    settled = false;
                    continue;
                }
                for (const std::int32_t partition : *partitions) {
                    settled = owned.insert(partition).second && settled;
                }
            }
            if (settled) {
                return;
            }
        }
        ADD_FAILURE() << "the consumer group did not settle within " << kArrival.count() << " ms";
    }

private:
    std::string prefix_;
    KafkaEventBus bus_;
};

INSTANTIATE_TYPED_TEST_SUITE_P(Kafka, EventBusContract, KafkaHarness);

/// Kafka-only behaviour, beside the contract.
class KafkaEventBusKafkaTest : public EventBusContract<KafkaHarness> {
protected:
    void SetUp() override {}  // Each test makes its topics.

    void EnsureTopic(const std::string& topic, int partitions) {
        const std::vector<std::string> topics = {topic};
        const auto ensured = this->Bus().EnsureTopics(
            topics, TopicSettings{.partitions = partitions, .replication_factor = 0}
        );
        ASSERT_TRUE(ensured) << ErrorText(ensured);
    }

    kafka::TopicInfo Describe(const std::string& topic) {
        auto conf = kafka::MakeConfig(TestOptions(""), kafka::ClientKind::kProducer, {}, {});
        EXPECT_TRUE(conf);
        auto client = kafka::NewClient(std::move(*conf), kafka::ClientKind::kProducer);
        EXPECT_TRUE(client);
        auto info = kafka::DescribeTopic(client->get(), harness_.Kafka().TopicName(topic), 5s);
        EXPECT_TRUE(info) << ErrorText(info);
        return info ? *info : kafka::TopicInfo{};
    }
};

TEST_F(KafkaEventBusKafkaTest, EnsureTopicsCreatesThePrefixedTopicWithThePartitionsAsked) {
    EnsureTopic(kTopic, 4);

    const kafka::TopicInfo info = Describe(kTopic);

    EXPECT_TRUE(info.exists);
    EXPECT_EQ(info.partitions, 4);
    EXPECT_TRUE(info.has_leaders);
}

TEST_F(KafkaEventBusKafkaTest, PublishCreatesAMissingTopicWithTheBrokersDefaults) {
    ASSERT_FALSE(Describe("ledger.posted").exists);

    const auto positions = Publish({{.topic = "ledger.posted", .key = "pay-1", .value = "posted"}});

    ASSERT_EQ(positions.size(), 1U);
    const kafka::TopicInfo info = Describe("ledger.posted");
    EXPECT_TRUE(info.exists);
    EXPECT_GE(info.partitions, 1);
}

TEST_F(KafkaEventBusKafkaTest, KeysKeepTheirOrderAcrossPartitionsAndConsumers) {
    EnsureTopic(kTopic, 4);
    auto first = Subscribe("ledger", "ledger-a");
    auto second = Subscribe("ledger", "ledger-b");
    ASSERT_NE(first, nullptr);
    ASSERT_NE(second, nullptr);
    harness_.Settle({first.get(), second.get()});
    constexpr int kKeys = 12;
    constexpr int kPerKey = 25;
    constexpr std::size_t kTotal = std::size_t{kKeys} * std::size_t{kPerKey};
    for (int round = 0; round < 5; ++round) {
        std::vector<OutgoingMessage> batch;
        batch.reserve(kTotal / 5);
        for (int i = round * kPerKey / 5; i < (round + 1) * kPerKey / 5; ++i) {
            for (int key = 0; key < kKeys; ++key) {
                batch.push_back(
                    {.topic = kTopic,
                     .key = "pay-" + std::to_string(key),
                     .value = std::to_string(i)}
                );
            }
        }
        ASSERT_EQ(Publish(batch).size(), batch.size());
    }

    std::map<std::string, std::vector<int>> per_key;
    std::map<std::string, std::set<EventSubscription*>> consumers_of_key;
    std::size_t total = 0;
    const auto deadline = Clock::now() + KafkaHarness::kArrival;
    while (total < kTotal && Clock::now() < deadline) {
        for (EventSubscription* consumer : {first.get(), second.get()}) {
            for (const Delivery& delivery : PollUntil(*consumer, 50, 100ms, true, 50)) {
                per_key[delivery.key].push_back(std::stoi(delivery.value));
                consumers_of_key[delivery.key].insert(consumer);
                ++total;
            }
        }
    }

    ASSERT_EQ(total, kTotal);
    std::vector<int> expected(kPerKey);
    for (int i = 0; i < kPerKey; ++i) {
        expected[static_cast<std::size_t>(i)] = i;
    }
    for (const auto& [key, values] : per_key) {
        EXPECT_EQ(values, expected) << key;
        EXPECT_EQ(consumers_of_key[key].size(), 1U) << key << " went to both consumers";
    }
    EXPECT_EQ(per_key.size(), static_cast<std::size_t>(kKeys));
    EXPECT_FALSE(kafka::AssignedPartitions(*first)->empty());
}

/// A consumer joins mid-stream, then the first one leaves mid-stream without acking part of its
/// deliveries: nothing is lost, and what comes twice was not acked, or was acked after an
/// un-acked message of its partition (only each partition's acked prefix is committed).
TEST_F(KafkaEventBusKafkaTest, ARebalanceLosesNothingAndRedeliversOnlyWhatWasNotCommittable) {
    EnsureTopic(kTopic, 4);
    std::map<std::string, int> handled;  // key -> times delivered
    std::set<std::string> acked;
    auto take = [&](EventSubscription& consumer, std::size_t want, bool ack) {
        std::vector<Delivery> got = PollUntil(consumer, want, 300ms, ack, 25);
        for (const Delivery& delivery : got) {
            ++handled[delivery.key];
            if (ack) {
                acked.insert(delivery.key);
            }
        }
        return got;
    };

    auto first = Subscribe("risk", "risk-a");
    ASSERT_NE(first, nullptr);
    harness_.Settle({first.get()});
    Publish(Numbered(100));
    const auto wait_for = [&](std::size_t count, const std::vector<EventSubscription*>& from) {
        const auto deadline = Clock::now() + KafkaHarness::kArrival;
        while (handled.size() < count && Clock::now() < deadline) {
            for (EventSubscription* consumer : from) {
                take(*consumer, 25, true);
            }
        }
    };
    wait_for(100, {first.get()});
    ASSERT_EQ(handled.size(), 100U);

    auto second = Subscribe("risk", "risk-b");  // Joins mid-stream.
    ASSERT_NE(second, nullptr);
    Publish(Numbered(100, 100));
    wait_for(200, {first.get(), second.get()});
    ASSERT_EQ(handled.size(), 200U);
    harness_.Settle({first.get(), second.get()});

    Publish(Numbered(100, 200));
    // The first consumer takes what comes, acks only every other delivery, and leaves.
    std::map<std::int32_t, std::int64_t> first_unacked;  // partition -> lowest un-acked offset
    std::vector<Delivery> taken;
    const auto deadline = Clock::now() + KafkaHarness::kArrival;
    while (taken.size() < 20 && Clock::now() < deadline) {
        for (Delivery& delivery : take(*first, 20, false)) {
            taken.push_back(std::move(delivery));
        }
    }
    ASSERT_GE(taken.size(), 2U);
    for (std::size_t i = 0; i < taken.size(); ++i) {
        const auto [partition, offset] = *kafka::ParseKafkaPosition(taken[i].position);
        if (i % 2 == 0) {
            ASSERT_TRUE(first->Ack(std::vector<Delivery>{taken[i]}));
            acked.insert(taken[i].key);
        } else if (!first_unacked.contains(partition) || offset < first_unacked[partition]) {
            first_unacked[partition] = offset;
        }
    }
    first.reset();  // Leaves the group: the second consumer takes over every partition.
    wait_for(300, {second.get()});
    const std::vector<Delivery> late = Drain(*second, 1s);

    EXPECT_EQ(handled.size(), 300U) << "messages lost";
    EXPECT_TRUE(late.empty());
    for (const Delivery& delivery : taken) {
        const auto [partition, offset] = *kafka::ParseKafkaPosition(delivery.position);
        const bool committable =
            !first_unacked.contains(partition) || offset < first_unacked[partition];
        if (committable) {
            EXPECT_EQ(handled[delivery.key], 1) << delivery.key << " was committed, came again";
        } else {
            EXPECT_EQ(handled[delivery.key], 2) << delivery.key << " was not committed";
        }
    }
    int duplicates = 0;
    for (const auto& [key, times] : handled) {
        EXPECT_LE(times, 2) << key;
        duplicates += times - 1;
    }
    EXPECT_LE(duplicates, static_cast<int>(taken.size()));
}

TEST_F(KafkaEventBusKafkaTest, APartitionWithTooManyUnackedDeliveriesPausesUntilHalfAreAcked) {
    EnsureTopic(kTopic, 1);
    constexpr std::size_t kLimit = 10000;
    std::vector<OutgoingMessage> batch = Numbered(static_cast<int>(kLimit) + 50);
    ASSERT_EQ(Publish(batch).size(), batch.size());
    auto worker = Subscribe("ledger", "ledger-1");
    ASSERT_NE(worker, nullptr);

    std::vector<Delivery> held = PollUntil(*worker, 1, KafkaHarness::kArrival);
    for (std::vector<Delivery> more = Drain(*worker, 1s, false); !more.empty();
         more = Drain(*worker, 1s, false)) {
        held.insert(held.end(), more.begin(), more.end());
    }
    const std::vector<Delivery> more = Drain(*worker, 500ms, false);
    ASSERT_TRUE(worker->Ack(std::span(held).first(kLimit / 2 - 1)));
    const std::vector<Delivery> still_paused = Drain(*worker, 500ms, false);
    ASSERT_TRUE(worker->Ack(std::span(held).subspan(kLimit / 2 - 1, 1)));
    const std::vector<Delivery> resumed = PollUntil(*worker, 50, KafkaHarness::kArrival);

    EXPECT_EQ(held.size(), kLimit);
    EXPECT_TRUE(more.empty());
    EXPECT_TRUE(still_paused.empty());
    ASSERT_EQ(resumed.size(), 50U);
    EXPECT_EQ(resumed.front().value, "value-" + std::to_string(kLimit));
}

TEST_F(KafkaEventBusKafkaTest, ARestartedConsumerCountsARedeliveryAsTheFirstDelivery) {
    EnsureTopic(kTopic, 1);
    {
        auto first = Subscribe("risk", "risk-1");
        ASSERT_NE(first, nullptr);
        Publish(Numbered(1));
        ASSERT_EQ(PollUntil(*first, 1, KafkaHarness::kArrival).size(), 1U);
    }  // Gone without acking.
    auto second = Subscribe("risk", "risk-2");
    ASSERT_NE(second, nullptr);

    const std::vector<Delivery> again = PollUntil(*second, 1, KafkaHarness::kArrival);

    ASSERT_EQ(again.size(), 1U);
    EXPECT_EQ(again[0].value, "value-0");
    EXPECT_EQ(again[0].delivery_count, 1);  // Kept in the first consumer's memory only.
}

TEST_F(KafkaEventBusKafkaTest, AnAckOfAPartitionNoLongerOwnedSucceedsAndChangesNothing) {
    EnsureTopic(kTopic, 1);
    auto worker = Subscribe("risk", "risk-1");
    ASSERT_NE(worker, nullptr);
    const Delivery elsewhere{
        .topic = kTopic, .key = "pay-1", .value = "v", .position = "7:3", .delivery_count = 1};

    const auto acked = worker->Ack(std::vector<Delivery>{elsewhere});
    const auto malformed = worker->Ack(std::vector<Delivery>{
        {.topic = kTopic, .key = "pay-1", .value = "v", .position = "1-0", .delivery_count = 1}});

    EXPECT_TRUE(acked) << ErrorText(acked);
    ASSERT_FALSE(malformed);
    EXPECT_EQ(malformed.error().code, ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace sagapay::event_bus_contract
