#pragma once

#include <chrono>
#include <optional>
#include <vector>

#include "core/tracing/trace_context.hpp"
#include "services/provider/provider_handler.hpp"
#include "services/provider/provider_store.hpp"

namespace sagapay::provider {

/// What a refund's next PSP call is, from what the last one said. Pure.
///  - A refund never sent: send it.
///  - A refund sent before whose answer was lost: ask the PSP first (never a blind repeat,
///    though the refund key would make one harmless): made → SUCCEEDED; never processed → send
///    it again; no answer → later.
///  - The refund call: made → SUCCEEDED; refused → FAILED; no answer → later, under the same key,
///    with a growing delay, never given up (the money may have moved).
enum class RefundAction { kSend, kSucceeded, kFailed, kRetryLater };
[[nodiscard]] RefundAction AfterRefundInquiry(RefundOutcome answer) noexcept;
[[nodiscard]] RefundAction AfterRefundCall(RefundOutcome answer) noexcept;

/// The refunds due: claim a batch in one unit of work, call the PSP for each outside any
/// transaction, record each outcome in a unit of work afterwards with a compare-and-swap on the
/// claim (as PspWork does for payments), and tell the saga provider.refund.completed once a
/// refund SUCCEEDED or FAILED.
class RefundWork {
public:
    RefundWork(const ProviderDeps& deps, ProviderUnitsOfWork& units) noexcept
        : deps_(deps), units_(units) {}

    /// Works up to `limit` due refunds; returns how many it claimed.
    int WorkDue(int limit);

private:
    struct Outcome {
        ProviderRefund claimed;
        ProviderRefund after;
        std::vector<AttemptRecord> calls;
        bool tell = false;
        std::chrono::milliseconds latency{0};
        TraceContext trace;
    };
    [[nodiscard]] Outcome Call(const ProviderRefund& claimed);
    void Record(ProviderStore& store, Outbox& outbox, const Outcome& out);

    const ProviderDeps& deps_;
    ProviderUnitsOfWork& units_;
};

}  // namespace sagapay::provider
