#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "core/result.hpp"
#include "runtime/tracing.hpp"

namespace sagapay::tracing {

/// The spans of one export as an OTLP/HTTP JSON ExportTraceServiceRequest
/// (opentelemetry-proto, JSON encoding: hex ids, nanosecond times as strings), with the
/// resource attribute service.name.
[[nodiscard]] std::string EncodeOtlpJson(
    std::string_view service_name, std::span<const SpanData> spans
);

/// Where an OTLP/HTTP traces URL points: "http://host:port" and the request path.
struct OtlpTarget {
    std::string origin;
    std::string path;
};

/// The traces URL from the OpenTelemetry variables: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT as is,
/// else OTEL_EXPORTER_OTLP_ENDPOINT + "/v1/traces". Only http:// (kInvalidArgument otherwise:
/// run a local OpenTelemetry Collector to reach a TLS endpoint).
[[nodiscard]] Result<OtlpTarget> ResolveOtlpTarget(
    std::string_view traces_endpoint, std::string_view endpoint
);

struct OtlpOptions {
    OtlpTarget target;
    std::string service_name;
    std::size_t max_queue = 2048;  ///< OTEL_BSP_MAX_QUEUE_SIZE: spans past it are dropped.
    std::size_t max_batch = 512;   ///< OTEL_BSP_MAX_EXPORT_BATCH_SIZE: spans per request.
    /// OTEL_BSP_SCHEDULE_DELAY: the longest a span waits for a batch to fill.
    std::chrono::milliseconds schedule_delay{1000};
    std::chrono::milliseconds timeout{10000};  ///< OTEL_EXPORTER_OTLP_TIMEOUT, per request.
    std::vector<std::pair<std::string, std::string>> headers;  ///< OTEL_EXPORTER_OTLP_HEADERS
};

/// Sends a body to the collector; true when it took it (2xx). The HTTP adapter in production, a
/// recorder in tests.
using OtlpPost = std::function<bool(const std::string& body)>;

/// The batch span processor and OTLP/HTTP exporter in one: Submit() appends to a bounded queue
/// under a short lock (a full queue drops the span and counts it; the saga never waits), one
/// background thread sends batches of up to max_batch spans when a batch is full or
/// schedule_delay passed. A failed export drops its batch (counted; no retry piles up behind a
/// dead collector). Destruction sends what is queued, once, then stops.
class OtlpExporter final : public SpanSink {
public:
    /// Posts with the project's HTTP client to options.target.
    explicit OtlpExporter(OtlpOptions options);
    OtlpExporter(OtlpOptions options, OtlpPost post);
    OtlpExporter(const OtlpExporter&) = delete;
    OtlpExporter& operator=(const OtlpExporter&) = delete;
    ~OtlpExporter() override;

    void Submit(SpanData span) noexcept override;

    [[nodiscard]] std::int64_t Exported() const noexcept;
    [[nodiscard]] std::int64_t DroppedQueueFull() const noexcept;
    [[nodiscard]] std::int64_t DroppedExportFailed() const noexcept;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

/// Parses OTEL_EXPORTER_OTLP_HEADERS ("k1=v1,k2=v2", values percent-decoded);
/// entries without '=' are skipped.
[[nodiscard]] std::vector<std::pair<std::string, std::string>> ParseOtlpHeaders(
    std::string_view text
);

}  // namespace sagapay::tracing
