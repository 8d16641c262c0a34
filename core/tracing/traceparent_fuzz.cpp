// libFuzzer target: ParseTraceparent, which reads a header any client sends to the gateway.
// Properties: whatever is accepted formats back to a valid traceparent of the same ids (version
// 00, exactly 55 characters) that parses to the same context; a kept tracestate is printable and
// at most 512 characters; the correlation-id mapping gives 32 lowercase hex digits or nothing.
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/tracing/trace_context.hpp"
#include "testing/fuzz_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace sagapay;
    using fuzz::Check;
    const std::string_view text = fuzz::AsText(data, size);
    // The first line is the traceparent, the rest the tracestate.
    const auto newline = text.find('\n');
    const std::string_view header = text.substr(0, newline);
    const std::string_view state =
        newline == std::string_view::npos ? std::string_view() : text.substr(newline + 1);
    if (const auto context = ParseTraceparent(header, state)) {
        const std::string formatted = FormatTraceparent(*context);
        Check(formatted.size() == 55, "a parsed context formats to 55 characters", text);
        const auto again = ParseTraceparent(formatted, context->tracestate);
        Check(again.has_value(), "a formatted context parses", text);
        Check(
            again->trace_id == context->trace_id && again->span_id == context->span_id &&
                again->sampled == context->sampled && again->tracestate == context->tracestate,
            "format then parse keeps the context",
            text
        );
        Check(context->tracestate.size() <= 512, "tracestate is bounded", text);
    }
    if (const auto trace_id = TraceIdFromCorrelationId(header)) {
        Check(trace_id->size() == 32, "a trace id has 32 digits", text);
        Check(
            trace_id->find_first_not_of("0123456789abcdef") == std::string::npos,
            "a trace id is lowercase hex",
            text
        );
        Check(
            TraceIdFromCorrelationId(TraceIdAsUuid(*trace_id)) == trace_id, "UUID round trip", text
        );
    }
    return 0;
}
