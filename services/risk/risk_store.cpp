#include "services/risk/risk_store.hpp"

#include "core/enum_names.hpp"

namespace sagapay::risk {

namespace {

constexpr EnumNames<ReviewStatus, 3> kStatuses{{{
    {ReviewStatus::kPending, "PENDING"},
    {ReviewStatus::kApproved, "APPROVED"},
    {ReviewStatus::kDenied, "DENIED"},
}}};

}  // namespace

std::string_view ToString(ReviewStatus status) noexcept {
    return kStatuses.Name(status, "PENDING");
}

std::optional<ReviewStatus> ParseReviewStatus(std::string_view text) noexcept {
    return kStatuses.Parse(text);
}

}  // namespace sagapay::risk
