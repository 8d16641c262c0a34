#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <random>
#include <set>
#include <string>
#include <utility>

#include "core/clock.hpp"
#include "core/ports/psp_client.hpp"
#include "services/provider/http_psp_client.hpp"
#include "services/psp_sandbox/psp_ledger.hpp"

namespace sagapay::sim {

/// Thrown where the simulated process dies: nothing after it in that process happens, nothing
/// uncommitted stays. Not a std::exception, so no handler's error path can swallow it.
struct Crash {};

/// What can go wrong on the way to and from the PSP, as odds per call (0 … 1).
struct PspFaults {
    double lost_request = 0;     ///< The call never reaches the PSP: no answer, nothing done.
    double lost_response = 0;    ///< The PSP does the call, the answer is lost.
    double server_error = 0;     ///< The PSP answers 503 without doing anything.
    double crash_after = 0;      ///< The caller's process dies once the PSP has done the call.
    double refund_declined = 0;  ///< The PSP refuses a refund not made yet (402): it FAILS.
};

/// The PSP of the simulation: the sandbox's own books (psp::PspLedger, so authorizations,
/// captures (whole or partial), voids, refunds (several, partial), refund inquiries, declines,
/// random outcomes and late authorizations behave exactly as
/// the sandbox's, chosen by customer id) behind a network that loses requests and answers, and
/// whose answers are read by the provider's own classifiers (ClassifyAuthorization …), as
/// HttpPspClient reads them. Every fault is drawn from the simulation's generator.
class SimPsp final : public PspClient {
public:
    SimPsp(std::mt19937_64& rng, const Clock& clock, std::chrono::milliseconds late_delay);

    void SetFaults(const PspFaults& faults) noexcept { faults_ = faults; }
    /// Runs while a call is on the wire, once before the PSP does it and once after: the rest of
    /// the system moves on meanwhile (other steps, time passing, another worker).
    void SetInFlight(std::function<void()> in_flight) { in_flight_ = std::move(in_flight); }

    [[nodiscard]] psp::PspLedger& Books() noexcept { return books_; }
    /// How many times each fault struck, by name.
    [[nodiscard]] const std::map<std::string, std::int64_t>& Injected() const noexcept {
        return injected_;
    }

    // PspClient
    PspAnswer Authorize(const AuthorizeCall& call) override;
    PspAnswer Inquire(const std::string& key) override;
    CaptureAnswer Capture(
        const std::string& authorization_key,
        const std::string& capture_key,
        std::int64_t amount_minor
    ) override;
    VoidAnswer Void(const std::string& authorization_key) override;
    RefundAnswer Refund(
        const std::string& authorization_key,
        const std::string& refund_key,
        std::int64_t amount_minor
    ) override;
    RefundAnswer InquireRefund(const std::string& authorization_key, const std::string& refund_key)
        override;

private:
    /// Sends one call through the faulty network: `call` runs at the PSP unless the request is
    /// lost or refused with a 503; the reply may be lost on the way back; the caller may die.
    provider::PspReply Send(const std::function<psp::PspLedger::Answer()>& call);
    bool Strikes(double odds, const char* name);

    std::mt19937_64& rng_;
    psp::PspLedger books_;
    PspFaults faults_;
    std::function<void()> in_flight_;
    std::map<std::string, std::int64_t> injected_;
    std::set<std::string> declined_refunds_;  ///< Refund keys the PSP declined (for good).
};

}  // namespace sagapay::sim
