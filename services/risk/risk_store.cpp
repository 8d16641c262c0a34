#include "services/risk/risk_store.hpp"

#include <array>
#include <utility>

namespace sagapay::risk {

namespace {

constexpr std::array<std::pair<ReviewStatus, std::string_view>, 3> kStatuses = {{
    {ReviewStatus::kPending, "PENDING"},
    {ReviewStatus::kApproved, "APPROVED"},
    {ReviewStatus::kDenied, "DENIED"},
}};

}  // namespace

std::string_view ToString(ReviewStatus status) noexcept {
    for (const auto& [value, text] : kStatuses) {
        if (value == status) {
            return text;
        }
    }
    return "PENDING";
}

std::optional<ReviewStatus> ParseReviewStatus(std::string_view text) noexcept {
    for (const auto& [value, name] : kStatuses) {
        if (name == text) {
            return value;
        }
    }
    return std::nullopt;
}

}  // namespace sagapay::risk
