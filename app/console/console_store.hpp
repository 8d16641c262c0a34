#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "app/console/requests.hpp"

namespace sagapay::console {

/// One change made through the console.
struct AuditEntry {
    std::string operator_name;
    std::string action;  ///< review.approve, review.deny, dlq.replay, session.login, …
    std::string target;  ///< a payment id, a DLQ event id, …
    std::string outcome;
    nlohmann::json before;  ///< null when nothing was read before
    nlohmann::json after;
};

/// Port: what the console reads (every service's database, read-only) and its audit log. The
/// answers are the API's JSON (app/console/README.md) so the adapter shapes them once.
class ConsoleStore {
public:
    virtual ~ConsoleStore() = default;
    /// {"reviews": [...], "has_more": bool, "reasons": [...]}
    virtual nlohmann::json ListReviews(const ReviewFilter& filter) = 0;
    /// The review of `payment_id` (as in ListReviews), or null.
    virtual nlohmann::json ReviewOf(const std::string& payment_id) = 0;
    /// {"payments": [...], "has_more": bool}
    virtual nlohmann::json SearchPayments(const PaymentFilter& filter) = 0;
    /// The payment's page, or nullopt when no payment has that id.
    virtual std::optional<nlohmann::json> PaymentPage(const std::string& payment_id) = 0;
    /// payment id -> status, for the ids that name a payment.
    virtual std::map<std::string, std::string> PaymentStatuses(
        const std::vector<std::string>& payment_ids
    ) = 0;
    /// {"entries": [...], "has_more": bool}, newest first.
    virtual nlohmann::json ListAudit(const Page& page) = 0;
    virtual void RecordAudit(const AuditEntry& entry) = 0;
};

}  // namespace sagapay::console
