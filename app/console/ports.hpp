#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "app/dlq.hpp"

namespace sagapay::console {

/// Port: a review decision through risk's ops API (POST /ops/reviews/{id}/approve|deny).
class ReviewDecider {
public:
    struct Answer {
        int status = 0;         ///< HTTP status; 0 when risk could not be reached
        nlohmann::json body;    ///< the parsed answer, null when none
        std::string transport;  ///< why nothing was answered
    };
    virtual ~ReviewDecider() = default;
    virtual Answer Decide(const std::string& payment_id, bool approve, const std::string& by) = 0;
};

/// Port: the parked messages (`sagapay dlq list` / `replay-dlq`).
class DeadLetters {
public:
    virtual ~DeadLetters() = default;
    virtual std::vector<app::ParkedMessage> List(const std::string& topic) = 0;
    virtual std::optional<app::ParkedDetail> Find(
        const std::string& topic, const std::string& event_id
    ) = 0;
    virtual app::ReplayOutcome Replay(const std::string& topic, const std::string& event_id) = 0;
};

/// Port: what the health page shows (GET /api/health's body).
class HealthSource {
public:
    virtual ~HealthSource() = default;
    virtual nlohmann::json Snapshot() = 0;
};

}  // namespace sagapay::console
