#include "services/provider/psp_worker.hpp"

#include <memory>
#include <optional>

#include "adapters/postgres/connection.hpp"
#include "runtime/log.hpp"
#include "runtime/wait.hpp"
#include "services/provider/pg_provider_store.hpp"
#include "services/provider/provider_options.hpp"
#include "services/provider/psp_work.hpp"
#include "services/provider/refund_work.hpp"

namespace sagapay::provider {

namespace {

struct BatchWorked {
    bool full = false;  ///< As many as one claim takes: more may be due, look again at once.
    std::chrono::milliseconds idle{0};  ///< Otherwise: how long to sleep unless woken.
};

/// Works one batch of due payments and one of due refunds (claim, commit, call, record). A batch
/// that was not full took everything due when it was claimed: what falls due later is announced
/// (WakeSignal) or is a retry's time, which NextDue reads, so the worker sleeps until then
/// instead of claiming again to find nothing.
BatchWorked WorkOneBatch(postgres::Connection& conn, const ProviderDeps& deps) {
    PgProviderUnitsOfWork units(conn);
    PspWork work(deps, units);
    const int payments = work.WorkDue(kDueBatch);
    const int refunds = RefundWork(deps, units).WorkDue(kDueBatch);
    if (payments == kDueBatch || refunds == kDueBatch) {
        return {.full = true, .idle = {}};
    }
    return {.full = false, .idle = IdleWait(work.NextDue(), deps.clock.Now())};
}

}  // namespace

void WakeSignal::Take() {
    const std::lock_guard lock(mutex_);
    pending_ = false;
}

void WakeSignal::Notify() {
    {
        const std::lock_guard lock(mutex_);
        if (pending_) {
            return;  // the worker woken before has not looked yet: it finds this one too
        }
        pending_ = true;
    }
    wake_.notify_one();
}

void WakeSignal::WaitFor(std::stop_token stop, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    ++waiting_;
    wake_.wait_for(lock, stop, timeout, [this] { return pending_; });
    --waiting_;
}

int WakeSignal::Waiting() {
    const std::lock_guard lock(mutex_);
    return waiting_;
}

void RunPspWorker(
    std::stop_token stop, const std::string& dsn, const ProviderDeps& deps, WakeSignal& wake
) {
    std::unique_ptr<postgres::Connection> conn;
    while (!stop.stop_requested()) {
        try {
            if (!conn) {
                conn = std::make_unique<postgres::Connection>(postgres::Connection::Open(dsn));
            }
            const BatchWorked worked = WorkOneBatch(*conn, deps);
            if (worked.full) {
                // More may be due: this worker claims again at once, and another is woken to
                // claim beside it (this one leaves the wake-up to it).
                wake.Notify();
            } else {
                wake.WaitFor(stop, worked.idle);  // at once if a wake-up came and is untaken
                wake.Take();
            }
        } catch (const std::exception& e) {
            log::Error("retry scheduler error", {{"error", e.what()}});
            conn.reset();
            WaitFor(stop, std::chrono::milliseconds(500));
        }
    }
}

}  // namespace sagapay::provider
