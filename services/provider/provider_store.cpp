#include "services/provider/provider_store.hpp"

#include "core/enum_names.hpp"

namespace sagapay::provider {

namespace {

constexpr EnumNames<ProviderStatus, 8> kStatuses{{{
    {ProviderStatus::kAuthorizing, "AUTHORIZING"},
    {ProviderStatus::kAuthorized, "AUTHORIZED"},
    {ProviderStatus::kDeclined, "DECLINED"},
    {ProviderStatus::kTimedOut, "TIMED_OUT"},
    {ProviderStatus::kCaptured, "CAPTURED"},
    {ProviderStatus::kCapturing, "CAPTURING"},
    {ProviderStatus::kVoided, "VOIDED"},
    {ProviderStatus::kRefunded, "REFUNDED"},
}}};

}  // namespace

std::string_view ToString(ProviderStatus status) noexcept {
    return kStatuses.Name(status, "AUTHORIZING");
}

std::optional<ProviderStatus> ParseProviderStatus(std::string_view text) noexcept {
    return kStatuses.Parse(text);
}

bool CanMove(ProviderStatus from, ProviderStatus to) noexcept {
    using S = ProviderStatus;
    if (from == to) {
        return true;
    }
    switch (from) {
        case S::kAuthorizing:
            // CAPTURING, CAPTURED: authorized and captured in one piece of work.
            return to == S::kAuthorized || to == S::kDeclined || to == S::kTimedOut ||
                   to == S::kVoided || to == S::kCapturing || to == S::kCaptured;
        case S::kAuthorized:
            return to == S::kCapturing || to == S::kVoided;
        case S::kCapturing:
            return to == S::kCaptured || to == S::kVoided;
        case S::kCaptured:
            return to == S::kRefunded;
        case S::kDeclined:
        case S::kTimedOut:
        case S::kVoided:
        case S::kRefunded:
            return false;
    }
    return false;
}

bool MustHoldNothing(ProviderStatus status) noexcept {
    return status == ProviderStatus::kDeclined || status == ProviderStatus::kTimedOut ||
           status == ProviderStatus::kVoided || status == ProviderStatus::kRefunded;
}

std::string_view ToString(AttemptResult result) noexcept {
    switch (result) {
        case AttemptResult::kAuthorized:
            return "AUTHORIZED";
        case AttemptResult::kDeclined:
            return "DECLINED";
        case AttemptResult::kTimeout:
            return "TIMEOUT";
        case AttemptResult::kNotFound:
            return "NOT_FOUND";
        case AttemptResult::kCaptured:
            return "CAPTURED";
        case AttemptResult::kRefused:
            return "REFUSED";
        case AttemptResult::kVoided:
            return "VOIDED";
        case AttemptResult::kRefunded:
            return "REFUNDED";
    }
    return "TIMEOUT";
}

std::string_view ToString(PspOperation operation) noexcept {
    switch (operation) {
        case PspOperation::kAuthorize:
            return "AUTHORIZE";
        case PspOperation::kInquire:
            return "INQUIRE";
        case PspOperation::kCapture:
            return "CAPTURE";
        case PspOperation::kVoid:
            return "VOID";
        case PspOperation::kRefund:
            return "REFUND";
        case PspOperation::kInquireRefund:
            return "INQUIRE_REFUND";
    }
    return "AUTHORIZE";
}

std::string_view ToString(RefundState state) noexcept {
    switch (state) {
        case RefundState::kRefunding:
            return "REFUNDING";
        case RefundState::kSucceeded:
            return "SUCCEEDED";
        case RefundState::kFailed:
            return "FAILED";
    }
    return "REFUNDING";
}

std::optional<RefundState> ParseRefundState(std::string_view text) noexcept {
    for (const RefundState state :
         {RefundState::kRefunding, RefundState::kSucceeded, RefundState::kFailed}) {
        if (ToString(state) == text) {
            return state;
        }
    }
    return std::nullopt;
}

}  // namespace sagapay::provider
