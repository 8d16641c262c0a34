#pragma once

#include <array>
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
/// Not in the seed: refunds. The orchestrator asks the provider to refund part or all of a
/// settled payment; the provider answers with the PSP's outcome; the orchestrator announces a
/// refund that succeeded (the ledger posts it) or failed.
inline constexpr std::string_view kProviderRefundRequested = "provider.refund.requested";
inline constexpr std::string_view kProviderRefundCompleted = "provider.refund.completed";
inline constexpr std::string_view kPaymentsRefunded = "payments.refunded";
inline constexpr std::string_view kRefundsFailed = "refunds.failed";
/// Where the bus parks a message that could not be handled (EventSubscription::DeadLetter).
inline constexpr std::string_view kDeadLetter = "deadletter";

/// Every topic the saga uses, dead letters included: what `sagapay migrate` (and every service at
/// start) creates on a bus that needs its topics created (Kafka).
inline constexpr std::array kAll = {
    kPaymentsRequested,
    kRiskApproved,
    kRiskDenied,
    kProviderAuthorizeRequested,
    kProviderCaptureRequested,
    kProviderCaptureCompleted,
    kPaymentsAuthorized,
    kPaymentsCaptured,
    kPaymentsFailed,
    kPaymentsSettled,
    kPaymentsReversed,
    kPaymentsDlq,
    kProviderReleaseRequested,
    kProviderRefundRequested,
    kProviderRefundCompleted,
    kPaymentsRefunded,
    kRefundsFailed,
    kDeadLetter,
};

}  // namespace sagapay::topics
