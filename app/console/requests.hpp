#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "adapters/http/request.hpp"

namespace sagapay::console {

/// Why a request was refused: the field and what it must be (422 validation_error).
struct FieldError {
    std::string field;
    std::string message;
};

template <typename T>
using Parsed = std::variant<T, FieldError>;

/// One page: `limit` 1 to 200 (default 50), `offset` 0 to 1,000,000.
struct Page {
    std::int64_t limit = 50;
    std::int64_t offset = 0;
};

/// GET /api/reviews: every filter optional, combined with AND.
struct ReviewFilter {
    std::string status = "PENDING";  ///< PENDING, APPROVED or DENIED
    std::optional<std::string> reason;
    std::optional<std::string> currency;  ///< three letters, upper-cased
    std::optional<std::string> customer;
    std::optional<std::int64_t> min_amount;  ///< minor units, inclusive
    std::optional<std::int64_t> max_amount;
    std::optional<std::int64_t> min_age_seconds;  ///< created at least this long ago
    std::optional<std::int64_t> max_age_seconds;
    bool by_amount = false;  ///< sort=amount; else sort=created_at
    bool descending = true;  ///< order=desc (newest / largest first) or asc
    Page page;
};

/// GET /api/payments: every filter optional, combined with AND; newest first.
struct PaymentFilter {
    std::optional<std::string> payment_id;  ///< a UUID
    std::optional<std::string> customer;
    std::optional<std::string> idempotency_key;
    std::optional<std::string> status;
    std::optional<std::string> from;  ///< ISO 8601, created at or after
    std::optional<std::string> to;    ///< ISO 8601, created before
    Page page;
};

/// POST /api/login.
struct Credentials {
    std::string operator_name;
    std::string ops_key;
};

/// POST /api/reviews/decide.
struct Decision {
    bool approve = false;
    std::string note;
    std::vector<std::string> payment_ids;  ///< 1 to kMaxBulk, distinct, UUIDs
};

/// POST /api/dlq/replay.
struct ReplayRequest {
    std::string topic;  ///< payments.dlq or deadletter
    std::string event_id;
};

inline constexpr std::size_t kMaxBulk = 100;
inline constexpr std::size_t kMaxNote = 500;
inline constexpr std::size_t kMaxOperator = 64;

[[nodiscard]] Parsed<Page> ParsePage(const http::Request& request);
[[nodiscard]] Parsed<ReviewFilter> ParseReviewFilter(const http::Request& request);
[[nodiscard]] Parsed<PaymentFilter> ParsePaymentFilter(const http::Request& request);
/// A DLQ topic named in a query or body: payments.dlq (default) or deadletter.
[[nodiscard]] Parsed<std::string> ParseDlqTopic(const std::optional<std::string>& topic);

/// Bodies: FieldError{"body", …} when the body is not a JSON object.
[[nodiscard]] Parsed<Credentials> ParseLogin(const std::string& body);
[[nodiscard]] Parsed<Decision> ParseDecision(const std::string& body);
[[nodiscard]] Parsed<ReplayRequest> ParseReplay(const std::string& body);

/// True when `text` is 1 to `max_characters` UTF-8 characters, none a control character.
[[nodiscard]] bool IsPrintableText(std::string_view text, std::size_t max_characters) noexcept;

}  // namespace sagapay::console
