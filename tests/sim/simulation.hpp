#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/payments/invariants.hpp"

namespace sagapay::sim {

/// One run of the deterministic simulation (tests/sim/README.md): the real handlers of every
/// service (orchestrator saga, risk with manual reviews and their expiry, provider consumers and
/// PSP workers with the janitor, ledger, notification, the sweeper's rule) over in-memory stores,
/// an in-memory bus with consumer groups, per-service transactional outboxes and inboxes, a fake
/// clock and the sandbox PSP's books behind a faulty network. Everything is drawn from `seed`:
/// the payments and their customers, the order of every step, redeliveries after the visibility
/// timeout, duplicates, crashes before a commit, after a commit and before the ack, after a PSP
/// call and before its outcome is recorded, and the reviews' decisions and their times.
struct Options {
    std::uint64_t seed = 1;
    bool faults = true;  ///< false: the same payments and order, nothing goes wrong.
    bool trace = false;  ///< Keep a line per step in Result::trace.
    int max_payments = 12;
};

struct Result {
    std::uint64_t seed = 0;
    invariants::Report report;
    bool quiesced = false;  ///< Everything came to rest before the step budget ran out.
    std::int64_t payments = 0;
    std::int64_t steps = 0;
    std::int64_t simulated_ms = 0;
    std::map<std::string, std::int64_t> faults;  ///< Injected, by kind.
    /// Answers of the services' APIs the simulation did not expect (e.g. a review decision that
    /// was neither 200 nor, when repeated, 409).
    std::vector<std::string> surprises;
    /// What the merchant and the saga did, by name (manual captures, cancels, refunds made,
    /// replayed, refused, succeeded, failed): a run that exercised nothing shows it.
    std::map<std::string, std::int64_t> activity;
    std::vector<std::string> trace;

    [[nodiscard]] bool Ok() const noexcept { return quiesced && report.Ok() && surprises.empty(); }
    /// "seed N: ok" or the violations, one per line, and how to replay.
    [[nodiscard]] std::string Summary() const;
};

[[nodiscard]] Result Simulate(const Options& options);

}  // namespace sagapay::sim
