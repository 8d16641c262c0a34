#include "core/tracing/trace_context.hpp"

#include <cstdint>
#include <random>

namespace sagapay {

namespace {

constexpr char kHex[] = "0123456789abcdef";
constexpr std::size_t kTraceIdLength = 32;
constexpr std::size_t kSpanIdLength = 16;
constexpr std::size_t kMaxTracestate = 512;

bool IsLowerHex(std::string_view text) noexcept {
    for (const char c : text) {
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
            return false;
        }
    }
    return true;
}

bool AllZero(std::string_view text) noexcept {
    return text.find_first_not_of('0') == std::string_view::npos;
}

bool PrintableAscii(std::string_view text) noexcept {
    for (const char c : text) {
        if (c < 0x20 || c > 0x7e) {
            return false;
        }
    }
    return true;
}

int HexValue(char c) noexcept {
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    return -1;
}

/// Per-thread generator seeded once from the kernel: ids need to be unique, not secret.
std::mt19937_64& Generator() {
    thread_local std::mt19937_64 generator = [] {
        std::random_device device;
        std::seed_seq seed{device(), device(), device(), device()};
        return std::mt19937_64(seed);
    }();
    return generator;
}

std::string RandomHex(std::size_t digits) {
    std::string out;
    out.reserve(digits);
    while (out.size() < digits) {
        std::uint64_t bits = Generator()();
        for (int i = 0; i < 16 && out.size() < digits; ++i) {
            out.push_back(kHex[bits & 0xFU]);
            bits >>= 4U;
        }
    }
    if (AllZero(out)) {
        out.back() = '1';
    }
    return out;
}

thread_local const TraceContext* t_current = nullptr;

}  // namespace

const TraceContext* CurrentTraceContext() noexcept {
    return t_current;
}

const TraceContext* ExchangeCurrentTraceContext(const TraceContext* context) noexcept {
    const TraceContext* previous = t_current;
    t_current = context;
    return previous;
}

std::optional<TraceContext> ParseTraceparent(
    std::string_view traceparent, std::string_view tracestate
) {
    // version "-" trace-id "-" parent-id "-" flags: 2 + 1 + 32 + 1 + 16 + 1 + 2 = 55.
    constexpr std::size_t kLength = 55;
    if (traceparent.size() < kLength) {
        return std::nullopt;
    }
    const std::string_view version = traceparent.substr(0, 2);
    if (!IsLowerHex(version) || version == "ff") {
        return std::nullopt;
    }
    // Version 00 is exactly 55 characters; a later version may append "-..." fields.
    if (traceparent.size() > kLength && (version == "00" || traceparent[kLength] != '-')) {
        return std::nullopt;
    }
    if (traceparent[2] != '-' || traceparent[35] != '-' || traceparent[52] != '-') {
        return std::nullopt;
    }
    const std::string_view trace_id = traceparent.substr(3, kTraceIdLength);
    const std::string_view span_id = traceparent.substr(36, kSpanIdLength);
    const std::string_view flags = traceparent.substr(53, 2);
    if (!IsLowerHex(trace_id) || !IsLowerHex(span_id) || !IsLowerHex(flags) || AllZero(trace_id) ||
        AllZero(span_id)) {
        return std::nullopt;
    }
    TraceContext context;
    context.trace_id = std::string(trace_id);
    context.span_id = std::string(span_id);
    context.sampled = (HexValue(flags[1]) & 1) != 0;
    if (tracestate.size() <= kMaxTracestate && PrintableAscii(tracestate)) {
        context.tracestate = std::string(tracestate);
    }
    return context;
}

std::string FormatTraceparent(const TraceContext& context) {
    if (!context.HasTrace() || !context.HasSpan()) {
        return {};
    }
    return "00-" + context.trace_id + "-" + context.span_id + (context.sampled ? "-01" : "-00");
}

std::string NewTraceId() {
    return RandomHex(kTraceIdLength);
}

std::string NewSpanId() {
    return RandomHex(kSpanIdLength);
}

std::optional<std::string> TraceIdFromCorrelationId(std::string_view id) {
    std::string digits;
    digits.reserve(kTraceIdLength);
    if (id.size() == 36) {
        for (std::size_t i = 0; i < id.size(); ++i) {
            const bool dash_position = i == 8 || i == 13 || i == 18 || i == 23;
            if (dash_position != (id[i] == '-')) {
                return std::nullopt;
            }
            if (!dash_position) {
                const char c = id[i];
                digits.push_back(c >= 'A' && c <= 'F' ? static_cast<char>(c - 'A' + 'a') : c);
            }
        }
    } else if (id.size() == kTraceIdLength) {
        digits = std::string(id);
    } else {
        return std::nullopt;
    }
    if (!IsLowerHex(digits) || AllZero(digits)) {
        return std::nullopt;
    }
    return digits;
}

std::string TraceIdAsUuid(std::string_view trace_id) {
    std::string out;
    out.reserve(36);
    for (std::size_t i = 0; i < trace_id.size(); ++i) {
        if (i == 8 || i == 12 || i == 16 || i == 20) {
            out.push_back('-');
        }
        out.push_back(trace_id[i]);
    }
    return out;
}

std::optional<TraceContext> ContinueTrace(
    std::string_view traceparent, std::string_view tracestate, std::string_view correlation_id
) {
    if (auto parsed = ParseTraceparent(traceparent, tracestate)) {
        return parsed;
    }
    if (auto trace_id = TraceIdFromCorrelationId(correlation_id)) {
        TraceContext context;
        context.trace_id = std::move(*trace_id);
        return context;
    }
    return std::nullopt;
}

}  // namespace sagapay
