#pragma once

#include <optional>
#include <vector>

#include "core/tracing/trace_context.hpp"
#include "services/provider/provider_handler.hpp"
#include "services/provider/provider_store.hpp"

namespace sagapay::provider {

/// What a worker does with the payments due: claim, commit, call, record. It claims a batch in one
/// unit of work (each claimed payment is due again when its lease ends), makes the PSP calls of
/// each payment outside any transaction, and records every payment's outcome in a unit of work
/// afterwards, so no row lock or transaction is ever held across a PSP call, and one payment's
/// failure never undoes another's outcome.
///
/// What is due depends on the payment's status:
///  - AUTHORIZING: the first attempt; later an inquiry before any further attempt (never a blind
///    retry); when attempts run out a void, then TIMED_OUT, payments.failed and a dead letter.
///    With capture_on_authorize (automatic capture), an authorization is followed at once by the
///    capture, as for CAPTURING: payments.authorized and provider.capture.completed are recorded
///    together (a capture refused: payments.failed only).
///  - CAPTURING: the capture under its key; a refused capture is checked by an inquiry (already
///    captured: done) and what is held is voided: VOIDED, payments.failed
///    PROVIDER_CAPTURE_REFUSED.
///  - DECLINED, TIMED_OUT, VOIDED, REFUNDED (the janitor): an inquiry, then a void of an
///    authorization or a refund of a capture the PSP holds after all (a late authorization), on
///    the policy's schedule of checks.
/// An unanswered capture, void or refund is tried again with a growing delay, never given up.
class PspWork {
public:
    PspWork(const ProviderDeps& deps, ProviderUnitsOfWork& units) noexcept
        : deps_(deps), units_(units) {}

    /// Works up to `limit` due payments; returns how many it claimed.
    int WorkDue(int limit);
    /// When the earliest payment falls due; nullopt when none is waiting.
    [[nodiscard]] std::optional<Clock::TimePoint> NextDue();

    /// What the PSP calls for one claimed payment came to, to be recorded.
    struct Outcome {
        enum class Tell {
            kNothing,
            kAuthorized,
            kDeclined,
            kTimedOut,
            kCaptured,
            kCaptureRefused,
        };
        ProviderPayment claimed;
        ProviderPayment after;
        std::vector<AttemptRecord> calls;
        Tell tell = Tell::kNothing;
        std::chrono::milliseconds latency{0};
        TraceContext trace;  ///< The span of the calls: what Record emits continues it.
        /// Of the PSP call that authorized (`latency` is the last call's: a capture that
        /// followed it in the same piece of work).
        std::chrono::milliseconds authorization_latency{0};
    };

private:
    [[nodiscard]] Outcome Call(const ProviderPayment& claimed);
    void Authorizing(Outcome& out);
    void Capturing(Outcome& out);
    void Janitor(Outcome& out);
    /// Voids what the PSP holds under the payment's key and records the call; false when the
    /// void got no answer.
    [[nodiscard]] bool VoidHeld(Outcome& out);
    void RetryLater(Outcome& out);
    void Record(ProviderStore& store, Outbox& outbox, const Outcome& out);
    void CountRetry();

    const ProviderDeps& deps_;
    ProviderUnitsOfWork& units_;
};

}  // namespace sagapay::provider
