#include "services/provider/provider_store.hpp"

#include "core/enum_names.hpp"

namespace sagapay::provider {

namespace {

constexpr EnumNames<ProviderStatus, 5> kStatuses{{{
    {ProviderStatus::kAuthorizing, "AUTHORIZING"},
    {ProviderStatus::kAuthorized, "AUTHORIZED"},
    {ProviderStatus::kDeclined, "DECLINED"},
    {ProviderStatus::kTimedOut, "TIMED_OUT"},
    {ProviderStatus::kCaptured, "CAPTURED"},
}}};

}  // namespace

std::string_view ToString(ProviderStatus status) noexcept {
    return kStatuses.Name(status, "AUTHORIZING");
}

std::optional<ProviderStatus> ParseProviderStatus(std::string_view text) noexcept {
    return kStatuses.Parse(text);
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
    }
    return "AUTHORIZE";
}

}  // namespace sagapay::provider
