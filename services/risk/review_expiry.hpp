#pragma once

#include <chrono>
#include <cstdint>
#include <stop_token>

#include "core/clock.hpp"
#include "services/risk/risk_store.hpp"

namespace sagapay::risk {

struct ReviewExpiryOptions {
    std::chrono::seconds expire_after{0};  ///< RISK_REVIEW_EXPIRY_SECONDS; 0 or less: never.
    std::chrono::milliseconds interval{std::chrono::seconds(1)};
    std::int64_t batch = 100;  ///< Reviews denied per transaction at most.
};

/// Denies the reviews nobody decided within `expire_after`: each becomes DENIED by
/// `system:expiry` and is announced on `risk.denied` (DENY, manual_deny) with the payment's
/// trace, in the transaction that denies it.
class ReviewExpiry {
public:
    ReviewExpiry(RiskUnitsOfWork& units, const Clock& clock, ReviewExpiryOptions options) noexcept
        : units_(units), clock_(clock), options_(options) {}

    [[nodiscard]] bool Enabled() const noexcept { return options_.expire_after.count() > 0; }

    /// One transaction: denies up to `batch` expired reviews; returns how many. Throws on failure.
    std::int64_t RunOnce();

    /// Every `interval` until `stop`: RunOnce, logging failures (the next round retries).
    /// Returns at once when not Enabled().
    void Run(const std::stop_token& stop);

private:
    RiskUnitsOfWork& units_;
    const Clock& clock_;
    ReviewExpiryOptions options_;
};

}  // namespace sagapay::risk
