#include "app/console/requests.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <set>

#include <nlohmann/json.hpp>

#include "core/clock.hpp"
#include "core/ids.hpp"

namespace sagapay::console {

namespace {

constexpr std::int64_t kMaxLimit = 200;
constexpr std::int64_t kMaxOffset = 1'000'000;
constexpr std::size_t kMaxFilterText = 128;
constexpr std::int64_t kMaxAmount = 1'000'000'000'000;  // 10^12 minor units
constexpr std::int64_t kMaxAge = 10LL * 365 * 24 * 3600;

/// A whole number from `min` to `max` in the query parameter `name`, nullopt when absent or
/// empty (an empty form field means "no filter").
Parsed<std::optional<std::int64_t>> Number(
    const http::Request& request, std::string_view name, std::int64_t min, std::int64_t max
) {
    const auto text = request.QueryParam(name);
    if (!text || text->empty()) {
        return std::optional<std::int64_t>();
    }
    std::int64_t value = 0;
    const char* end = text->data() + text->size();
    const auto [ptr, ec] = std::from_chars(text->data(), end, value);
    if (ec != std::errc() || ptr != end || value < min || value > max) {
        return FieldError{
            std::string(name),
            std::string(name) + " must be a whole number from " + std::to_string(min) + " to " +
                std::to_string(max)};
    }
    return std::optional<std::int64_t>(value);
}

/// A free-text filter: nullopt when absent or empty, refused when over kMaxFilterText
/// characters or holding a control character.
Parsed<std::optional<std::string>> Text(const http::Request& request, std::string_view name) {
    auto text = request.QueryParam(name);
    if (!text || text->empty()) {
        return std::optional<std::string>();
    }
    if (!IsPrintableText(*text, kMaxFilterText)) {
        return FieldError{
            std::string(name),
            std::string(name) + " must be at most 128 characters, none a control character"};
    }
    return text;
}

std::string Upper(std::string text) {
    for (char& c : text) {
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
    return text;
}

bool OneOf(std::string_view value, std::initializer_list<std::string_view> allowed) {
    return std::find(allowed.begin(), allowed.end(), value) != allowed.end();
}

/// Assigns the parsed value or returns its error from the enclosing function.
#define SAGAPAY_TAKE(target, expression)                       \
    do {                                                       \
        auto taken_ = (expression);                            \
        if (auto* error_ = std::get_if<FieldError>(&taken_)) { \
            return std::move(*error_);                         \
        }                                                      \
        (target) = std::move(std::get<0>(taken_));             \
    } while (false)

nlohmann::json ParseObject(const std::string& body) {
    nlohmann::json json = nlohmann::json::parse(body, nullptr, false);
    return json.is_object() ? json : nlohmann::json();
}

}  // namespace

bool IsPrintableText(std::string_view text, std::size_t max_characters) noexcept {
    std::size_t characters = 0;
    for (const char c : text) {
        const auto byte = static_cast<unsigned char>(c);
        if (byte < 0x20 || byte == 0x7F) {
            return false;
        }
        characters += (byte & 0xC0U) != 0x80U ? 1 : 0;
    }
    return characters >= 1 && characters <= max_characters;
}

Parsed<Page> ParsePage(const http::Request& request) {
    Page page;
    std::optional<std::int64_t> limit;
    std::optional<std::int64_t> offset;
    SAGAPAY_TAKE(limit, Number(request, "limit", 1, kMaxLimit));
    SAGAPAY_TAKE(offset, Number(request, "offset", 0, kMaxOffset));
    page.limit = limit.value_or(page.limit);
    page.offset = offset.value_or(0);
    return page;
}

Parsed<ReviewFilter> ParseReviewFilter(const http::Request& request) {
    ReviewFilter filter;
    if (const auto status = request.QueryParam("status"); status && !status->empty()) {
        filter.status = Upper(*status);
        if (!OneOf(filter.status, {"PENDING", "APPROVED", "DENIED"})) {
            return FieldError{"status", "status must be PENDING, APPROVED or DENIED"};
        }
    }
    SAGAPAY_TAKE(filter.reason, Text(request, "reason"));
    SAGAPAY_TAKE(filter.customer, Text(request, "customer"));
    SAGAPAY_TAKE(filter.currency, Text(request, "currency"));
    if (filter.currency) {
        filter.currency = Upper(*filter.currency);
        if (filter.currency->size() != 3 ||
            !std::all_of(filter.currency->begin(), filter.currency->end(), [](char c) {
                return c >= 'A' && c <= 'Z';
            })) {
            return FieldError{"currency", "currency must be three letters"};
        }
    }
    SAGAPAY_TAKE(filter.min_amount, Number(request, "min_amount", 0, kMaxAmount));
    SAGAPAY_TAKE(filter.max_amount, Number(request, "max_amount", 0, kMaxAmount));
    SAGAPAY_TAKE(filter.min_age_seconds, Number(request, "min_age_seconds", 0, kMaxAge));
    SAGAPAY_TAKE(filter.max_age_seconds, Number(request, "max_age_seconds", 0, kMaxAge));
    if (filter.min_amount && filter.max_amount && *filter.min_amount > *filter.max_amount) {
        return FieldError{"max_amount", "max_amount must not be below min_amount"};
    }
    const std::string sort = request.QueryParam("sort").value_or("created_at");
    if (!OneOf(sort, {"", "created_at", "amount"})) {
        return FieldError{"sort", "sort must be created_at or amount"};
    }
    filter.by_amount = sort == "amount";
    const std::string order = request.QueryParam("order").value_or("desc");
    if (!OneOf(order, {"", "desc", "asc"})) {
        return FieldError{"order", "order must be desc or asc"};
    }
    filter.descending = order != "asc";
    SAGAPAY_TAKE(filter.page, ParsePage(request));
    return filter;
}

Parsed<PaymentFilter> ParsePaymentFilter(const http::Request& request) {
    PaymentFilter filter;
    SAGAPAY_TAKE(filter.payment_id, Text(request, "payment_id"));
    if (filter.payment_id && !IsUuid(*filter.payment_id)) {
        return FieldError{"payment_id", "payment_id must be a UUID"};
    }
    SAGAPAY_TAKE(filter.customer, Text(request, "customer"));
    SAGAPAY_TAKE(filter.idempotency_key, Text(request, "idempotency_key"));
    SAGAPAY_TAKE(filter.status, Text(request, "status"));
    if (filter.status) {
        filter.status = Upper(*filter.status);
        if (!OneOf(
                *filter.status,
                {"CREATED",
                 "RISK_REVIEW",
                 "APPROVED",
                 "AUTHORIZED",
                 "CAPTURED",
                 "SETTLED",
                 "FAILED",
                 "REVERSED",
                 "PARTIALLY_REFUNDED",
                 "REFUNDED"}
            )) {
            return FieldError{"status", "status must be one of the payment statuses"};
        }
    }
    for (const auto* name : {"from", "to"}) {
        std::optional<std::string> when;
        SAGAPAY_TAKE(when, Text(request, name));
        if (when) {
            // datetime-local sends 2026-12-02T10:00 (no seconds, no zone): read as UTC.
            std::string text = *when;
            if (text.size() == 16) {
                text += ":00";
            }
            if (text.size() == 19) {
                text += "Z";
            }
            const auto parsed = ParseIsoUtc(text);
            // A time that does not exist (month 13, 25 o'clock) would be normalised into
            // another one: it must read back as written.
            if (!parsed || FormatIsoUtc(*parsed).compare(0, 19, text, 0, 19) != 0) {
                return FieldError{
                    name, std::string(name) + " must be an ISO 8601 time, e.g. 2026-12-02T10:00Z"};
            }
            (std::string_view(name) == "from" ? filter.from : filter.to) = FormatIsoUtc(*parsed);
        }
    }
    SAGAPAY_TAKE(filter.page, ParsePage(request));
    return filter;
}

Parsed<std::string> ParseDlqTopic(const std::optional<std::string>& topic) {
    if (!topic || topic->empty() || *topic == "payments.dlq") {
        return std::string("payments.dlq");
    }
    if (*topic == "deadletter") {
        return *topic;
    }
    return FieldError{"topic", "topic must be payments.dlq or deadletter"};
}

Parsed<Credentials> ParseLogin(const std::string& body) {
    const nlohmann::json json = ParseObject(body);
    if (json.is_null()) {
        return FieldError{"body", "the body must be a JSON object"};
    }
    const auto name = json.find("operator");
    if (name == json.end() || !name->is_string() ||
        !IsPrintableText(name->get_ref<const std::string&>(), kMaxOperator)) {
        return FieldError{
            "operator", "operator must be 1 to 64 characters, none a control character"};
    }
    const auto key = json.find("ops_key");
    if (key == json.end() || !key->is_string()) {
        return FieldError{"ops_key", "ops_key must be a string"};
    }
    return Credentials{name->get<std::string>(), key->get<std::string>()};
}

Parsed<Decision> ParseDecision(const std::string& body) {
    const nlohmann::json json = ParseObject(body);
    if (json.is_null()) {
        return FieldError{"body", "the body must be a JSON object"};
    }
    Decision decision;
    const std::string verdict = json.value("decision", nlohmann::json()).is_string()
                                    ? json["decision"].get<std::string>()
                                    : std::string();
    if (verdict != "approve" && verdict != "deny") {
        return FieldError{"decision", "decision must be approve or deny"};
    }
    decision.approve = verdict == "approve";
    if (const auto note = json.find("note"); note != json.end() && !note->is_null()) {
        if (!note->is_string() ||
            (!note->get_ref<const std::string&>().empty() &&
             !IsPrintableText(*note->get_ptr<const std::string*>(), kMaxNote))) {
            return FieldError{
                "note", "note must be at most 500 characters, none a control character"};
        }
        decision.note = note->get<std::string>();
    }
    const auto ids = json.find("payment_ids");
    if (ids == json.end() || !ids->is_array() || ids->empty() || ids->size() > kMaxBulk) {
        return FieldError{"payment_ids", "payment_ids must list 1 to 100 payment ids"};
    }
    std::set<std::string> seen;
    for (const auto& id : *ids) {
        if (!id.is_string() || !IsUuid(id.get_ref<const std::string&>())) {
            return FieldError{"payment_ids", "every payment id must be a UUID"};
        }
        if (seen.insert(id.get<std::string>()).second) {
            decision.payment_ids.push_back(id.get<std::string>());
        }
    }
    return decision;
}

Parsed<ReplayRequest> ParseReplay(const std::string& body) {
    const nlohmann::json json = ParseObject(body);
    if (json.is_null()) {
        return FieldError{"body", "the body must be a JSON object"};
    }
    ReplayRequest replay;
    const auto topic = json.find("topic");
    SAGAPAY_TAKE(
        replay.topic,
        ParseDlqTopic(
            topic != json.end() && topic->is_string() ? std::optional(topic->get<std::string>())
                                                      : std::optional<std::string>("?")
        )
    );
    const auto id = json.find("event_id");
    if (id == json.end() || !id->is_string() ||
        !IsPrintableText(id->get_ref<const std::string&>(), kMaxFilterText)) {
        return FieldError{"event_id", "event_id must be the parked event's id"};
    }
    replay.event_id = id->get<std::string>();
    return replay;
}

#undef SAGAPAY_TAKE

}  // namespace sagapay::console
