#pragma once

#include <string>

#include "adapters/http/request.hpp"
#include "adapters/http/response.hpp"
#include "adapters/http/router.hpp"
#include "core/clock.hpp"
#include "services/risk/risk_store.hpp"

namespace sagapay::risk {

/// The manual-review ops API (key in `x-api-key`):
///   GET  /ops/reviews?status=PENDING|APPROVED|DENIED&limit=1..1000&after=<review_id>
///        → 200 [review…], oldest first; `x-next-after` names the last review of a full page.
///   POST /ops/reviews/{payment_id}/approve|deny  {"reviewed_by": "1–128 characters"}
///        → 200 {payment_id, status, reviewed_by} and risk.approved / risk.denied in the same
///        transaction; 404 review_not_found; 409 review_already_decided (of two concurrent
///        decisions one gets 200, the other 409).
/// 401 unauthorized without the key; 400 malformed_json; 422 validation_error naming the field.
class ReviewApi {
public:
    ReviewApi(RiskUnitsOfWork& units, const Clock& clock, std::string ops_api_key)
        : units_(units), clock_(clock), ops_api_key_(std::move(ops_api_key)) {}

    /// Adds the three routes (with database failures answered 503/500, see WithDatabaseErrors).
    void AddRoutes(http::Router& router);

    http::Response List(http::Request& request);
    /// `to` is kApproved or kDenied.
    http::Response Decide(http::Request& request, ReviewStatus to);

private:
    RiskUnitsOfWork& units_;
    const Clock& clock_;
    std::string ops_api_key_;
};

}  // namespace sagapay::risk
