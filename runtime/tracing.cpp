#include "runtime/tracing.hpp"

#include <atomic>
#include <chrono>
#include <utility>

#include "core/ids.hpp"

namespace sagapay::tracing {

namespace {

std::atomic<SpanSink*> g_sink{nullptr};

}  // namespace

void SetSink(SpanSink* sink) noexcept {
    g_sink.store(sink, std::memory_order_release);
}

bool Recording() noexcept {
    return g_sink.load(std::memory_order_acquire) != nullptr;
}

const TraceContext* Current() noexcept {
    return CurrentTraceContext();
}

std::string CurrentTraceparent() {
    const TraceContext* current = CurrentTraceContext();
    return current != nullptr ? FormatTraceparent(*current) : std::string();
}

std::string CurrentTraceIdAsUuid() {
    const TraceContext* current = CurrentTraceContext();
    return current != nullptr && current->HasTrace() ? TraceIdAsUuid(current->trace_id) : NewUuid();
}

std::int64_t NowUnixNano() noexcept {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::system_clock::now().time_since_epoch()
    )
        .count();
}

ScopedContext::ScopedContext(TraceContext context) noexcept
    : context_(std::move(context)), saved_(ExchangeCurrentTraceContext(&context_)) {}

ScopedContext::~ScopedContext() {
    ExchangeCurrentTraceContext(saved_);
}

Span::Span(std::string_view name, SpanKind kind, const std::optional<TraceContext>& parent)
    : saved_(CurrentTraceContext()) {
    const TraceContext* from = nullptr;
    if (parent && parent->HasTrace()) {
        from = &*parent;
    } else if (saved_ != nullptr && saved_->HasTrace()) {
        from = saved_;
    }
    std::string parent_span;
    if (from != nullptr) {
        context_.trace_id = from->trace_id;
        context_.sampled = from->sampled;
        context_.tracestate = from->tracestate;
        parent_span = from->span_id;
    } else {
        context_.trace_id = NewTraceId();
    }
    context_.span_id = NewSpanId();
    ExchangeCurrentTraceContext(&context_);
    if (context_.sampled && Recording()) {
        data_.emplace();
        data_->trace_id = context_.trace_id;
        data_->span_id = context_.span_id;
        data_->parent_span_id = std::move(parent_span);
        data_->tracestate = context_.tracestate;
        data_->name = std::string(name);
        data_->kind = kind;
        data_->start_unix_nano = NowUnixNano();
    }
}

Span::~Span() {
    ExchangeCurrentTraceContext(saved_);
    if (!data_) {
        return;
    }
    data_->end_unix_nano = NowUnixNano();
    if (SpanSink* sink = g_sink.load(std::memory_order_acquire)) {
        sink->Submit(std::move(*data_));
    }
}

void Span::SetAttribute(std::string key, std::string value) {
    if (data_) {
        data_->attributes.push_back({std::move(key), std::move(value)});
    }
}

void Span::SetAttribute(std::string key, std::int64_t value) {
    if (data_) {
        data_->attributes.push_back({std::move(key), value});
    }
}

void Span::SetError(std::string message) {
    if (data_) {
        data_->error = true;
        data_->status_message = std::move(message);
    }
}

void Span::AddLink(const TraceContext& other) {
    if (data_ && other.HasSpan()) {
        data_->links.push_back(other);
    }
}

}  // namespace sagapay::tracing
