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

std::string VelocityStore::VelocityKey(const std::string& customer_id) {
    return "risk:velocity:" + std::to_string(customer_id.size()) + ":" + customer_id;
}

std::string VelocityStore::FailureKey(const std::string& customer_id) {
    return "risk:failed:" + std::to_string(customer_id.size()) + ":" + customer_id;
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
    const std::string& customer_id, const std::string& payment_id, Clock::TimePoint now
) {
    return Eval(VelocityKey(customer_id), velocity_window_, now, payment_id);
}

void VelocityStore::RecordFailure(
    const std::string& customer_id, const std::string& payment_id, Clock::TimePoint now
) {
    Eval(FailureKey(customer_id), failure_window_, now, payment_id);
}

std::int64_t VelocityStore::FailedAttempts(const std::string& customer_id, Clock::TimePoint now) {
    return Eval(FailureKey(customer_id), failure_window_, now, "");
}

}  // namespace sagapay::risk
