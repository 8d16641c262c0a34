#include "adapters/kafka/kafka_error.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace sagapay::kafka {
namespace {

using ::testing::HasSubstr;

TEST(ErrorCodeFromKafka, ClassifiesByWhatTheCallerMayDoNext) {
    EXPECT_EQ(ErrorCodeFromKafka(RD_KAFKA_RESP_ERR__TRANSPORT), ErrorCode::kUnavailable);
    EXPECT_EQ(ErrorCodeFromKafka(RD_KAFKA_RESP_ERR__MSG_TIMED_OUT), ErrorCode::kUnavailable);
    EXPECT_EQ(
        ErrorCodeFromKafka(RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION), ErrorCode::kUnavailable
    );
    EXPECT_EQ(ErrorCodeFromKafka(RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS), ErrorCode::kUnavailable);
    EXPECT_EQ(ErrorCodeFromKafka(RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS), ErrorCode::kUnavailable);
    EXPECT_EQ(
        ErrorCodeFromKafka(RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE), ErrorCode::kInvalidArgument
    );
    EXPECT_EQ(
        ErrorCodeFromKafka(RD_KAFKA_RESP_ERR_INVALID_REPLICATION_FACTOR),
        ErrorCode::kInvalidArgument
    );
    EXPECT_EQ(
        ErrorCodeFromKafka(RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED),
        ErrorCode::kFailedPrecondition
    );
    EXPECT_EQ(
        ErrorCodeFromKafka(RD_KAFKA_RESP_ERR__AUTHENTICATION), ErrorCode::kFailedPrecondition
    );
    EXPECT_EQ(ErrorCodeFromKafka(RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART), ErrorCode::kNotFound);
    EXPECT_EQ(ErrorCodeFromKafka(RD_KAFKA_RESP_ERR__FATAL), ErrorCode::kInternal);
}

TEST(KafkaErrorMessage, NamesTheOperationTheErrorAndAHint) {
    const std::string message = KafkaErrorMessage("publish to t", RD_KAFKA_RESP_ERR__TRANSPORT);

    EXPECT_THAT(message, HasSubstr("kafka publish to t: "));
    EXPECT_THAT(message, HasSubstr("_TRANSPORT"));
    EXPECT_THAT(message, HasSubstr("KAFKA_BOOTSTRAP_SERVERS"));
}

}  // namespace
}  // namespace sagapay::kafka
