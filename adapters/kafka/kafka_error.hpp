#pragma once

#include <string>
#include <string_view>

#include <librdkafka/rdkafka.h>

#include "core/error.hpp"
#include "core/result.hpp"

namespace sagapay::kafka {

/// The ErrorCode of a librdkafka or broker error: kInvalidArgument for what the request itself
/// gets wrong (a bad topic name, partition count or setting, a message too large),
/// kFailedPrecondition for what an operator must fix (authorisation, authentication, a feature
/// the broker lacks), kNotFound for an unknown topic or partition, kInternal for a fatal error
/// (an idempotent producer that lost its guarantees), kUnavailable for the rest: transport,
/// timeouts, leader or coordinator moves, rebalances. Publish timeouts count as kUnavailable, not
/// kDeadlineExceeded: the outbox republishes and consumers deduplicate.
[[nodiscard]] ErrorCode ErrorCodeFromKafka(rd_kafka_resp_err_t err) noexcept;

/// "kafka <what>: <librdkafka's text> (<error name>)" with a hint where one helps.
[[nodiscard]] std::string KafkaErrorMessage(std::string_view what, rd_kafka_resp_err_t err);

/// The Error of `err` during `what` (ErrorCodeFromKafka, KafkaErrorMessage).
[[nodiscard]] inline tl::unexpected<Error> FailKafka(
    std::string_view what, rd_kafka_resp_err_t err
) {
    return Fail(ErrorCodeFromKafka(err), KafkaErrorMessage(what, err));
}

}  // namespace sagapay::kafka
