#include "services/notification/webhook_dispatcher.hpp"

#include "adapters/http/client.hpp"
#include "runtime/log.hpp"
#include "runtime/wait.hpp"
#include "services/notification/webhook_signature.hpp"

namespace sagapay::notification {

namespace {

constexpr std::size_t kExcerpt = 512;

}  // namespace

AttemptResult HttpWebhookSender::Send(
    const std::string& url, const Headers& headers, const std::string& body
) {
    AttemptResult result;
    const auto parts = SplitHttpUrl(url);
    if (!parts) {
        result.error = "not an http:// URL";
        return result;
    }
    const auto started = std::chrono::steady_clock::now();
    http::Client client(
        parts->origin,
        {.max_connections = 1,
         .connect_timeout = std::min(timeout_, std::chrono::milliseconds(3000)),
         .request_timeout = timeout_}
    );
    const auto answer = client.Send("POST", parts->target, body, headers);
    result.latency_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::steady_clock::now() - started
    )
                            .count();
    if (!answer) {
        result.error = answer.error().message;
        return result;
    }
    result.status_code = answer->status;
    result.response_excerpt = answer->body.substr(0, kExcerpt);
    if (!result.Delivered()) {
        result.error = "answered " + std::to_string(answer->status);
    }
    return result;
}

int WebhookDispatcher::RunOnce() {
    const auto due = store_.ClaimDue(options_.batch, options_.lease);
    for (const DueDelivery& delivery : due) {
        const std::int64_t now =
            std::chrono::duration_cast<std::chrono::seconds>(clock_.Now().time_since_epoch())
                .count();
        const WebhookSender::Headers headers = {
            {"content-type", "application/json"},
            {"user-agent", "SagaPay-Webhooks/1"},
            {std::string(kSignatureHeader), SignatureHeader(now, delivery.body, delivery.secrets)},
            {"SagaPay-Event-Id", delivery.event_id},
            {"SagaPay-Event-Type", delivery.event_type},
        };
        const AttemptResult result = sender_.Send(delivery.url, headers, delivery.body);
        std::optional<std::chrono::milliseconds> retry_after;
        if (!result.Delivered()) {
            const auto delay = RetryDelay(delivery.attempt_number, options_.retry_base);
            if (delay.count() <= delivery.seconds_left * 1000) {
                retry_after = delay;
            }
        }
        const bool disabled =
            store_.RecordAttempt(delivery, result, retry_after, options_.disable_after);
        if (!result.Delivered()) {
            log::Warn(
                "webhook_attempt_failed",
                {{"delivery_id", std::to_string(delivery.delivery_id)},
                 {"endpoint_id", delivery.endpoint_id},
                 {"attempt", std::to_string(delivery.attempt_number)},
                 {"error", result.error},
                 {"final", retry_after ? "false" : "true"}}
            );
        }
        if (disabled) {
            log::Warn(
                "webhook_endpoint_disabled",
                {{"endpoint_id", delivery.endpoint_id},
                 {"url", delivery.url},
                 {"consecutive_failures", std::to_string(options_.disable_after)}}
            );
        }
    }
    return static_cast<int>(due.size());
}

void WebhookDispatcher::Run(std::stop_token stop) {
    while (!stop.stop_requested()) {
        int attempted = 0;
        try {
            attempted = RunOnce();
        } catch (const std::exception& error) {
            log::Warn("webhook_dispatch_failed", {{"error", error.what()}});
        }
        if (attempted == 0) {
            WaitFor(stop, options_.idle_poll);
        }
    }
}

}  // namespace sagapay::notification
