#include "adapters/kafka/kafka_event_bus.hpp"

#include <chrono>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace sagapay::kafka {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using ::testing::Not;

/// Nothing listens there; none of these tests needs a broker.
KafkaBusOptions Unreachable(std::string prefix, std::map<std::string, std::string> extra = {}) {
    return KafkaBusOptions{
        .bootstrap_servers = "127.0.0.1:1",
        .prefix = std::move(prefix),
        .client_id = "kafka-test",
        .extra = std::move(extra),
    };
}

TEST(KafkaEventBus, TopicsAndGroupsArePrefixedAndSanitised) {
    const KafkaEventBus bus(Unreachable("e2e-abc123:"));

    EXPECT_EQ(bus.TopicName("payments.requested"), "e2e-abc123_payments.requested");
    EXPECT_EQ(bus.GroupId("risk-payments-requested"), "e2e-abc123_risk-payments-requested");
    EXPECT_EQ(bus.DeadLetterTopic(), "e2e-abc123_deadletter");
}

TEST(KafkaEventBus, WithoutAPrefixTheSeedsNamesAreKept) {
    const KafkaEventBus bus(Unreachable(""));

    EXPECT_EQ(bus.TopicName("provider.authorize.requested"), "provider.authorize.requested");
    EXPECT_EQ(bus.GroupId("orchestrator-risk-approved"), "orchestrator-risk-approved");
    EXPECT_EQ(bus.DeadLetterTopic(), "deadletter");
}

TEST(SanitizeKafkaName, KeepsLegalCharactersAndReplacesEveryOtherByte) {
    EXPECT_EQ(SanitizeKafkaName("Az09._-"), "Az09._-");
    EXPECT_EQ(SanitizeKafkaName("a b/c:d*e"), "a_b_c_d_e");
    EXPECT_EQ(SanitizeKafkaName("caf\xc3\xa9"), "caf__");
    EXPECT_EQ(SanitizeKafkaName(""), "");
}

TEST(KafkaPosition, RoundTripsAndRefusesWhatIsNotPartitionColonOffset) {
    EXPECT_EQ(KafkaPosition(2, 1234567890123), "2:1234567890123");
    EXPECT_EQ(
        ParseKafkaPosition("2:1234567890123"),
        (std::pair<std::int32_t, std::int64_t>{2, 1234567890123})
    );
    EXPECT_EQ(ParseKafkaPosition("0:0"), (std::pair<std::int32_t, std::int64_t>{0, 0}));
    for (const char* malformed :
         {"", "1", "1:", ":1", "1-0", "a:1", "1:b", "1:2:3", "-1:0", "1:-5", " 1:2"}) {
        EXPECT_FALSE(ParseKafkaPosition(malformed).has_value()) << malformed;
    }
}

TEST(KafkaEventBus, APublisherKeepsNoProgressAndDoesNotTrim) {
    KafkaEventBus bus(Unreachable("t:"));
    auto publisher = bus.CreatePublisher();
    ASSERT_TRUE(publisher) << publisher.error().message;

    const auto progress = (*publisher)->Progress("payments.requested");
    const auto trimmed = (*publisher)->TrimBefore("payments.requested", "0:10");

    ASSERT_FALSE(progress);
    EXPECT_EQ(progress.error().code, ErrorCode::kFailedPrecondition);
    EXPECT_THAT(progress.error().message, HasSubstr("retention"));
    ASSERT_FALSE(trimmed);
    EXPECT_EQ(trimmed.error().code, ErrorCode::kFailedPrecondition);
}

TEST(KafkaEventBus, ARefusedSettingIsAnInvalidArgumentThatNamesItButNotItsValue) {
    KafkaEventBus unknown(Unreachable("t:", {{"no.such.property", "1"}}));
    KafkaEventBus bad_value(Unreachable("t:", {{"linger.ms", "hunter2-secret"}}));

    const auto from_unknown = unknown.CreatePublisher();
    const auto from_bad_value = bad_value.CreatePublisher();

    ASSERT_FALSE(from_unknown);
    EXPECT_EQ(from_unknown.error().code, ErrorCode::kInvalidArgument);
    EXPECT_THAT(from_unknown.error().message, HasSubstr("no.such.property"));
    ASSERT_FALSE(from_bad_value);
    EXPECT_EQ(from_bad_value.error().code, ErrorCode::kInvalidArgument);
    EXPECT_THAT(from_bad_value.error().message, HasSubstr("linger.ms"));
    EXPECT_THAT(from_bad_value.error().message, Not(HasSubstr("hunter2")));
}

TEST(KafkaEventBus, SettingsForTheOtherKindOfClientAreNotAppliedToThisOne) {
    KafkaEventBus bus(Unreachable("t:", {{"consumer.no.such.property", "1"}}));

    const auto publisher = bus.CreatePublisher();

    EXPECT_TRUE(publisher) << publisher.error().message;
}

TEST(KafkaEventBus, NoBootstrapServersIsAnInvalidArgument) {
    KafkaEventBus bus(KafkaBusOptions{
        .bootstrap_servers = "", .prefix = "", .client_id = "x", .extra = {}});

    const auto publisher = bus.CreatePublisher();

    ASSERT_FALSE(publisher);
    EXPECT_EQ(publisher.error().code, ErrorCode::kInvalidArgument);
    EXPECT_THAT(publisher.error().message, HasSubstr("KAFKA_BOOTSTRAP_SERVERS"));
}

TEST(KafkaEventBus, SubscribeRefusesIncompleteOptionsBeforeAskingTheCluster) {
    KafkaEventBus bus(Unreachable("t:"));

    const auto no_group = bus.Subscribe({"payments.requested", "", "c", 30s});
    const auto no_timeout = bus.Subscribe({"payments.requested", "g", "c", 0ms});

    ASSERT_FALSE(no_group);
    EXPECT_EQ(no_group.error().code, ErrorCode::kInvalidArgument);
    ASSERT_FALSE(no_timeout);
    EXPECT_EQ(no_timeout.error().code, ErrorCode::kInvalidArgument);
}

TEST(AssignedPartitions, IsNulloptForASubscriptionOfAnotherBus) {
    class Other final : public EventSubscription {
    public:
        Result<std::vector<Delivery>> Poll(std::size_t, std::chrono::milliseconds) override {
            return std::vector<Delivery>{};
        }
        Result<void> Ack(std::span<const Delivery>) override { return {}; }
        Result<void> DeadLetter(const Delivery&, std::string_view) override { return {}; }
        Result<std::int64_t> GroupLag() override { return 0; }
    };
    const Other other;

    EXPECT_FALSE(AssignedPartitions(other).has_value());
}

}  // namespace
}  // namespace sagapay::kafka
