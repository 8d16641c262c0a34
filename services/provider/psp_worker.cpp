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

/// Works one batch of due payments and one of due refunds (claim, commit, call, record); when
/// nothing was due, returns how long to sleep instead.
std::optional<std::chrono::milliseconds> WorkOneBatch(
    postgres::Connection& conn, const ProviderDeps& deps
) {
    PgProviderUnitsOfWork units(conn);
    PspWork work(deps, units);
    const int payments = work.WorkDue(kDueBatch);
    const int refunds = RefundWork(deps, units).WorkDue(kDueBatch);
    if (payments + refunds > 0) {
        return std::nullopt;
    }
    return IdleWait(work.NextDue(), deps.clock.Now());
}

}  // namespace

void WakeSignal::Notify() {
    {
        const std::lock_guard lock(mutex_);
        wakeups_.fetch_add(1);
    }
    wake_.notify_all();
}

void WakeSignal::WaitFor(
    std::stop_token stop, std::chrono::milliseconds timeout, std::uint64_t seen
) {
    std::unique_lock lock(mutex_);
    wake_.wait_for(lock, stop, timeout, [&] { return wakeups_.load() != seen; });
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
            const std::uint64_t seen = wake.Generation();
            if (const auto idle = WorkOneBatch(*conn, deps)) {
                wake.WaitFor(stop, *idle, seen);
            }
        } catch (const std::exception& e) {
            log::Error("retry scheduler error", {{"error", e.what()}});
            conn.reset();
            WaitFor(stop, std::chrono::milliseconds(500));
        }
    }
}

}  // namespace sagapay::provider
