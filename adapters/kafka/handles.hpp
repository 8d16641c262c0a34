#pragma once

#include <librdkafka/rdkafka.h>

#include "core/unique_handle.hpp"

namespace sagapay::kafka {

// Owners of librdkafka's C objects. rd_kafka_new takes ownership of its configuration only when
// it succeeds: release a ConfHandle exactly then. A consumer must be closed
// (rd_kafka_consumer_close) before its KafkaHandle goes, while the state its rebalance callback
// touches is still alive.
using KafkaHandle = UniqueHandle<rd_kafka_t, &rd_kafka_destroy>;
using ConfHandle = UniqueHandle<rd_kafka_conf_t, &rd_kafka_conf_destroy>;
using TopicHandle = UniqueHandle<rd_kafka_topic_t, &rd_kafka_topic_destroy>;
using MessageHandle = UniqueHandle<rd_kafka_message_t, &rd_kafka_message_destroy>;
using PartitionListHandle =
    UniqueHandle<rd_kafka_topic_partition_list_t, &rd_kafka_topic_partition_list_destroy>;
using MetadataHandle = UniqueHandle<const rd_kafka_metadata_t, &rd_kafka_metadata_destroy>;
using QueueHandle = UniqueHandle<rd_kafka_queue_t, &rd_kafka_queue_destroy>;
using EventHandle = UniqueHandle<rd_kafka_event_t, &rd_kafka_event_destroy>;
using ErrorHandle = UniqueHandle<rd_kafka_error_t, &rd_kafka_error_destroy>;
using HeadersHandle = UniqueHandle<rd_kafka_headers_t, &rd_kafka_headers_destroy>;
using AdminOptionsHandle = UniqueHandle<rd_kafka_AdminOptions_t, &rd_kafka_AdminOptions_destroy>;
using NewTopicHandle = UniqueHandle<rd_kafka_NewTopic_t, &rd_kafka_NewTopic_destroy>;
using DeleteTopicHandle = UniqueHandle<rd_kafka_DeleteTopic_t, &rd_kafka_DeleteTopic_destroy>;

}  // namespace sagapay::kafka
