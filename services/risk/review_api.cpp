#include "services/risk/review_api.hpp"

#include <cctype>
#include <optional>
#include <stdexcept>
#include <variant>

#include <nlohmann/json.hpp>

#include "core/ids.hpp"
#include "core/payments/payment_request.hpp"
#include "runtime/bootstrap.hpp"
#include "runtime/log.hpp"

namespace sagapay::risk {

namespace {

constexpr std::int64_t kDefaultPageSize = 100;
constexpr std::int64_t kMaxPageSize = 1000;
constexpr std::size_t kMaxReviewerLength = 128;

nlohmann::json OptionalText(const std::optional<std::string>& text) {
    return text ? nlohmann::json(*text) : nlohmann::json(nullptr);
}

/// The seed's review body; the field order is nlohmann's (alphabetical), as it always was.
nlohmann::json ReviewJson(const Review& review) {
    return {
        {"payment_id", review.payment_id.Value()},
        {"customer_id", review.customer_id.Value()},
        {"amount_cents", review.amount.amount_minor},
        {"currency", review.amount.currency.CodeString()},
        {"reason", review.reason},
        {"status", std::string(ToString(review.status))},
        {"reviewed_by", OptionalText(review.reviewed_by)},
        {"reviewed_at", OptionalText(review.reviewed_at)},
        {"created_at", review.created_at},
        {"review_id", review.review_id.Value()},
    };
}

/// The page size: `limit` as the seed parsed it (std::stoll over the whole text), 1 to 1000,
/// 100 when absent; or the response that refuses it.
std::variant<std::int64_t, http::Response> ParseLimit(const std::optional<std::string>& text) {
    if (!text) {
        return kDefaultPageSize;
    }
    std::int64_t limit = 0;
    try {
        std::size_t used = 0;
        limit = std::stoll(*text, &used);
        if (used != text->size()) {
            throw std::invalid_argument("trailing characters");
        }
    } catch (const std::exception&) {
        return http::ErrorResponse(
            422, "validation_error", "limit must be a whole number", "limit"
        );
    }
    if (limit < 1 || limit > kMaxPageSize) {
        return http::ErrorResponse(
            422, "validation_error", "limit must be from 1 to 1000", "limit"
        );
    }
    return limit;
}

/// True when `text` (valid UTF-8, as the JSON parser leaves it) is 1 to kMaxReviewerLength
/// characters, none of them a control character. A NUL would be cut off by PostgreSQL's text
/// parameters (the review would record another name than the answer and the event give), and a
/// length in bytes refused 128 accented letters.
bool IsUsableReviewer(std::string_view text) noexcept {
    std::size_t characters = 0;
    for (const char c : text) {
        const auto byte = static_cast<unsigned char>(c);
        if (byte < 0x20 || byte == 0x7F) {
            return false;
        }
        characters += (byte & 0xC0U) != 0x80U ? 1 : 0;  // continuation bytes add nothing
    }
    return characters >= 1 && characters <= kMaxReviewerLength;
}

/// The `reviewed_by` of a decision body, or the response that refuses the body.
std::variant<std::string, http::Response> ParseReviewer(const std::string& body) {
    const nlohmann::json json = nlohmann::json::parse(body, nullptr, false);
    if (json.is_discarded() || !json.is_object()) {
        return http::ErrorResponse(400, "malformed_json", "request body must be a JSON object");
    }
    const auto by = json.find("reviewed_by");
    if (by == json.end() || !by->is_string() ||
        !IsUsableReviewer(by->get_ref<const std::string&>())) {
        return http::ErrorResponse(
            422,
            "validation_error",
            "reviewed_by must be a string of 1 to 128 characters, none a control character",
            "reviewed_by"
        );
    }
    return by->get<std::string>();
}

http::Response Unauthorized() {
    return http::ErrorResponse(401, "unauthorized", "invalid API key");
}

}  // namespace

void ReviewApi::AddRoutes(http::Router& router) {
    router.Add("GET", "/ops/reviews", WithDatabaseErrors([this](http::Request& r) {
                   return List(r);
               }));
    router.Add(
        "POST", "/ops/reviews/{payment_id}/approve", WithDatabaseErrors([this](http::Request& r) {
            return Decide(r, ReviewStatus::kApproved);
        })
    );
    router.Add(
        "POST", "/ops/reviews/{payment_id}/deny", WithDatabaseErrors([this](http::Request& r) {
            return Decide(r, ReviewStatus::kDenied);
        })
    );
}

http::Response ReviewApi::List(http::Request& request) {
    if (!ApiKeyMatches(request, ops_api_key_)) {
        return Unauthorized();
    }
    std::string status_text = request.QueryParam("status").value_or("PENDING");
    for (char& c : status_text) {
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
    const auto status = ParseReviewStatus(status_text);
    if (!status) {
        return http::ErrorResponse(
            422, "validation_error", "status must be PENDING, APPROVED or DENIED", "status"
        );
    }
    const auto limit = ParseLimit(request.QueryParam("limit"));
    if (const auto* refused = std::get_if<http::Response>(&limit)) {
        return *refused;
    }
    ReviewPageQuery query{
        .status = *status, .limit = std::get<std::int64_t>(limit), .after = std::nullopt};
    // Keyset pagination: `after` is the review_id of the last row of the previous page.
    const std::string after = request.QueryParam("after").value_or("");
    if (!after.empty()) {
        if (!IsUuid(after)) {
            return http::ErrorResponse(
                422, "validation_error", "after must be a review_id", "after"
            );
        }
        query.after = ReviewId(after);
    }
    std::vector<Review> reviews;
    units_.Run([&](RiskStore& store, Outbox&) { reviews = store.ListReviews(query); });
    nlohmann::json list = nlohmann::json::array();
    for (const Review& review : reviews) {
        list.push_back(ReviewJson(review));
    }
    http::Response response = http::JsonResponse(200, list.dump());
    if (static_cast<std::int64_t>(reviews.size()) == query.limit) {
        response.headers.emplace_back("x-next-after", reviews.back().review_id.Value());
    }
    return response;
}

http::Response ReviewApi::Decide(http::Request& request, ReviewStatus to) {
    if (!ApiKeyMatches(request, ops_api_key_)) {
        return Unauthorized();
    }
    auto reviewer = ParseReviewer(request.body);
    if (auto* refused = std::get_if<http::Response>(&reviewer)) {
        return *refused;
    }
    const std::string reviewed_by = std::get<std::string>(std::move(reviewer));
    const std::string& payment_text = request.path_params.at(0);
    if (!IsUuid(payment_text)) {
        return http::ErrorResponse(404, "review_not_found", "review not found", "payment_id");
    }
    const PaymentId payment(payment_text);
    const bool approve = to == ReviewStatus::kApproved;
    const EventId event_id(NewUuid());
    std::string trace;
    std::optional<http::Response> refused;
    units_.Run([&](RiskStore& store, Outbox& outbox) {
        const DecideReviewOutcome outcome = store.DecideReview(
            payment, {.status = to, .reviewed_by = reviewed_by, .decision_event_id = event_id}
        );
        if (std::holds_alternative<ReviewNotFound>(outcome)) {
            refused =
                http::ErrorResponse(404, "review_not_found", "review not found", "payment_id");
            return;
        }
        if (const auto* decided = std::get_if<ReviewAlreadyDecided>(&outcome)) {
            refused = http::ErrorResponse(
                409,
                "review_already_decided",
                "review already finalized with status=" + std::string(ToString(decided->status))
            );
            return;
        }
        const auto& review = std::get<DecidedReview>(outcome);
        // The caller's trace when it sent a usable one, else the payment's own.
        trace = SanitizeTraceId(request.Header("x-trace-id"), review.trace_id);
        RiskDecided decision;
        decision.decision = approve ? Verdict::kApprove : Verdict::kDeny;
        decision.reason = approve ? "manual_approve" : "manual_deny";
        decision.customer_id = review.customer_id;
        decision.review = ManualReview{reviewed_by, review.reviewed_at, std::string(ToString(to))};
        Envelope envelope = approve ? NewEnvelope(RiskApproved{decision}, payment, trace, clock_)
                                    : NewEnvelope(RiskDenied{decision}, payment, trace, clock_);
        // The review row names the event that announced it.
        envelope.event_id = event_id.Value();
        outbox.Append(std::move(envelope));
    });
    if (refused) {
        return *refused;
    }
    const log::ScopedContext context(trace, event_id.Value(), payment.Value());
    log::Info(
        "manual review decided",
        {{"status", std::string(ToString(to))}, {"reviewed_by", reviewed_by}}
    );
    return http::JsonResponse(
        200,
        nlohmann::json{
            {"payment_id", payment.Value()},
            {"status", std::string(ToString(to))},
            {"reviewed_by", reviewed_by}}
            .dump()
    );
}

}  // namespace sagapay::risk
