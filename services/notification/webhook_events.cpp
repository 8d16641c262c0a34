#include "services/notification/webhook_events.hpp"

#include <algorithm>
#include <set>

#include "core/ids.hpp"
#include "core/messaging/topics.hpp"
#include "services/notification/notification_outcome.hpp"

namespace sagapay::notification {

namespace {

constexpr std::size_t kMaxUrl = 2048;
constexpr std::size_t kMaxTypes = 16;
constexpr std::size_t kMaxMerchant = 64;
constexpr std::chrono::milliseconds kMaxDelay = std::chrono::hours(1);

bool IsPrintable(std::string_view text, std::size_t max_bytes) noexcept {
    if (text.empty() || text.size() > max_bytes) {
        return false;
    }
    return std::none_of(text.begin(), text.end(), [](char c) {
        const auto byte = static_cast<unsigned char>(c);
        return byte < 0x20 || byte == 0x7F;
    });
}

bool IsKnownType(std::string_view type) noexcept {
    return type == "*" ||
           std::find(std::begin(kWebhookEventTypes), std::end(kWebhookEventTypes), type) !=
               std::end(kWebhookEventTypes);
}

}  // namespace

int WebhookSequence(std::string_view type, const std::vector<Announced>& announced) {
    int highest = 0;
    bool authorized = false;
    std::optional<int> settled;
    for (const Announced& event : announced) {
        highest = std::max(highest, event.sequence);
        authorized = authorized || event.type == "payment.authorized";
        if (event.type == "payment.settled" && (!settled || event.sequence < *settled)) {
            settled = event.sequence;
        }
    }
    if (type == "payment.settled" && !authorized) {
        return highest + 2;  // the authorization's place, kept
    }
    if (type == "payment.authorized" && !authorized && settled) {
        const int kept = *settled - 1;
        const bool taken = std::any_of(announced.begin(), announced.end(), [&](const Announced& e) {
            return e.sequence == kept;
        });
        if (kept >= 1 && !taken) {
            return kept;
        }
    }
    return highest + 1;
}

std::optional<std::string> WebhookTypeOf(const Envelope& event) {
    if (event.event_type == "payments.authorized") {
        return "payment.authorized";
    }
    if (event.event_type == "payments.settled") {
        return "payment.settled";
    }
    if (event.event_type == "payments.failed") {
        return "payment.failed";
    }
    if (event.event_type == "payments.reversed") {
        return "payment.reversed";
    }
    if (event.event_type == "risk.denied" && event.payload.is_object() &&
        event.payload.value("decision", "") == "REVIEW") {
        return "review.required";
    }
    if (event.event_type == topics::kPaymentsRefunded) {
        return "payment.refunded";
    }
    if (event.event_type == topics::kRefundsFailed) {
        return "refund.failed";
    }
    return std::nullopt;
}

nlohmann::json WebhookObject(const std::string& type, const Envelope& source) {
    nlohmann::json object = source.payload;
    if (type == "payment.refunded" && object.is_object()) {
        const auto number = [&](const char* field) -> std::int64_t {
            const auto it = object.find(field);
            return it != object.end() && it->is_number_integer() ? it->get<std::int64_t>() : 0;
        };
        object["status"] = std::string(
            ToString(RefundOutcomeOf(number("refunded_total_cents"), number("captured_cents")))
        );
    }
    return object;
}

std::string WebhookBody(
    const std::string& event_id,
    const std::string& type,
    std::int64_t created_unix,
    int sequence,
    const Envelope& source
) {
    const nlohmann::json body = {
        {"id", event_id},
        {"type", type},
        {"created", created_unix},
        {"sequence", sequence},
        {"data", {{"payment_id", source.aggregate_id}, {"object", WebhookObject(type, source)}}},
    };
    return body.dump();
}

std::chrono::milliseconds RetryDelay(int attempt, std::chrono::milliseconds base) {
    std::chrono::milliseconds delay = base;
    for (int i = 1; i < attempt && delay < kMaxDelay; ++i) {
        delay *= 2;
    }
    return std::min(delay, kMaxDelay);
}

std::variant<EndpointRequest, RequestError> ParseEndpointRequest(std::string_view body) {
    const nlohmann::json json = nlohmann::json::parse(body, nullptr, false);
    if (json.is_discarded() || !json.is_object()) {
        return RequestError{"body", "request body must be a JSON object"};
    }
    EndpointRequest request;
    const auto url = json.find("url");
    if (url == json.end() || !url->is_string() ||
        !IsPrintable(url->get_ref<const std::string&>(), kMaxUrl) ||
        url->get_ref<const std::string&>().find(' ') != std::string::npos ||
        !SplitHttpUrl(url->get_ref<const std::string&>())) {
        return RequestError{
            "url",
            "url must be an http:// URL with a host, at most 2048 characters (for an https "
            "receiver, a local proxy that forwards over https: docs/webhooks.md)"};
    }
    request.url = url->get<std::string>();
    const auto types = json.find("event_types");
    if (types == json.end() || !types->is_array() || types->empty() || types->size() > kMaxTypes) {
        return RequestError{"event_types", "event_types must list 1 to 16 event types"};
    }
    std::set<std::string> seen;
    for (const auto& type : *types) {
        if (!type.is_string() || !IsKnownType(type.get_ref<const std::string&>())) {
            return RequestError{
                "event_types",
                "event_types must be among payment.authorized, payment.settled, payment.failed, "
                "payment.reversed, review.required, payment.refunded, refund.failed, or *"};
        }
        if (seen.insert(type.get<std::string>()).second) {
            request.event_types.push_back(type.get<std::string>());
        }
    }
    if (const auto merchant = json.find("merchant_id");
        merchant != json.end() && !merchant->is_null()) {
        if (!merchant->is_string() ||
            !IsPrintable(merchant->get_ref<const std::string&>(), kMaxMerchant)) {
            return RequestError{"merchant_id", "merchant_id must be 1 to 64 printable characters"};
        }
        request.merchant_id = merchant->get<std::string>();
    }
    return request;
}

std::optional<UrlParts> SplitHttpUrl(std::string_view url) {
    constexpr std::string_view kScheme = "http://";
    if (!url.starts_with(kScheme)) {
        return std::nullopt;
    }
    const std::string_view rest = url.substr(kScheme.size());
    const std::size_t slash = rest.find_first_of("/?#");
    const std::string_view authority = rest.substr(0, slash);
    if (authority.empty() || authority.find('@') != std::string_view::npos ||
        authority.front() == ':') {
        return std::nullopt;
    }
    if (const std::size_t colon = authority.rfind(':'); colon != std::string_view::npos) {
        const std::string_view port = authority.substr(colon + 1);
        if (port.empty() || port.size() > 5 ||
            !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
            std::stoi(std::string(port)) > 65535) {
            return std::nullopt;
        }
    }
    UrlParts parts;
    parts.origin = std::string(kScheme) + std::string(authority);
    std::string target = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
    if (const std::size_t hash = target.find('#'); hash != std::string::npos) {
        target.erase(hash);
    }
    if (target.empty() || target.front() != '/') {
        target.insert(target.begin(), '/');
    }
    parts.target = std::move(target);
    return parts;
}

std::string NewWebhookSecret() {
    return "whsec_" + NewSecretToken();
}

}  // namespace sagapay::notification
