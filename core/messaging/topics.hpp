#pragma once

#include <string_view>

namespace sagapay::topics {

inline constexpr std::string_view kPaymentsRequested = "payments.requested";
inline constexpr std::string_view kRiskApproved = "risk.approved";
inline constexpr std::string_view kRiskDenied = "risk.denied";
inline constexpr std::string_view kProviderAuthorizeRequested = "provider.authorize.requested";
inline constexpr std::string_view kProviderCaptureRequested = "provider.capture.requested";
inline constexpr std::string_view kProviderCaptureCompleted = "provider.capture.completed";
inline constexpr std::string_view kPaymentsAuthorized = "payments.authorized";
inline constexpr std::string_view kPaymentsCaptured = "payments.captured";
inline constexpr std::string_view kPaymentsFailed = "payments.failed";
inline constexpr std::string_view kPaymentsSettled = "payments.settled";
inline constexpr std::string_view kPaymentsReversed = "payments.reversed";
inline constexpr std::string_view kPaymentsDlq = "payments.dlq";
/// Not in the seed: the saga asks the provider to release what the PSP holds for a payment
/// that ended without being paid (an authorization or capture that arrived too late).
inline constexpr std::string_view kProviderReleaseRequested = "provider.release.requested";

}  // namespace sagapay::topics
