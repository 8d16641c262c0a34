#include "runtime/otlp_exporter.hpp"

#include <algorithm>
#include <atomic>

#include <nlohmann/json.hpp>

#include "adapters/http/client.hpp"
#include "core/percent_decode.hpp"
#include "runtime/log.hpp"
#include "runtime/metrics.hpp"

namespace sagapay::tracing {

namespace {

nlohmann::json AttributeJson(const Attribute& attribute) {
    nlohmann::json value;
    if (const auto* text = std::get_if<std::string>(&attribute.value)) {
        value["stringValue"] = *text;
    } else {
        // OTLP JSON writes 64-bit integers as strings.
        value["intValue"] = std::to_string(std::get<std::int64_t>(attribute.value));
    }
    return {{"key", attribute.key}, {"value", std::move(value)}};
}

nlohmann::json SpanJson(const SpanData& span) {
    nlohmann::json json = {
        {"traceId", span.trace_id},
        {"spanId", span.span_id},
        {"name", span.name},
        {"kind", static_cast<int>(span.kind)},
        {"startTimeUnixNano", std::to_string(span.start_unix_nano)},
        {"endTimeUnixNano", std::to_string(span.end_unix_nano)},
    };
    if (!span.parent_span_id.empty()) {
        json["parentSpanId"] = span.parent_span_id;
    }
    if (!span.tracestate.empty()) {
        json["traceState"] = span.tracestate;
    }
    if (!span.attributes.empty()) {
        auto& attributes = json["attributes"] = nlohmann::json::array();
        for (const Attribute& attribute : span.attributes) {
            attributes.push_back(AttributeJson(attribute));
        }
    }
    if (!span.links.empty()) {
        auto& links = json["links"] = nlohmann::json::array();
        for (const TraceContext& link : span.links) {
            links.push_back({{"traceId", link.trace_id}, {"spanId", link.span_id}});
        }
    }
    if (span.error) {
        json["status"] = {{"code", 2}, {"message", span.status_message}};  // STATUS_CODE_ERROR
    }
    return json;
}

}  // namespace

std::string EncodeOtlpJson(std::string_view service_name, std::span<const SpanData> spans) {
    nlohmann::json list = nlohmann::json::array();
    for (const SpanData& span : spans) {
        list.push_back(SpanJson(span));
    }
    const nlohmann::json request = {
        {"resourceSpans",
         nlohmann::json::array({{
             {"resource",
              {{"attributes",
                nlohmann::json::array(
                    {{{"key", "service.name"}, {"value", {{"stringValue", service_name}}}}}
                )}}},
             {"scopeSpans",
              nlohmann::json::array({{{"scope", {{"name", "sagapay"}}}, {"spans", std::move(list)}}}
              )},
         }})},
    };
    return request.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Result<OtlpTarget> ResolveOtlpTarget(std::string_view traces_endpoint, std::string_view endpoint) {
    std::string url;
    if (!traces_endpoint.empty()) {
        url = std::string(traces_endpoint);
    } else if (!endpoint.empty()) {
        url = std::string(endpoint);
        while (!url.empty() && url.back() == '/') {
            url.pop_back();
        }
        url += "/v1/traces";
    } else {
        return Fail(ErrorCode::kInvalidArgument, "no OTLP endpoint set");
    }
    constexpr std::string_view kScheme = "http://";
    if (url.rfind(kScheme, 0) != 0) {
        return Fail(
            ErrorCode::kInvalidArgument,
            "OTLP endpoint '" + url +
                "': only http:// is supported (run a local OpenTelemetry Collector to reach a "
                "TLS endpoint)"
        );
    }
    const auto slash = url.find('/', kScheme.size());
    OtlpTarget target;
    target.origin = url.substr(0, slash);
    target.path = slash == std::string::npos ? "/" : url.substr(slash);
    if (target.origin.size() == kScheme.size()) {
        return Fail(ErrorCode::kInvalidArgument, "OTLP endpoint '" + url + "' has no host");
    }
    return target;
}

std::vector<std::pair<std::string, std::string>> ParseOtlpHeaders(std::string_view text) {
    std::vector<std::pair<std::string, std::string>> headers;
    while (!text.empty()) {
        const auto comma = text.find(',');
        const std::string_view item = text.substr(0, comma);
        text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
        const auto equals = item.find('=');
        if (equals == std::string_view::npos || equals == 0) {
            continue;
        }
        auto trim = [](std::string_view s) {
            while (!s.empty() && s.front() == ' ') {
                s.remove_prefix(1);
            }
            while (!s.empty() && s.back() == ' ') {
                s.remove_suffix(1);
            }
            return s;
        };
        const auto value = PercentDecode(trim(item.substr(equals + 1)));
        if (value) {
            headers.emplace_back(std::string(trim(item.substr(0, equals))), *value);
        }
    }
    return headers;
}

struct OtlpExporter::Impl {
    Impl(OtlpOptions o, OtlpPost p)
        : options(std::move(o)),
          post(std::move(p)),
          exported_metric(
              metrics::Get().otel_spans_exported_total.Add({{"service", options.service_name}})
          ),
          queue_full_metric(metrics::Get().otel_spans_dropped_total.Add(
              {{"service", options.service_name}, {"reason", "queue_full"}}
          )),
          export_failed_metric(metrics::Get().otel_spans_dropped_total.Add(
              {{"service", options.service_name}, {"reason", "export_failed"}}
          )) {
        options.max_batch = std::max<std::size_t>(1, options.max_batch);
        options.max_queue = std::max(options.max_queue, options.max_batch);
        thread = std::thread([this] { Run(); });
    }

    Impl(const Impl&) = delete;
    Impl& operator=(const Impl&) = delete;
    Impl(Impl&&) = delete;
    Impl& operator=(Impl&&) = delete;

    ~Impl() {
        {
            const std::lock_guard lock(mutex);
            stopping = true;
        }
        wake.notify_all();
        thread.join();
    }

    void Submit(SpanData span) noexcept {
        bool full_batch = false;
        {
            const std::lock_guard lock(mutex);
            if (queue.size() >= options.max_queue) {
                dropped_queue_full.fetch_add(1, std::memory_order_relaxed);
                queue_full_metric.Increment();
                return;
            }
            queue.push_back(std::move(span));
            full_batch = queue.size() == options.max_batch;
        }
        if (full_batch) {
            wake.notify_one();
        }
    }

    void Run() {
        std::vector<SpanData> batch;
        batch.reserve(options.max_batch);
        std::unique_lock lock(mutex);
        while (true) {
            wake.wait_for(lock, options.schedule_delay, [this] {
                return stopping || queue.size() >= options.max_batch;
            });
            // On stop: everything queued goes out in batches, then the thread ends.
            do {
                const std::size_t take = std::min(queue.size(), options.max_batch);
                batch.assign(
                    std::make_move_iterator(queue.begin()),
                    std::make_move_iterator(queue.begin() + static_cast<std::ptrdiff_t>(take))
                );
                queue.erase(queue.begin(), queue.begin() + static_cast<std::ptrdiff_t>(take));
                if (!batch.empty()) {
                    lock.unlock();
                    const bool sent = Send(batch);
                    batch.clear();
                    lock.lock();
                    if (!sent && stopping) {
                        // A dead collector must not hold the stop for a timeout per batch.
                        CountFailed(static_cast<std::int64_t>(queue.size()));
                        queue.clear();
                    }
                }
            } while (stopping && !queue.empty());
            if (stopping) {
                return;
            }
        }
    }

    void CountFailed(std::int64_t count) {
        dropped_export_failed.fetch_add(count, std::memory_order_relaxed);
        export_failed_metric.Increment(static_cast<double>(count));
    }

    bool Send(const std::vector<SpanData>& batch) {
        bool sent = false;
        try {
            sent = post(EncodeOtlpJson(options.service_name, batch));
        } catch (const std::exception& e) {
            log::Debug("OTLP export failed", {{"error", e.what()}});
        }
        const auto count = static_cast<std::int64_t>(batch.size());
        if (sent) {
            exported.fetch_add(count, std::memory_order_relaxed);
            exported_metric.Increment(static_cast<double>(count));
        } else {
            CountFailed(count);
        }
        return sent;
    }

    OtlpOptions options;
    OtlpPost post;
    prometheus::Counter& exported_metric;
    prometheus::Counter& queue_full_metric;
    prometheus::Counter& export_failed_metric;
    std::atomic<std::int64_t> exported{0};
    std::atomic<std::int64_t> dropped_queue_full{0};
    std::atomic<std::int64_t> dropped_export_failed{0};
    std::mutex mutex;
    std::condition_variable wake;
    std::deque<SpanData> queue;
    bool stopping = false;
    std::thread thread;  ///< Last: started once the rest exists.
};

namespace {

OtlpPost HttpPost(const OtlpOptions& options) {
    http::ClientOptions client_options;
    client_options.max_connections = 2;
    client_options.request_timeout = options.timeout;
    auto client = std::make_shared<http::Client>(options.target.origin, client_options);
    auto headers = options.headers;
    headers.emplace_back("content-type", "application/json");
    return
        [client, headers = std::move(headers), path = options.target.path](const std::string& body
        ) {
            const auto answer = client->Send("POST", path, body, headers);
            if (!answer) {
                log::Debug("OTLP collector unreachable", {{"error", answer.error().message}});
                return false;
            }
            if (answer->status < 200 || answer->status >= 300) {
                log::Debug(
                    "OTLP collector refused spans", {{"status", std::to_string(answer->status)}}
                );
                return false;
            }
            return true;
        };
}

}  // namespace

OtlpExporter::OtlpExporter(OtlpOptions options) {
    OtlpPost post = HttpPost(options);
    impl_ = std::make_unique<Impl>(std::move(options), std::move(post));
}

OtlpExporter::OtlpExporter(OtlpOptions options, OtlpPost post)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(post))) {}

OtlpExporter::~OtlpExporter() = default;

void OtlpExporter::Submit(SpanData span) noexcept {
    impl_->Submit(std::move(span));
}

std::int64_t OtlpExporter::Exported() const noexcept {
    return impl_->exported.load(std::memory_order_relaxed);
}

std::int64_t OtlpExporter::DroppedQueueFull() const noexcept {
    return impl_->dropped_queue_full.load(std::memory_order_relaxed);
}

std::int64_t OtlpExporter::DroppedExportFailed() const noexcept {
    return impl_->dropped_export_failed.load(std::memory_order_relaxed);
}

}  // namespace sagapay::tracing
