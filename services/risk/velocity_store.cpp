#include "services/risk/velocity_store.hpp"

namespace sagapay::risk {

namespace {

// KEYS[1] sorted set; ARGV: now_ms, window_ms, member ("" = only count). Trims what left the
// window, adds the member once (NX keeps its first time), refreshes the TTL, returns the count.
constexpr const char* kScript = R"lua(
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if ARGV[3] ~= '' then
  redis.call('ZADD', KEYS[1], 'NX', now, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], window)
end
return redis.call('ZCARD', KEYS[1])
)lua";

// KEYS[1] velocity set, KEYS[2] declines set; ARGV: now_ms, velocity window, decline window,
// payment id. Returns {payments in the window (this one included), declines in theirs}.
constexpr const char* kBothScript = R"lua(
local now = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[2]))
redis.call('ZADD', KEYS[1], 'NX', now, ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - tonumber(ARGV[3]))
return {redis.call('ZCARD', KEYS[1]), redis.call('ZCARD', KEYS[2])}
)lua";

std::int64_t Millis(Clock::TimePoint t) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

}  // namespace

VelocityStore::VelocityStore(
    redis::Endpoint endpoint,
    std::chrono::milliseconds velocity_window,
    std::chrono::milliseconds failure_window
)
    : conn_(std::move(endpoint)),
      velocity_window_(velocity_window),
      failure_window_(failure_window) {}

std::string VelocityStore::VelocityKey(const CustomerId& customer) {
    const std::string& id = customer.Value();
    return "risk:velocity:" + std::to_string(id.size()) + ":" + id;
}

std::string VelocityStore::FailureKey(const CustomerId& customer) {
    const std::string& id = customer.Value();
    return "risk:failed:" + std::to_string(id.size()) + ":" + id;
}

std::int64_t VelocityStore::Eval(
    const std::string& key,
    std::chrono::milliseconds window,
    Clock::TimePoint now,
    const std::string& member
) {
    const std::lock_guard lock(mutex_);
    const redis::Reply reply = conn_.Command(
        {"EVAL",
         kScript,
         "1",
         key,
         std::to_string(Millis(now)),
         std::to_string(window.count()),
         member}
    );
    return reply.integer;
}

std::int64_t VelocityStore::RecordPayment(
    const CustomerId& customer, const PaymentId& payment, Clock::TimePoint now
) {
    return Eval(VelocityKey(customer), velocity_window_, now, payment.Value());
}

void VelocityStore::RecordFailure(
    const CustomerId& customer, const PaymentId& payment, Clock::TimePoint now
) {
    Eval(FailureKey(customer), failure_window_, now, payment.Value());
}

VelocityCounts VelocityStore::RecordAndCount(
    const CustomerId& customer, const PaymentId& payment, Clock::TimePoint now
) {
    const std::lock_guard lock(mutex_);
    const redis::Reply reply = conn_.Command(
        {"EVAL",
         kBothScript,
         "2",
         VelocityKey(customer),
         FailureKey(customer),
         std::to_string(Millis(now)),
         std::to_string(velocity_window_.count()),
         std::to_string(failure_window_.count()),
         payment.Value()}
    );
    VelocityCounts counts;
    if (reply.elements.size() == 2) {
        counts.payments_last_hour = reply.elements[0].integer;
        counts.failed_attempts = reply.elements[1].integer;
    }
    return counts;
}

std::int64_t VelocityStore::FailedAttempts(const CustomerId& customer, Clock::TimePoint now) {
    return Eval(FailureKey(customer), failure_window_, now, "");
}

}  // namespace sagapay::risk
