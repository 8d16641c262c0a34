#include "tests/sim/sim_psp.hpp"

#include <optional>

#include <nlohmann/json.hpp>

namespace sagapay::sim {

SimPsp::SimPsp(std::mt19937_64& rng, const Clock& clock, std::chrono::milliseconds late_delay)
    : rng_(rng), books_(rng(), psp::Behaviour::kApprove, clock, late_delay) {}

bool SimPsp::Strikes(double odds, const char* name) {
    if (odds <= 0 || std::uniform_real_distribution<double>(0, 1)(rng_) >= odds) {
        return false;
    }
    injected_[name] += 1;
    return true;
}

provider::PspReply SimPsp::Send(const std::function<psp::PspLedger::Answer()>& call) {
    if (Strikes(faults_.lost_request, "psp_lost_request")) {
        return {std::nullopt, "", "timeout (request lost)"};
    }
    if (Strikes(faults_.server_error, "psp_503")) {
        return {503, R"({"error":"unavailable"})", ""};
    }
    if (in_flight_) {
        in_flight_();
    }
    const psp::PspLedger::Answer answer = call();
    if (in_flight_) {
        in_flight_();
    }
    if (Strikes(faults_.crash_after, "crash_after_psp_call")) {
        throw Crash{};
    }
    if (Strikes(faults_.lost_response, "psp_lost_response")) {
        return {std::nullopt, "", "timeout (response lost)"};
    }
    return {answer.http_status, answer.body.dump(), ""};
}

PspAnswer SimPsp::Authorize(const AuthorizeCall& call) {
    return provider::ClassifyAuthorization(Send([&] {
        return books_.Authorize({
            .idempotency_key = call.key,
            .payment_id = call.payment_id.Value(),
            .customer_id = call.customer_id.Value(),
            .amount_minor = call.amount.amount_minor,
            .currency = call.amount.currency.CodeString(),
        });
    }));
}

PspAnswer SimPsp::Inquire(const std::string& key) {
    return provider::ClassifyAuthorization(Send([&] { return books_.Find(key); }));
}

namespace {

/// The port's amount as the sandbox's wire has it: 0 (all) is an absent amount_cents.
std::optional<std::int64_t> WireAmount(std::int64_t amount_minor) {
    return amount_minor == 0 ? std::nullopt : std::optional<std::int64_t>(amount_minor);
}

}  // namespace

CaptureAnswer SimPsp::Capture(
    const std::string& authorization_key, const std::string& capture_key, std::int64_t amount_minor
) {
    return provider::ClassifyCapture(Send([&] {
        return books_.Capture(authorization_key, capture_key, WireAmount(amount_minor));
    }));
}

VoidAnswer SimPsp::Void(const std::string& authorization_key) {
    return {
        provider::ClassifyVoid(Send([&] { return books_.Void(authorization_key); })),
        std::chrono::milliseconds(0)};
}

RefundAnswer SimPsp::Refund(
    const std::string& authorization_key, const std::string& refund_key, std::int64_t amount_minor
) {
    return {
        provider::ClassifyRefund(Send([&]() -> psp::PspLedger::Answer {
            // A refund the PSP refuses outright (the card account closed): nothing moves, the
            // saga's refund FAILS and its amount is refundable again. The PSP keeps the answer
            // under the refund key, as idempotency keys do: the key is declined ever after.
            if (declined_refunds_.contains(refund_key) ||
                (books_.FindRefund(authorization_key, refund_key).http_status == 404 &&
                 Strikes(faults_.refund_declined, "psp_refund_declined"))) {
                declined_refunds_.insert(refund_key);
                return {
                    402, {{"error", "refund_declined"}, {"message", "the card account is closed"}}};
            }
            return books_.Refund(authorization_key, refund_key, WireAmount(amount_minor));
        })),
        std::chrono::milliseconds(0)};
}

RefundAnswer SimPsp::InquireRefund(
    const std::string& authorization_key, const std::string& refund_key
) {
    return {
        provider::ClassifyRefundInquiry(Send([&] {
            return books_.FindRefund(authorization_key, refund_key);
        })),
        std::chrono::milliseconds(0)};
}

}  // namespace sagapay::sim
