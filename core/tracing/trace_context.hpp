#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace sagapay {

/// A W3C Trace Context (https://www.w3.org/TR/trace-context/): where a unit of work sits in a
/// distributed trace. `trace_id` is 32 lowercase hex digits, `span_id` 16 (empty when only the
/// trace is known, as for an event of the seed that carries a `trace_id` and no parent span).
struct TraceContext {
    std::string trace_id;
    std::string span_id;
    bool sampled = true;
    std::string tracestate;  ///< Passed on as received (vendor data), at most 512 characters.

    [[nodiscard]] bool HasTrace() const noexcept { return !trace_id.empty(); }
    [[nodiscard]] bool HasSpan() const noexcept { return !span_id.empty(); }
};

/// Parses a `traceparent` header (version 00, or a later version read as 00 per the spec);
/// nullopt for anything malformed, an all-zero id or version ff. `tracestate` is kept when it is
/// printable ASCII of at most 512 characters, else dropped.
[[nodiscard]] std::optional<TraceContext> ParseTraceparent(
    std::string_view traceparent, std::string_view tracestate = {}
);

/// "00-<trace_id>-<span_id>-<flags>"; empty when the context has no span.
[[nodiscard]] std::string FormatTraceparent(const TraceContext& context);

/// 32 random hex digits, never all zero.
[[nodiscard]] std::string NewTraceId();
/// 16 random hex digits, never all zero.
[[nodiscard]] std::string NewSpanId();

/// The W3C trace id of the seed's `trace_id` / `x-correlation-id`: a UUID's 32 hex digits
/// (lower case), or a 32-hex-digit id as is; nullopt for anything else (or all zeros).
[[nodiscard]] std::optional<std::string> TraceIdFromCorrelationId(std::string_view id);

/// A trace id as UUID text (8-4-4-4-12), so that a trace started here gives the seed's
/// `trace_id` field the same digits. Expects 32 hex digits.
[[nodiscard]] std::string TraceIdAsUuid(std::string_view trace_id);

/// Where work that received `envelope_traceparent` (maybe empty) and the seed's `trace_id`
/// continues: the parsed traceparent when valid, else the trace id derived from `trace_id` with
/// no parent span, else nullopt (a new trace).
[[nodiscard]] std::optional<TraceContext> ContinueTrace(
    std::string_view traceparent, std::string_view tracestate, std::string_view correlation_id
);

/// The trace context of the work this thread does now (set by runtime/tracing.hpp's spans),
/// nullptr when none: MakeEnvelope stamps it on every event as its `traceparent`.
[[nodiscard]] const TraceContext* CurrentTraceContext() noexcept;
/// Replaces the thread's current context and returns the previous one (runtime/tracing.hpp).
const TraceContext* ExchangeCurrentTraceContext(const TraceContext* context) noexcept;

}  // namespace sagapay
