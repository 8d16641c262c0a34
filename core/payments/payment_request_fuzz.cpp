// libFuzzer target: the `POST /payments` body through ParsePaymentRequest, and the X-Trace-Id
// sanitiser. Properties: a refusal is kInvalidArgument with reason malformed_json or
// validation_error; an accepted request obeys every documented rule, and its canonical JSON
// parses back to the same request with the same fingerprint.
#include <cstddef>
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "core/payments/payment_request.hpp"
#include "testing/fuzz_check.hpp"

namespace sagapay {
namespace {

bool IsLowerHex(std::string_view text) {
    for (const char c : text) {
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
            return false;
        }
    }
    return true;
}

void CheckAccepted(const PaymentRequest& request, std::string_view body) {
    using fuzz::Check;
    const std::string& customer = request.customer_id.Value();
    const std::string& key = request.idempotency_key.Value();
    Check(!customer.empty() && customer.size() <= kMaxCustomerIdLength, "customer_id length", body);
    Check(IsSafeIdentifier(customer), "customer_id characters", body);
    Check(
        key.size() >= kMinIdempotencyKeyLength && key.size() <= kMaxIdempotencyKeyLength,
        "idempotency_key length",
        body
    );
    Check(IsSafeIdentifier(key), "idempotency_key characters", body);
    Check(IsPayableAmount(request.amount.amount_minor), "amount_cents range", body);
    Check(Currency::Parse(request.amount.currency.Code()).has_value(), "currency known", body);

    const std::string fingerprint = request.Fingerprint();
    Check(fingerprint.size() == 64 && IsLowerHex(fingerprint), "fingerprint is SHA-256 hex", body);

    const nlohmann::json canonical = {
        {"customer_id", customer},
        {"amount_cents", request.amount.amount_minor},
        {"currency", request.amount.currency.CodeString()},
        {"idempotency_key", key}};
    const auto again = ParsePaymentRequest(canonical.dump());
    Check(again.has_value(), "the canonical form of an accepted request is accepted", body);
    Check(again->customer_id == request.customer_id, "round trip: customer_id", body);
    Check(again->amount == request.amount, "round trip: amount", body);
    Check(again->idempotency_key == request.idempotency_key, "round trip: key", body);
    Check(again->Fingerprint() == fingerprint, "round trip: fingerprint", body);
}

}  // namespace
}  // namespace sagapay

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace sagapay;
    const std::string_view body = fuzz::AsText(data, size);
    const auto request = ParsePaymentRequest(body);
    if (request) {
        CheckAccepted(*request, body);
    } else {
        const Error& error = request.error();
        fuzz::Check(
            error.code == ErrorCode::kInvalidArgument, "a refusal is kInvalidArgument", body
        );
        fuzz::Check(
            error.reason == "malformed_json" || error.reason == "validation_error",
            "a refusal says malformed_json or validation_error",
            body
        );
        fuzz::Check(!error.message.empty(), "a refusal has a message", body);
    }

    const std::string trace = SanitizeTraceId(body, "fallback");
    fuzz::Check(
        trace == "fallback" || (trace == body && !trace.empty() &&
                                trace.size() <= kMaxTraceIdLength && IsSafeIdentifier(trace)),
        "SanitizeTraceId returns the fallback or a safe id",
        body
    );
    return 0;
}
