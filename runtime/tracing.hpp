#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/tracing/trace_context.hpp"

namespace sagapay::tracing {

/// OpenTelemetry's span kinds, numbered as in OTLP.
enum class SpanKind : int { kInternal = 1, kServer = 2, kClient = 3, kProducer = 4, kConsumer = 5 };

struct Attribute {
    std::string key;
    std::variant<std::string, std::int64_t> value;
};

/// A finished span as the exporter sends it.
struct SpanData {
    std::string trace_id;
    std::string span_id;
    std::string parent_span_id;  ///< Empty for a trace's root (or a parent not known).
    std::string tracestate;
    std::string name;
    SpanKind kind = SpanKind::kInternal;
    std::int64_t start_unix_nano = 0;
    std::int64_t end_unix_nano = 0;
    std::vector<Attribute> attributes;
    bool error = false;
    std::string status_message;
    std::vector<TraceContext> links;  ///< Other spans this one relates to (a batch's events).
};

/// Where finished spans go (the OTLP exporter). Submit must not block: it is called on the saga's
/// threads when a span ends.
class SpanSink {
public:
    virtual ~SpanSink() = default;
    virtual void Submit(SpanData span) noexcept = 0;
};

/// Installs the process's sink; nullptr (the default) records nothing: spans then only carry the
/// trace context onward (traceparent headers and envelopes). Call while no span is open (at
/// start and stop); the sink must outlive every span that ends while installed.
void SetSink(SpanSink* sink) noexcept;
[[nodiscard]] bool Recording() noexcept;

/// The trace context of the innermost open span (or ScopedContext) of this thread; nullptr when
/// there is none.
[[nodiscard]] const TraceContext* Current() noexcept;

/// `traceparent` of Current(), or "" when there is none.
[[nodiscard]] std::string CurrentTraceparent();

/// The current trace id as UUID text (the seed's `trace_id` form), or a new random UUID when
/// no span is open.
[[nodiscard]] std::string CurrentTraceIdAsUuid();

/// Makes `context` the thread's current context without opening a span (work that resumes a
/// span's context later, such as recording an outcome computed under that span).
class ScopedContext {
public:
    explicit ScopedContext(TraceContext context) noexcept;
    ScopedContext(const ScopedContext&) = delete;
    ScopedContext& operator=(const ScopedContext&) = delete;
    ~ScopedContext();

private:
    TraceContext context_;
    const TraceContext* saved_;
};

/// One timed operation. Opened with an explicit `parent` that has a trace, it is that trace's
/// span (a child of parent's span when it names one); without, a child of the thread's current
/// span, else the root of a new trace. While open it is the thread's current context; it ends,
/// is submitted to the sink and restores the previous context when destroyed, on the thread
/// that opened it. Recorded only when a sink is installed and the trace is sampled.
class Span {
public:
    Span(
        std::string_view name,
        SpanKind kind,
        const std::optional<TraceContext>& parent = std::nullopt
    );
    Span(const Span&) = delete;
    Span& operator=(const Span&) = delete;
    ~Span();

    void SetAttribute(std::string key, std::string value);
    void SetAttribute(std::string key, std::int64_t value);
    /// Marks the span failed (OTLP status ERROR) with a short message.
    void SetError(std::string message);
    void AddLink(const TraceContext& other);

    [[nodiscard]] const TraceContext& Context() const noexcept { return context_; }
    [[nodiscard]] std::string Traceparent() const { return FormatTraceparent(context_); }

private:
    TraceContext context_;
    const TraceContext* saved_;
    std::optional<SpanData> data_;  ///< Only while recording.
};

/// Nanoseconds since the Unix epoch, now.
[[nodiscard]] std::int64_t NowUnixNano() noexcept;

}  // namespace sagapay::tracing
