#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/clock.hpp"
#include "core/result.hpp"

namespace sagapay {

/// The seed's event envelope plus a schema version. JSON on the wire; `event_type` is the topic.
struct Envelope {
    static constexpr int kSchemaVersion = 1;

    std::string event_id;
    std::string event_type;
    std::string aggregate_id;  ///< The payment id; also the bus partition key.
    std::string occurred_at;   ///< ISO-8601 UTC, microseconds.
    std::string trace_id;      ///< The seed's correlation id (a UUID), kept for compatibility.
    /// W3C `traceparent` / `tracestate` of the span that emitted the event (optional on the
    /// wire; empty when none): the consumer's span continues the trace from there.
    std::string traceparent;
    std::string tracestate;
    nlohmann::json payload = nlohmann::json::object();
    int schema_version = kSchemaVersion;
};

/// A new envelope with a fresh event id, stamped with `clock`'s time and with the thread's
/// current trace context (CurrentTraceContext) as its `traceparent`, if there is one.
[[nodiscard]] Envelope MakeEnvelope(
    std::string event_type,
    std::string aggregate_id,
    std::string trace_id,
    nlohmann::json payload,
    const Clock& clock
);

[[nodiscard]] std::string EncodeEnvelope(const Envelope& envelope);

/// Refuses what is not an envelope (kInvalidArgument, with the field at fault): such a message is
/// dead-lettered rather than retried. Accepts envelopes without `schema_version` (the seed's).
[[nodiscard]] Result<Envelope> DecodeEnvelope(std::string_view json);

}  // namespace sagapay
