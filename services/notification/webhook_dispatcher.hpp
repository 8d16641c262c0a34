#pragma once

#include <chrono>
#include <stop_token>
#include <string>
#include <utility>
#include <vector>

#include "core/clock.hpp"
#include "services/notification/pg_webhook_store.hpp"

namespace sagapay::notification {

/// Port: one webhook POST. Never throws: a failure is in the result.
class WebhookSender {
public:
    using Headers = std::vector<std::pair<std::string, std::string>>;
    virtual ~WebhookSender() = default;
    virtual AttemptResult Send(
        const std::string& url, const Headers& headers, const std::string& body
    ) = 0;
};

/// WebhookSender over HTTP/1.1 (http:// only): a fresh connection per attempt, `timeout` for the
/// whole call.
class HttpWebhookSender final : public WebhookSender {
public:
    explicit HttpWebhookSender(std::chrono::milliseconds timeout) : timeout_(timeout) {}
    AttemptResult Send(const std::string& url, const Headers& headers, const std::string& body)
        override;

private:
    std::chrono::milliseconds timeout_;
};

struct DispatcherOptions {
    int batch = 8;                                 ///< deliveries claimed per round
    std::chrono::milliseconds retry_base{30'000};  ///< WEBHOOK_RETRY_BASE_MS
    std::chrono::seconds lease{60};                ///< a claimed delivery's time to be settled
    int disable_after = 100;                       ///< WEBHOOK_DISABLE_AFTER_FAILURES
    std::chrono::milliseconds idle_poll{500};      ///< WEBHOOK_POLL_MS
};

/// Delivers due webhooks: claims a batch (PgWebhookStore::ClaimDue), signs each body with the
/// endpoint's live secrets at the clock's time, POSTs it outside any transaction, and records
/// the attempt (retry after RetryDelay until the horizon, then FAILED).
class WebhookDispatcher {
public:
    WebhookDispatcher(
        PgWebhookStore& store, WebhookSender& sender, const Clock& clock, DispatcherOptions options
    )
        : store_(store), sender_(sender), clock_(clock), options_(options) {}

    /// One round; returns how many deliveries it attempted.
    int RunOnce();
    /// Rounds until `stop`; waits `idle_poll` only after a round that found nothing.
    void Run(std::stop_token stop);

private:
    PgWebhookStore& store_;
    WebhookSender& sender_;
    const Clock& clock_;
    DispatcherOptions options_;
};

}  // namespace sagapay::notification
