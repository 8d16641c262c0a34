#include "core/payments/payment_request.hpp"

#include <nlohmann/json.hpp>

#include "core/ids.hpp"
#include "core/money.hpp"

namespace sagapay {

bool IsSafeIdentifier(std::string_view text) noexcept {
    for (const char c : text) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                        (c >= '0' && c <= '9') || c == '.' || c == '_' || c == ':' || c == '@' ||
                        c == '+' || c == '-';
        if (!ok) {
            return false;
        }
    }
    return true;
}

std::string SanitizeTraceId(std::string_view candidate, std::string_view fallback) {
    if (candidate.empty() || candidate.size() > kMaxTraceIdLength || !IsSafeIdentifier(candidate)) {
        return std::string(fallback);
    }
    return std::string(candidate);
}

std::string_view ToString(CaptureMethod method) noexcept {
    return method == CaptureMethod::kManual ? "manual" : "automatic";
}

std::optional<CaptureMethod> ParseCaptureMethod(std::string_view text) noexcept {
    if (text == "automatic") {
        return CaptureMethod::kAutomatic;
    }
    if (text == "manual") {
        return CaptureMethod::kManual;
    }
    return std::nullopt;
}

std::string PaymentRequest::Fingerprint() const {
    // Length-prefixed fields: no two different requests share a canonical form.
    const std::string& customer = customer_id.Value();
    const std::string& key = idempotency_key.Value();
    const std::string canonical = std::to_string(customer.size()) + ":" + customer + "|" +
                                  std::to_string(amount.amount_minor) + "|" +
                                  amount.currency.CodeString() + "|" + std::to_string(key.size()) +
                                  ":" + key;
    // Automatic capture keeps the canonical form payments were created with before
    // capture_method existed: a client retrying such a request still gets its payment.
    return Sha256Hex(capture_method == CaptureMethod::kManual ? canonical + "|manual" : canonical);
}

std::string RefundRequest::Fingerprint() const {
    const std::string amount = amount_minor ? std::to_string(*amount_minor) : "rest";
    return Sha256Hex(amount + "|" + std::to_string(reason.size()) + ":" + reason);
}

namespace {

tl::unexpected<Error> Invalid(std::string field, std::string message) {
    return tl::unexpected(Error{
        ErrorCode::kInvalidArgument, std::move(message), std::move(field), "validation_error"});
}

tl::unexpected<Error> Malformed(std::string message) {
    return tl::unexpected(Error{
        ErrorCode::kInvalidArgument, std::move(message), "", "malformed_json"});
}

Result<std::string> ReadIdentifier(
    const nlohmann::json& body, const char* field, std::size_t min, std::size_t max
) {
    const auto it = body.find(field);
    if (it == body.end()) {
        return Invalid(field, std::string(field) + " is required");
    }
    if (!it->is_string()) {
        return Invalid(field, std::string(field) + " must be a string");
    }
    const auto& value = it->get_ref<const std::string&>();
    if (value.size() < min || value.size() > max) {
        return Invalid(
            field,
            std::string(field) + " must be " + std::to_string(min) + " to " + std::to_string(max) +
                " characters long"
        );
    }
    if (!IsSafeIdentifier(value)) {
        return Invalid(
            field, std::string(field) + " may contain only letters, digits and . _ : @ + -"
        );
    }
    return value;
}

}  // namespace

Result<PaymentRequest> ParsePaymentRequest(std::string_view text) {
    const nlohmann::json body = nlohmann::json::parse(text, nullptr, false);
    if (body.is_discarded()) {
        return Malformed("request body is not valid JSON");
    }
    if (!body.is_object()) {
        return Malformed("request body must be a JSON object");
    }
    for (const auto& [key, value] : body.items()) {
        if (key != "customer_id" && key != "amount_cents" && key != "currency" &&
            key != "idempotency_key" && key != "capture_method") {
            return Invalid(key, "unknown field " + key);
        }
    }
    PaymentRequest request;
    auto customer = ReadIdentifier(body, "customer_id", 1, kMaxCustomerIdLength);
    if (!customer) {
        return tl::unexpected(customer.error());
    }
    request.customer_id = CustomerId(std::move(*customer));

    const auto amount = body.find("amount_cents");
    if (amount == body.end()) {
        return Invalid("amount_cents", "amount_cents is required");
    }
    if (!amount->is_number_integer()) {
        return Invalid(
            "amount_cents",
            "amount_cents must be a JSON integer (minor units), not a string or a fraction"
        );
    }
    const bool too_big = amount->is_number_unsigned() &&
                         amount->get<std::uint64_t>() > static_cast<std::uint64_t>(kMaxAmountMinor);
    const std::int64_t value = too_big ? kMaxAmountMinor + 1 : amount->get<std::int64_t>();
    if (value < 1 || value > kMaxAmountMinor) {
        return Invalid(
            "amount_cents", "amount_cents must be from 1 to " + std::to_string(kMaxAmountMinor)
        );
    }
    request.amount.amount_minor = value;

    const auto currency = body.find("currency");
    if (currency == body.end()) {
        return Invalid("currency", "currency is required");
    }
    if (!currency->is_string()) {
        return Invalid("currency", "currency must be a string");
    }
    std::string code = currency->get<std::string>();
    for (char& c : code) {
        if (c >= 'a' && c <= 'z') {
            c = static_cast<char>(c - 'a' + 'A');
        }
    }
    const auto known = Currency::Parse(code);
    if (!known) {
        return Invalid("currency", "currency must be a supported ISO 4217 code such as USD or EUR");
    }
    request.amount.currency = *known;

    auto key =
        ReadIdentifier(body, "idempotency_key", kMinIdempotencyKeyLength, kMaxIdempotencyKeyLength);
    if (!key) {
        return tl::unexpected(key.error());
    }
    request.idempotency_key = IdempotencyKey(std::move(*key));

    if (const auto method = body.find("capture_method"); method != body.end()) {
        const auto parsed = method->is_string()
                                ? ParseCaptureMethod(method->get_ref<const std::string&>())
                                : std::nullopt;
        if (!parsed) {
            return Invalid("capture_method", R"(capture_method must be "automatic" or "manual")");
        }
        request.capture_method = *parsed;
    }
    return request;
}

namespace {

/// The body as a JSON object, or a refusal; an empty body reads as {}.
Result<nlohmann::json> ObjectBody(std::string_view text) {
    if (text.find_first_not_of(" \t\r\n") == std::string_view::npos) {
        return nlohmann::json::object();
    }
    nlohmann::json body = nlohmann::json::parse(text, nullptr, false);
    if (body.is_discarded()) {
        return Malformed("request body is not valid JSON");
    }
    if (!body.is_object()) {
        return Malformed("request body must be a JSON object");
    }
    return body;
}

/// An optional `amount_cents`: a JSON integer from 1 to kMaxAmountMinor.
Result<std::optional<std::int64_t>> OptionalAmount(const nlohmann::json& body) {
    const auto amount = body.find("amount_cents");
    if (amount == body.end()) {
        return std::optional<std::int64_t>();
    }
    if (!amount->is_number_integer()) {
        return Invalid(
            "amount_cents",
            "amount_cents must be a JSON integer (minor units), not a string or a fraction"
        );
    }
    const bool too_big = amount->is_number_unsigned() &&
                         amount->get<std::uint64_t>() > static_cast<std::uint64_t>(kMaxAmountMinor);
    const std::int64_t value = too_big ? kMaxAmountMinor + 1 : amount->get<std::int64_t>();
    if (value < 1 || value > kMaxAmountMinor) {
        return Invalid(
            "amount_cents", "amount_cents must be from 1 to " + std::to_string(kMaxAmountMinor)
        );
    }
    return std::optional<std::int64_t>(value);
}

}  // namespace

Result<CaptureRequest> ParseCaptureRequest(std::string_view text) {
    auto body = ObjectBody(text);
    if (!body) {
        return tl::unexpected(body.error());
    }
    for (const auto& [key, value] : body->items()) {
        if (key != "amount_cents") {
            return Invalid(key, "unknown field " + key);
        }
    }
    auto amount = OptionalAmount(*body);
    if (!amount) {
        return tl::unexpected(amount.error());
    }
    return CaptureRequest{*amount};
}

Result<void> ParseEmptyRequest(std::string_view text) {
    auto body = ObjectBody(text);
    if (!body) {
        return tl::unexpected(body.error());
    }
    if (!body->empty()) {
        const std::string key = body->begin().key();
        return Invalid(key, "unknown field " + key);
    }
    return {};
}

Result<RefundRequest> ParseRefundRequest(std::string_view text) {
    auto body = ObjectBody(text);
    if (!body) {
        return tl::unexpected(body.error());
    }
    for (const auto& [key, value] : body->items()) {
        if (key != "amount_cents" && key != "reason" && key != "idempotency_key") {
            return Invalid(key, "unknown field " + key);
        }
    }
    RefundRequest request;
    auto key = ReadIdentifier(
        *body, "idempotency_key", kMinIdempotencyKeyLength, kMaxIdempotencyKeyLength
    );
    if (!key) {
        return tl::unexpected(key.error());
    }
    request.idempotency_key = IdempotencyKey(std::move(*key));
    auto amount = OptionalAmount(*body);
    if (!amount) {
        return tl::unexpected(amount.error());
    }
    request.amount_minor = *amount;
    if (const auto reason = body->find("reason"); reason != body->end()) {
        const bool ok = reason->is_string() && !reason->get_ref<const std::string&>().empty() &&
                        reason->get_ref<const std::string&>().size() <= kMaxRefundReasonLength;
        const std::string text_reason = ok ? reason->get<std::string>() : std::string();
        bool safe = ok;
        for (const char c : text_reason) {
            if (c != ' ' && !IsSafeIdentifier(std::string_view(&c, 1))) {
                safe = false;
            }
        }
        if (!safe) {
            return Invalid(
                "reason",
                "reason must be 1 to " + std::to_string(kMaxRefundReasonLength) +
                    " characters of letters, digits, spaces and . _ : @ + -"
            );
        }
        request.reason = text_reason;
    }
    return request;
}

}  // namespace sagapay
