#include "services/psp_sandbox/psp_ledger.hpp"

#include <algorithm>

#include "core/ids.hpp"

namespace sagapay::psp {

namespace {

bool StartsWithNoCase(const std::string& text, std::string_view prefix) {
    if (text.size() < prefix.size()) {
        return false;
    }
    for (std::size_t i = 0; i < prefix.size(); ++i) {
        if (std::tolower(static_cast<unsigned char>(text[i])) != prefix[i]) {
            return false;
        }
    }
    return true;
}

}  // namespace

Behaviour BehaviourFor(const std::string& customer_id, Behaviour fallback) noexcept {
    if (StartsWithNoCase(customer_id, "force-timeout")) {
        return Behaviour::kTimeout;
    }
    if (StartsWithNoCase(customer_id, "force-decline")) {
        return Behaviour::kDecline;
    }
    if (StartsWithNoCase(customer_id, "force-lost-response")) {
        return Behaviour::kLostResponse;
    }
    if (StartsWithNoCase(customer_id, "force-slow")) {
        return Behaviour::kSlow;
    }
    if (StartsWithNoCase(customer_id, "force-random")) {
        return Behaviour::kRandom;
    }
    if (StartsWithNoCase(customer_id, "force-late")) {
        return Behaviour::kLate;
    }
    if (StartsWithNoCase(customer_id, "force-error")) {
        return Behaviour::kError;
    }
    return fallback;
}

Outcome Draw(std::uint64_t seed, const std::string& idempotency_key, int attempt) noexcept {
    const std::uint64_t h =
        Fnv1a64(std::to_string(seed) + "|" + idempotency_key + "|" + std::to_string(attempt));
    const std::uint64_t bucket = h % 100;
    if (bucket < 70) {
        return Outcome::kAuthorized;
    }
    if (bucket < 90) {
        return Outcome::kTimeout;
    }
    return Outcome::kDeclined;
}

ErrorDraw DrawError(
    std::uint64_t seed, const std::string& idempotency_key, std::string_view operation, int call
) noexcept {
    const std::uint64_t bucket = Fnv1a64(
                                     std::to_string(seed) + "|error|" + std::string(operation) +
                                     "|" + idempotency_key + "|" + std::to_string(call)
                                 ) %
                                 100;
    if (bucket < 35) {
        return ErrorDraw::kUnprocessed503;
    }
    if (bucket < 70) {
        return ErrorDraw::kProcessed500;
    }
    return ErrorDraw::kNone;
}

namespace {

PspLedger::Answer Unavailable() {
    return {503, {{"error", "unavailable"}, {"message", "the PSP is unavailable, try again"}}};
}

PspLedger::Answer InternalError() {
    return {500, {{"error", "internal"}, {"message", "the PSP failed to answer"}}};
}

PspLedger::Answer NotFound() {
    return {
        404, {{"error", "not_found"}, {"message", "no authorization with this idempotency key"}}};
}

PspLedger::Answer InvalidAmount(const std::string& message) {
    return {422, {{"error", "invalid_amount"}, {"message", message}}};
}

PspLedger::Answer KeyReused(const std::string& message) {
    return {409, {{"error", "idempotency_key_reused"}, {"message", message}}};
}

}  // namespace

ErrorDraw PspLedger::NextError(const std::string& key, std::string_view operation) {
    int& calls = error_calls_[std::string(operation) + "|" + key];
    return DrawError(seed_, key, operation, calls++);
}

nlohmann::json PspLedger::ToJson(const Record& r) {
    nlohmann::json refunds = nlohmann::json::array();
    for (const RefundEntry& refund : r.refunds) {
        refunds.push_back({{"refund_key", refund.refund_key}, {"amount_cents", refund.amount_minor}}
        );
    }
    return {
        {"idempotency_key", r.request.idempotency_key},
        {"payment_id", r.request.payment_id},
        {"customer_id", r.request.customer_id},
        {"amount_cents", r.request.amount_minor},
        {"currency", r.request.currency},
        {"authorization_id", r.authorization_id},
        {"status", r.status},
        {"authorizations", r.authorizations},
        {"captures", r.captures},
        {"captured_amount_cents", r.captured_minor},
        {"refunded_amount_cents", r.refunded_minor},
        {"refunds", refunds},
    };
}

const Clock& PspLedger::DefaultClock() {
    static const SystemClock clock;
    return clock;
}

PspLedger::Record PspLedger::NewRecord(const AuthorizeRequest& request, bool authorized) {
    Record record;
    record.request = request;
    record.authorization_id = "auth_" + NewUuid();
    record.status = authorized ? "AUTHORIZED" : "DECLINED";
    record.authorizations = authorized ? 1 : 0;
    return record;
}

void PspLedger::ProcessLate() {
    const Clock::TimePoint now = clock_.Now();
    for (auto it = late_.begin(); it != late_.end();) {
        if (it->second.first > now) {
            ++it;
            continue;
        }
        records_.emplace(it->first, NewRecord(it->second.second, true));
        it = late_.erase(it);
    }
}

PspLedger::Answer PspLedger::Authorize(const AuthorizeRequest& request) {
    const std::lock_guard lock(mutex_);
    ProcessLate();
    const auto existing = records_.find(request.idempotency_key);
    if (existing != records_.end()) {
        const Record& r = existing->second;
        if (r.request.amount_minor != request.amount_minor ||
            r.request.currency != request.currency) {
            return {
                409,
                {{"error", "idempotency_key_reused"},
                 {"message", "another request used this key"}}};
        }
        if (BehaviourFor(r.request.customer_id, fallback_) == Behaviour::kError) {
            switch (NextError(request.idempotency_key, "authorize")) {
                case ErrorDraw::kUnprocessed503:
                    return Unavailable();
                case ErrorDraw::kProcessed500:
                    return InternalError();
                case ErrorDraw::kNone:
                    break;
            }
        }
        return {r.status == "DECLINED" ? 402 : 200, ToJson(r)};
    }
    const Behaviour behaviour = BehaviourFor(request.customer_id, fallback_);
    ErrorDraw error = ErrorDraw::kNone;
    Outcome outcome = Outcome::kAuthorized;
    switch (behaviour) {
        case Behaviour::kTimeout:
            outcome = Outcome::kTimeout;
            break;
        case Behaviour::kDecline:
            outcome = Outcome::kDeclined;
            break;
        case Behaviour::kLate:
            // Not processed now; the first request is processed late_delay_ from now.
            late_.try_emplace(request.idempotency_key, clock_.Now() + late_delay_, request);
            return {504, {{"error", "timeout"}, {"message", "the PSP did not answer in time"}}};
        case Behaviour::kError:
            error = NextError(request.idempotency_key, "authorize");
            if (error == ErrorDraw::kUnprocessed503) {
                return Unavailable();  // refused before anything happened: nothing recorded
            }
            outcome = Outcome::kAuthorized;
            break;
        case Behaviour::kApprove:
        case Behaviour::kLostResponse:
        case Behaviour::kSlow:
            outcome = Outcome::kAuthorized;
            break;
        case Behaviour::kRandom:
            outcome = Draw(
                seed_, request.idempotency_key, unprocessed_attempts_[request.idempotency_key]
            );
            break;
    }
    if (outcome == Outcome::kTimeout) {
        // Never processed: no record, nothing charged. A later attempt draws again.
        unprocessed_attempts_[request.idempotency_key] += 1;
        return {504, {{"error", "timeout"}, {"message", "the PSP did not answer in time"}}};
    }
    unprocessed_attempts_.erase(request.idempotency_key);
    const Record& stored =
        records_
            .emplace(request.idempotency_key, NewRecord(request, outcome == Outcome::kAuthorized))
            .first->second;
    if (behaviour == Behaviour::kLostResponse) {
        return {504, {{"error", "timeout"}, {"message", "the PSP did not answer in time"}}};
    }
    if (error == ErrorDraw::kProcessed500) {
        return InternalError();  // authorized, but the caller only sees a 500
    }
    return {stored.status == "DECLINED" ? 402 : 200, ToJson(stored)};
}

PspLedger::Answer PspLedger::Find(const std::string& idempotency_key) {
    const std::lock_guard lock(mutex_);
    ProcessLate();
    const auto it = records_.find(idempotency_key);
    if (it == records_.end()) {
        return NotFound();
    }
    return {200, ToJson(it->second)};
}

PspLedger::Answer PspLedger::Capture(
    const std::string& authorization_key,
    const std::string& capture_key,
    std::optional<std::int64_t> amount_minor
) {
    const std::lock_guard lock(mutex_);
    ProcessLate();
    const auto it = records_.find(authorization_key);
    if (it == records_.end()) {
        return NotFound();
    }
    Record& r = it->second;
    if (amount_minor && (*amount_minor <= 0 || *amount_minor > r.request.amount_minor)) {
        return InvalidAmount(
            "amount_cents must be from 1 to the authorized " +
            std::to_string(r.request.amount_minor)
        );
    }
    const std::int64_t amount = amount_minor.value_or(r.request.amount_minor);
    ErrorDraw error = ErrorDraw::kNone;
    if (BehaviourFor(r.request.customer_id, fallback_) == Behaviour::kError) {
        error = NextError(authorization_key, "capture");
        if (error == ErrorDraw::kUnprocessed503) {
            return Unavailable();
        }
    }
    if (r.status == "CAPTURED") {
        if (error == ErrorDraw::kProcessed500) {
            return InternalError();
        }
        if (r.capture_key != capture_key) {
            return {
                409,
                {{"error", "already_captured"},
                 {"message", "this authorization was captured already"}}};
        }
        if (r.captured_minor != amount) {
            return KeyReused("this capture key captured another amount");
        }
        return {200, ToJson(r)};
    }
    if (r.status != "AUTHORIZED") {
        return {409, {{"error", "not_capturable"}, {"message", "authorization is " + r.status}}};
    }
    r.status = "CAPTURED";
    r.capture_key = capture_key;
    r.captured_minor = amount;  // a partial capture releases the rest
    r.captures += 1;
    if (error == ErrorDraw::kProcessed500) {
        return InternalError();  // captured, but the caller only sees a 500
    }
    return {200, ToJson(r)};
}

PspLedger::Answer PspLedger::Void(const std::string& authorization_key) {
    const std::lock_guard lock(mutex_);
    ProcessLate();
    const auto it = records_.find(authorization_key);
    if (it == records_.end()) {
        return {404, {{"error", "not_found"}, {"message", "nothing to void: never authorized"}}};
    }
    Record& r = it->second;
    if (r.status == "CAPTURED") {
        return {
            409,
            {{"error", "already_captured"},
             {"message", "a captured payment is refunded, not voided"}}};
    }
    if (r.status == "AUTHORIZED") {
        r.status = "VOIDED";
    }
    return {200, ToJson(r)};
}

PspLedger::Answer PspLedger::Refund(
    const std::string& authorization_key,
    const std::string& refund_key,
    std::optional<std::int64_t> amount_minor
) {
    const std::lock_guard lock(mutex_);
    ProcessLate();
    const auto it = records_.find(authorization_key);
    if (it == records_.end()) {
        return {404, {{"error", "not_found"}, {"message", "nothing to refund: never authorized"}}};
    }
    Record& r = it->second;
    if (amount_minor && *amount_minor <= 0) {
        return InvalidAmount("amount_cents must be positive");
    }
    ErrorDraw error = ErrorDraw::kNone;
    if (BehaviourFor(r.request.customer_id, fallback_) == Behaviour::kError) {
        error = NextError(authorization_key, "refund");
        if (error == ErrorDraw::kUnprocessed503) {
            return Unavailable();
        }
    }
    const auto made = std::find_if(r.refunds.begin(), r.refunds.end(), [&](const RefundEntry& e) {
        return e.refund_key == refund_key;
    });
    if (made != r.refunds.end()) {
        if (error == ErrorDraw::kProcessed500) {
            return InternalError();
        }
        if (amount_minor && *amount_minor != made->amount_minor) {
            return KeyReused("this refund key refunded another amount");
        }
        return {200, ToJson(r)};  // the same refund again
    }
    if (r.status != "CAPTURED" && r.status != "REFUNDED") {
        return {409, {{"error", "not_refundable"}, {"message", "authorization is " + r.status}}};
    }
    const std::int64_t refundable = r.captured_minor - r.refunded_minor;
    if (!amount_minor && refundable == 0) {
        return {
            409, {{"error", "already_refunded"}, {"message", "refunded in full under other keys"}}};
    }
    const std::int64_t amount = amount_minor.value_or(refundable);
    if (amount > refundable) {
        return {
            409,
            {{"error", "refund_exceeds_captured"},
             {"message", std::to_string(refundable) + " left to refund of the capture"}}};
    }
    r.refunds.push_back({refund_key, amount});
    r.refunded_minor += amount;
    if (r.refunded_minor == r.captured_minor) {
        r.status = "REFUNDED";
    }
    if (error == ErrorDraw::kProcessed500) {
        return InternalError();  // refunded, but the caller only sees a 500
    }
    return {200, ToJson(r)};
}

PspLedger::Answer PspLedger::FindRefund(
    const std::string& authorization_key, const std::string& refund_key
) {
    const std::lock_guard lock(mutex_);
    ProcessLate();
    const auto it = records_.find(authorization_key);
    if (it == records_.end()) {
        return NotFound();
    }
    for (const RefundEntry& refund : it->second.refunds) {
        if (refund.refund_key == refund_key) {
            return {
                200,
                {{"refund_key", refund.refund_key},
                 {"amount_cents", refund.amount_minor},
                 {"status", "SUCCEEDED"}}};
        }
    }
    return {404, {{"error", "not_found"}, {"message", "no refund with this refund key"}}};
}

nlohmann::json PspLedger::Records() {
    const std::lock_guard lock(mutex_);
    ProcessLate();
    nlohmann::json all = nlohmann::json::array();
    for (const auto& [key, record] : records_) {
        all.push_back(ToJson(record));
    }
    return all;
}

}  // namespace sagapay::psp
