#include "app/chaos.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <numeric>
#include <optional>
#include <random>
#include <set>
#include <stdexcept>
#include <stop_token>
#include <thread>

#include <fcntl.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <pthread.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "adapters/http/http.hpp"
#include "app/verify.hpp"
#include "runtime/config.hpp"
#include "runtime/wait.hpp"

namespace sagapay::app::chaos {

namespace {

using std::chrono::milliseconds;
using SteadyClock = std::chrono::steady_clock;

/// SplitMix64: one well-mixed number from (seed, index, salt), so order `index` is the same
/// whichever thread draws it.
std::uint64_t Mix(std::uint64_t seed, std::uint64_t index, std::uint64_t salt) noexcept {
    std::uint64_t z = seed + 0x9E3779B97F4A7C15ULL * (index + 1) + 0xD1B54A32D192ED03ULL * salt;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

milliseconds Uniform(std::mt19937_64& rng, milliseconds low, milliseconds high) {
    return milliseconds(std::uniform_int_distribution<std::int64_t>(low.count(), high.count())(rng)
    );
}

struct MixKind {
    const char* prefix;  ///< The customer prefix ("cust" for plain customers).
    const char* name;    ///< The kind in the summary.
    int per_mille;       ///< Share of the orders.
    bool review_amount;  ///< Over RISK_REVIEW_AMOUNT_CENTS: goes to a person.
};

constexpr std::array<MixKind, 9> kMix{{
    {"cust", "plain", 400, false},
    {"cust", "review", 40, true},
    {"force-timeout", "force-timeout", 70, false},
    {"force-decline", "force-decline", 70, false},
    {"force-lost-response", "force-lost-response", 70, false},
    {"force-slow", "force-slow", 60, false},
    {"force-late", "force-late", 70, false},
    {"force-random", "force-random", 90, false},
    {"force-error", "force-error", 130, false},
}};

}  // namespace

std::string_view ToString(FaultKind kind) noexcept {
    switch (kind) {
        case FaultKind::kKill:
            return "sigkill";
        case FaultKind::kPause:
            return "sigstop";
        case FaultKind::kPostgresCrash:
            return "postgres_crash";
        case FaultKind::kRedisKill:
            return "redis_kill";
        case FaultKind::kBrokerKill:
            return "broker_kill";
    }
    return "unknown";
}

std::string WithBroker(std::string_view command, std::string_view broker) {
    constexpr std::string_view kPlaceholder = "{broker}";
    std::string out;
    for (std::size_t i = 0; i < command.size();) {
        if (command.substr(i, kPlaceholder.size()) == kPlaceholder) {
            out.append(broker);
            i += kPlaceholder.size();
        } else {
            out.push_back(command[i]);
            ++i;
        }
    }
    return out;
}

std::string_view ToString(OverlapKind kind) noexcept {
    switch (kind) {
        case OverlapKind::kNone:
            return "none";
        case OverlapKind::kKillDuringPostgresCrash:
            return "kill_during_postgres_crash";
        case OverlapKind::kRedisKillDuringPause:
            return "redis_kill_during_pause";
        case OverlapKind::kTwoKills:
            return "two_kills";
        case OverlapKind::kPostgresCrashTwice:
            return "postgres_crash_twice";
        case OverlapKind::kLongPauseWithKills:
            return "long_pause_with_kills";
    }
    return "unknown";
}

int KillsPerService(milliseconds duration) noexcept {
    const auto per_40s = static_cast<int>(duration.count() / 40'000);
    return std::clamp(per_40s, 2, 10);
}

int OverlapsPerKind(milliseconds duration) noexcept {
    const auto per_150s = static_cast<int>(duration.count() / 150'000);
    return std::clamp(per_150s, 1, 4);
}

namespace {

/// Faults at once, their `at` from the episode's start.
using Episode = std::vector<Fault>;

Fault MakeFault(
    milliseconds at, FaultKind kind, std::string target, milliseconds down, OverlapKind overlap
) {
    return Fault{
        .at = at,
        .kind = kind,
        .target = std::move(target),
        .down = down,
        .overlap = overlap,
        .episode = 0,
    };
}

/// One of `from` not in `except` (which leaves at least one).
std::string Pick(
    std::mt19937_64& rng,
    const std::vector<std::string>& from,
    const std::vector<std::string>& except = {}
) {
    std::vector<std::string> left;
    for (const auto& name : from) {
        if (std::find(except.begin(), except.end(), name) == except.end()) {
            left.push_back(name);
        }
    }
    return left[std::uniform_int_distribution<std::size_t>(0, left.size() - 1)(rng)];
}

/// One episode of `kind`; nullopt when the options leave no way to build it.
std::optional<Episode> MakeOverlap(OverlapKind kind, const PlanOptions& o, std::mt19937_64& rng) {
    const auto kill_down = [&] { return Uniform(rng, milliseconds(300), milliseconds(2000)); };
    Episode e;
    switch (kind) {
        case OverlapKind::kNone:
            return std::nullopt;
        case OverlapKind::kKillDuringPostgresCrash: {
            if (!o.postgres || o.services.empty()) {
                return std::nullopt;
            }
            const milliseconds down = Uniform(rng, milliseconds(1500), milliseconds(4000));
            e.push_back(
                MakeFault(milliseconds(0), FaultKind::kPostgresCrash, "postgres", down, kind)
            );
            const milliseconds at = Uniform(rng, milliseconds(200), down - milliseconds(300));
            e.push_back(MakeFault(at, FaultKind::kKill, Pick(rng, o.services), kill_down(), kind));
            return e;
        }
        case OverlapKind::kRedisKillDuringPause: {
            if (!o.redis || o.pausable.empty()) {
                return std::nullopt;
            }
            e.push_back(MakeFault(
                milliseconds(0), FaultKind::kPause, Pick(rng, o.pausable), o.pause_for, kind
            ));
            const milliseconds down = Uniform(rng, milliseconds(1000), milliseconds(2000));
            const milliseconds latest =
                std::max(milliseconds(500), o.pause_for - down - milliseconds(500));
            e.push_back(MakeFault(
                Uniform(rng, milliseconds(500), latest), FaultKind::kRedisKill, "redis", down, kind
            ));
            return e;
        }
        case OverlapKind::kTwoKills: {
            if (o.services.size() < 2) {
                return std::nullopt;
            }
            const std::string first = Pick(rng, o.services);
            e.push_back(MakeFault(milliseconds(0), FaultKind::kKill, first, kill_down(), kind));
            e.push_back(MakeFault(
                Uniform(rng, milliseconds(0), milliseconds(300)),
                FaultKind::kKill,
                Pick(rng, o.services, {first}),
                kill_down(),
                kind
            ));
            return e;
        }
        case OverlapKind::kPostgresCrashTwice: {
            if (!o.postgres) {
                return std::nullopt;
            }
            const milliseconds first = Uniform(rng, milliseconds(1000), milliseconds(3000));
            const milliseconds gap = Uniform(rng, milliseconds(500), milliseconds(2000));
            e.push_back(
                MakeFault(milliseconds(0), FaultKind::kPostgresCrash, "postgres", first, kind)
            );
            e.push_back(MakeFault(
                first + gap,
                FaultKind::kPostgresCrash,
                "postgres",
                Uniform(rng, milliseconds(1000), milliseconds(3000)),
                kind
            ));
            return e;
        }
        case OverlapKind::kLongPauseWithKills: {
            if (o.pausable.empty()) {
                return std::nullopt;
            }
            const std::string paused = Pick(rng, o.pausable);
            if (o.services.size() < 3 &&
                (o.services.size() < 2 ||
                 std::find(o.services.begin(), o.services.end(), paused) != o.services.end())) {
                return std::nullopt;
            }
            const milliseconds pause = 2 * o.pause_for;
            e.push_back(MakeFault(milliseconds(0), FaultKind::kPause, paused, pause, kind));
            std::vector<std::string> taken{paused};
            for (int k = 0; k < 2; ++k) {
                const milliseconds at = Uniform(
                    rng, milliseconds(500), std::max(milliseconds(500), pause - milliseconds(2500))
                );
                taken.push_back(Pick(rng, o.services, taken));
                e.push_back(MakeFault(at, FaultKind::kKill, taken.back(), kill_down(), kind));
            }
            return e;
        }
    }
    return std::nullopt;
}

milliseconds Span(const Episode& e) {
    milliseconds span{0};
    for (const Fault& f : e) {
        span = std::max(span, f.at + f.down);
    }
    return span;
}

}  // namespace

std::vector<Fault> PlanFaults(const PlanOptions& o) {
    std::mt19937_64 rng(o.seed);
    const int kills = o.kills_per_service > 0 ? o.kills_per_service : KillsPerService(o.duration);
    const int overlaps = o.overlaps_per_kind < 0   ? 0
                         : o.overlaps_per_kind > 0 ? o.overlaps_per_kind
                                                   : OverlapsPerKind(o.duration);
    std::vector<Episode> episodes;
    std::map<std::string, int> overlap_kills;
    for (int n = 0; n < overlaps; ++n) {
        for (const OverlapKind kind : kOverlapKinds) {
            if (auto e = MakeOverlap(kind, o, rng)) {
                for (const Fault& f : *e) {
                    overlap_kills[f.target] += f.kind == FaultKind::kKill ? 1 : 0;
                }
                episodes.push_back(std::move(*e));
            }
        }
    }
    // Alone: every service killed `kills` times in all (at least once alone), one pause, one
    // PostgreSQL crash, one Redis kill.
    for (const auto& service : o.services) {
        const int alone = std::max(1, kills - overlap_kills[service]);
        for (int k = 0; k < alone; ++k) {
            episodes.push_back({MakeFault(
                milliseconds(0),
                FaultKind::kKill,
                service,
                Uniform(rng, milliseconds(300), milliseconds(2000)),
                OverlapKind::kNone
            )});
        }
    }
    if (!o.pausable.empty()) {
        episodes.push_back({MakeFault(
            milliseconds(0),
            FaultKind::kPause,
            Pick(rng, o.pausable),
            o.pause_for,
            OverlapKind::kNone
        )});
    }
    if (o.postgres) {
        episodes.push_back({MakeFault(
            milliseconds(0),
            FaultKind::kPostgresCrash,
            "postgres",
            Uniform(rng, milliseconds(1000), milliseconds(4000)),
            OverlapKind::kNone
        )});
    }
    if (o.redis) {
        episodes.push_back({MakeFault(
            milliseconds(0),
            FaultKind::kRedisKill,
            "redis",
            Uniform(rng, milliseconds(1000), milliseconds(4000)),
            OverlapKind::kNone
        )});
    }
    // Down long enough for the controller to fence the broker and move its leaderships (the
    // test cluster's broker session timeout is a few seconds).
    for (int k = 0; k < (o.brokers.empty() ? 0 : o.broker_kills); ++k) {
        episodes.push_back({MakeFault(
            milliseconds(0),
            FaultKind::kBrokerKill,
            "kafka-" + Pick(rng, o.brokers),
            Uniform(rng, milliseconds(4000), milliseconds(8000)),
            OverlapKind::kNone
        )});
    }
    std::shuffle(episodes.begin(), episodes.end(), rng);
    const milliseconds window = o.duration - o.warmup - o.cooldown;
    milliseconds busy{0};
    std::size_t fault_count = 0;
    for (const Episode& e : episodes) {
        busy += Span(e) + o.settle;
        fault_count += e.size();
    }
    if (window <= milliseconds(0) || busy > window) {
        throw std::invalid_argument(fmt::format(
            "{} faults need {} s but the run leaves {} s for them: run longer or kill less",
            fault_count,
            busy.count() / 1000,
            std::max<std::int64_t>(0, window.count() / 1000)
        ));
    }
    // The time left over is cut into gaps before each episode, in random proportions.
    const milliseconds free = window - busy;
    std::vector<std::int64_t> weights(episodes.size() + 1);
    for (auto& w : weights) {
        w = std::uniform_int_distribution<std::int64_t>(1, 1000)(rng);
    }
    const std::int64_t total = std::accumulate(weights.begin(), weights.end(), std::int64_t{0});
    std::vector<Fault> faults;
    faults.reserve(fault_count);
    milliseconds t = o.warmup;
    for (std::size_t i = 0; i < episodes.size(); ++i) {
        t += milliseconds(free.count() * weights[i] / total);
        const milliseconds span = Span(episodes[i]);
        for (Fault& f : episodes[i]) {
            f.at += t;
            f.episode = static_cast<int>(i) + 1;
            faults.push_back(std::move(f));
        }
        t += span + o.settle;
    }
    std::stable_sort(faults.begin(), faults.end(), [](const Fault& a, const Fault& b) {
        return a.at < b.at;
    });
    return faults;
}

std::map<std::string, int> ObservedOverlaps(const std::vector<Executed>& executed) {
    std::map<std::string, int> pairs;
    for (std::size_t i = 0; i < executed.size(); ++i) {
        for (std::size_t j = i + 1; j < executed.size(); ++j) {
            const Executed& a = executed[i];
            const Executed& b = executed[j];
            if (a.fault.target == b.fault.target || a.end < b.begin || b.end < a.begin) {
                continue;
            }
            std::string x(ToString(a.fault.kind));
            std::string y(ToString(b.fault.kind));
            if (y < x) {
                std::swap(x, y);
            }
            x += '+';
            x += y;
            ++pairs[x];
        }
    }
    return pairs;
}

std::vector<std::string> FaultsDuring(
    const std::vector<Executed>& executed, milliseconds from, milliseconds to
) {
    std::vector<std::string> during;
    for (const Executed& e : executed) {
        if (e.begin <= to && e.end >= from) {
            during.push_back(fmt::format(
                "{} {} {:.1f}-{:.1f}s",
                ToString(e.fault.kind),
                e.fault.target,
                static_cast<double>(e.begin.count()) / 1000.0,
                static_cast<double>(e.end.count()) / 1000.0
            ));
        }
    }
    return during;
}

milliseconds RetryDelay(int attempt, milliseconds retry_after) noexcept {
    const int doublings = std::clamp(attempt - 1, 0, 5);
    const milliseconds backoff = std::min(milliseconds(5000), milliseconds(250) * (1 << doublings));
    return std::max(backoff, retry_after);
}

LoadMix::LoadMix(std::uint64_t seed, std::string run_id)
    : seed_(seed), run_id_(std::move(run_id)) {}

std::string_view ToString(ManualAction action) noexcept {
    switch (action) {
        case ManualAction::kCaptureAll:
            return "capture_all";
        case ManualAction::kCapturePart:
            return "capture_part";
        case ManualAction::kCancel:
            return "cancel";
        case ManualAction::kForget:
            return "forget";
    }
    return "unknown";
}

std::string_view ToString(RefundStep::Expect expect) noexcept {
    switch (expect) {
        case RefundStep::Expect::kRefunded:
            return "refunded";
        case RefundStep::Expect::kExceeds:
            return "exceeds";
        case RefundStep::Expect::kKeyReused:
            return "key_reused";
    }
    return "unknown";
}

std::vector<RefundStep> PlanRefunds(
    std::uint64_t draw,
    std::int64_t captured_minor,
    std::int64_t authorized_minor,
    const std::string& key_prefix
) {
    using Expect = RefundStep::Expect;
    std::vector<RefundStep> steps;
    int n = 0;
    const auto key = [&] { return fmt::format("{}-{}", key_prefix, ++n); };
    const std::int64_t c = captured_minor;
    if (c <= 0) {
        return steps;
    }
    if (c < authorized_minor) {
        // More than the capture, no more than the authorization: refunds follow the capture.
        const auto over = static_cast<std::int64_t>(
            (draw >> 16) % static_cast<std::uint64_t>(authorized_minor - c)
        );
        steps.push_back({key(), c + 1 + over, Expect::kExceeds, false});
    }
    const std::uint64_t plan = c < 10 ? 0 : draw % 4;
    switch (plan) {
        case 0:  // everything at once
            steps.push_back({key(), std::nullopt, Expect::kRefunded, false});
            break;
        case 1: {  // two partial refunds, the second sent twice
            const std::int64_t part = c * 3 / 10;
            steps.push_back({key(), part, Expect::kRefunded, false});
            steps.push_back({key(), part, Expect::kRefunded, true});
            break;
        }
        case 2: {  // a partial refund, one more than what is left, the rest
            const std::int64_t part = c * 6 / 10;
            steps.push_back({key(), part, Expect::kRefunded, false});
            steps.push_back({key(), part, Expect::kExceeds, false});
            steps.push_back({key(), std::nullopt, Expect::kRefunded, false});
            break;
        }
        default: {  // a partial refund sent twice, its key for another amount, the rest
            const std::int64_t part = c / 4;
            const std::string first = key();
            steps.push_back({first, part, Expect::kRefunded, true});
            steps.push_back({first, part + 1, Expect::kKeyReused, false});
            steps.push_back({key(), std::nullopt, Expect::kRefunded, false});
            break;
        }
    }
    return steps;
}

ManualAction ActionAt(ManualAction planned, milliseconds due, milliseconds duration) noexcept {
    // The window, the sweeper's pass and a PostgreSQL outage's worth of slack.
    const milliseconds needed = kCaptureWindow + std::chrono::seconds(15);
    if (planned == ManualAction::kForget && due + needed > duration) {
        return ManualAction::kCancel;
    }
    return planned;
}

Order LoadMix::Next(std::int64_t index) const {
    const auto i = static_cast<std::uint64_t>(index);
    const auto pick = static_cast<int>(Mix(seed_, i, 1) % 1000);
    const MixKind* kind = &kMix.back();
    int upto = 0;
    for (const MixKind& k : kMix) {
        upto += k.per_mille;
        if (pick < upto) {
            kind = &k;
            break;
        }
    }
    Order order;
    order.customer_id = fmt::format("{}-{}-{}", kind->prefix, run_id_, index / 5);
    const std::uint64_t amount_draw = Mix(seed_, i, 2);
    order.amount_minor = kind->review_amount
                             ? 100'001 + static_cast<std::int64_t>(amount_draw % 400'000)
                             : 100 + static_cast<std::int64_t>(amount_draw % 99'900);
    const std::uint64_t currency = Mix(seed_, i, 3) % 10;
    order.currency = currency < 6 ? "USD" : currency < 9 ? "EUR" : "JPY";
    order.idempotency_key = fmt::format("chaos-{}-{}", run_id_, index);
    order.resend = Mix(seed_, i, 4) % 100 < 3;
    // Manual capture for plain customers (review amounts aside) and for those whose PSP calls
    // fail (captures and refunds included); refunds once settled.
    const std::string_view name = kind->name;
    const bool plain = name == "plain";
    order.manual = (plain || name == "force-error") && Mix(seed_, i, 6) % 100 < 20;
    if (order.manual) {
        const std::uint64_t action = Mix(seed_, i, 7) % 100;
        order.action = action < 40   ? ManualAction::kCaptureAll
                       : action < 75 ? ManualAction::kCapturePart
                       : action < 95 ? ManualAction::kCancel
                                     : ManualAction::kForget;
        order.capture_minor =
            order.action == ManualAction::kCapturePart
                ? 1 + static_cast<std::int64_t>(
                          Mix(seed_, i, 8) % static_cast<std::uint64_t>(order.amount_minor - 1)
                      )
                : 0;
    }
    const bool captures = !order.manual || order.action == ManualAction::kCaptureAll ||
                          order.action == ManualAction::kCapturePart;
    const std::uint64_t refund_draw = Mix(seed_, i, 9) % 100;
    if (captures && (order.manual ? refund_draw < 50 : plain && refund_draw < 15)) {
        order.refunds = PlanRefunds(
            Mix(seed_, i, 10),
            order.Captured(),
            order.amount_minor,
            order.idempotency_key + "-refund"
        );
    }
    return order;
}

std::vector<std::string> LoadMix::Kinds() {
    std::vector<std::string> kinds;
    kinds.reserve(kMix.size());
    for (const MixKind& k : kMix) {
        kinds.emplace_back(k.name);
    }
    return kinds;
}

std::string LoadMix::KindOf(std::string_view customer_id) {
    for (const MixKind& k : kMix) {
        if (std::string_view(k.prefix) != "cust" && customer_id.starts_with(k.prefix)) {
            return k.name;
        }
    }
    return "plain";
}

bool ApproveReview(std::uint64_t seed, std::string_view payment_id) noexcept {
    std::uint64_t h = 1469598103934665603ULL;
    for (const char c : payment_id) {
        h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ULL;
    }
    return Mix(seed, h, 5) % 100 < 70;
}

std::map<std::string, std::string> ServiceEnvironment(milliseconds visibility) {
    return {
        {"BUS_VISIBILITY_TIMEOUT_MS", std::to_string(visibility.count())},
        {"BUS_RETRY_INITIAL_DELAY_MS", "1000"},
        {"BUS_RETRY_MAX_DELAY_MS", "5000"},
        {"BUS_TRIM_INTERVAL_MS", "5000"},
        {"SWEEPER_STUCK_AFTER_MS", "3000"},
        {"SWEEPER_INTERVAL_MS", "1000"},
        {"PROVIDER_BACKOFF_MS", "300,600,1200"},
        {"PROVIDER_JANITOR_CHECKS_MS", "2000,5000,15000"},
        {"RISK_REVIEW_EXPIRY_SECONDS", "60"},
        {"PSP_LATE_MS", "2000"},
        {"PSP_SLOW_MS", "300"},
        {"RATE_LIMIT_PER_MINUTE", "1000000"},
        {"OUTBOX_POLL_FALLBACK_MS", "500"},
        {"HEALTH_CHECK_INTERVAL_MS", "500"},
        {"CAPTURE_WINDOW_SECONDS", std::to_string(kCaptureWindow.count())},
    };
}

// ---------------------------------------------------------------------------------------------
// The thin layer: processes, HTTP, shell commands.

namespace {

/// Waits `duration` (no one cancels the driver's waits; a token without a stop state never stops).
void Pause(milliseconds duration) {
    WaitFor(std::stop_token{}, duration);
}

/// RISK_REVIEW_AMOUNT_CENTS's default: the mix's review orders are above it.
constexpr std::int64_t kReviewAmount = 100'000;

const std::vector<std::string> kConsumers = {
    "orchestrator", "risk", "provider", "ledger", "notification"};

/// The service processes (every instance; by InstanceName), started and restarted by this
/// process so it can signal them by pid.
class Processes {
public:
    Processes(std::string exe, std::string log_dir, const std::vector<Instance>& instances)
        : exe_(std::move(exe)), log_dir_(std::move(log_dir)) {
        for (const Instance& instance : instances) {
            instances_.emplace(instance.name, instance);
        }
    }

    /// Starts `name` unless it runs.
    void Start(const std::string& name) {
        const std::lock_guard lock(mutex_);
        restart_at_.erase(name);
        if (pids_[name] <= 0) {
            StartLocked(name);
        }
    }

    /// Has the next Reap (on the thread that started the processes) start `name` unless it
    /// runs: PR_SET_PDEATHSIG kills a child when the *thread* that forked it ends, so the fault
    /// threads never fork.
    void StartSoon(const std::string& name) {
        const std::lock_guard lock(mutex_);
        if (pids_[name] <= 0) {
            restart_at_[name] = SteadyClock::now();
        }
    }

    void Kill(const std::string& name) {
        const std::lock_guard lock(mutex_);
        restart_at_.erase(name);  // restarted by the fault, not by Reap
        const pid_t pid = pids_[name];
        if (pid > 0) {
            kill(pid, SIGKILL);
            int status = 0;
            waitpid(pid, &status, 0);
            pids_[name] = -1;
        }
    }

    void Signal(const std::string& name, int signal) {
        const std::lock_guard lock(mutex_);
        if (pids_[name] > 0) {
            kill(pids_[name], signal);
        }
    }

    /// Restarts every service that died on its own (not one we killed and will restart), as a
    /// supervisor does: after 200 ms, doubling up to 3.2 s while it keeps dying within 10 s of
    /// its start (a service cannot start while PostgreSQL is down). Returns how many died.
    int Reap() {
        const std::lock_guard lock(mutex_);
        const auto now = SteadyClock::now();
        int reaped = 0;
        for (auto& [name, pid] : pids_) {
            int status = 0;
            if (pid > 0 && waitpid(pid, &status, WNOHANG) == pid) {
                const bool quick = now - started_at_[name] < std::chrono::seconds(10);
                int& streak = crash_streak_[name];
                streak = quick ? std::min(streak + 1, 5) : 1;
                const milliseconds delay = milliseconds(200) * (1 << (streak - 1));
                std::fprintf(
                    stderr,
                    "chaos: %s exited by itself (status %d); restarting it in %lld ms\n",
                    name.c_str(),
                    status,
                    static_cast<long long>(delay.count())
                );
                ++unexpected_[name];
                ++reaped;
                pid = -1;
                restart_at_[name] = now + delay;
            }
        }
        for (auto it = restart_at_.begin(); it != restart_at_.end();) {
            if (it->second <= now) {
                StartLocked(it->first);
                it = restart_at_.erase(it);
            } else {
                ++it;
            }
        }
        return reaped;
    }

    void StopAll() {
        const std::lock_guard lock(mutex_);
        restart_at_.clear();
        for (auto& [name, pid] : pids_) {
            if (pid > 0) {
                kill(pid, SIGCONT);
                kill(pid, SIGTERM);
            }
        }
        const auto deadline = SteadyClock::now() + std::chrono::seconds(15);
        for (auto& [name, pid] : pids_) {
            int status = 0;
            while (pid > 0 && waitpid(pid, &status, WNOHANG) == 0) {
                if (SteadyClock::now() > deadline) {
                    kill(pid, SIGKILL);
                    waitpid(pid, &status, 0);
                    break;
                }
                Pause(milliseconds(20));
            }
            pid = -1;
        }
    }

    std::map<std::string, int> Unexpected() {
        const std::lock_guard lock(mutex_);
        return unexpected_;
    }

private:
    void StartLocked(const std::string& name) {
        const std::string log_path = log_dir_ + "/" + name + ".log";
        const Instance& instance = instances_.at(name);
        // Built before fork: the child of a process with threads must not allocate.
        std::vector<std::string> storage = EnvironmentWith(instance.env);
        std::vector<char*> envp;
        envp.reserve(storage.size() + 1);
        for (auto& entry : storage) {
            envp.push_back(entry.data());
        }
        envp.push_back(nullptr);
        std::string exe_arg = exe_;
        std::string command_arg = instance.command;
        char* argv[] = {exe_arg.data(), command_arg.data(), nullptr};
        const pid_t parent = getpid();
        const pid_t pid = fork();
        if (pid == 0) {
            sigset_t none;
            sigemptyset(&none);
            pthread_sigmask(SIG_SETMASK, &none, nullptr);
            prctl(PR_SET_PDEATHSIG, SIGKILL);  // a driver that dies takes its services along
            if (getppid() != parent) {
                _exit(1);
            }
            setpgid(0, 0);
            const int fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
            if (fd >= 0) {
                dup2(fd, STDOUT_FILENO);
                dup2(fd, STDERR_FILENO);
                close(fd);
            }
            execve(exe_.c_str(), argv, envp.data());
            _exit(127);
        }
        pids_[name] = pid;
        started_at_[name] = SteadyClock::now();
    }

    std::string exe_;
    std::string log_dir_;
    std::map<std::string, Instance> instances_;  // By name; not changed after construction.
    std::mutex mutex_;
    std::map<std::string, pid_t> pids_;                          // Guarded by mutex_.
    std::map<std::string, int> unexpected_;                      // Guarded by mutex_.
    std::map<std::string, SteadyClock::time_point> started_at_;  // Guarded by mutex_.
    std::map<std::string, SteadyClock::time_point> restart_at_;  // Guarded by mutex_.
    std::map<std::string, int> crash_streak_;                    // Guarded by mutex_.
};

bool Shell(const std::string& command) {
    if (command.empty()) {
        return true;
    }
    const int status = std::system((command + " >/dev/null 2>&1").c_str());
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

bool Healthy(int port) {
    http::Client client(
        "http://127.0.0.1:" + std::to_string(port),
        http::ClientOptions{1, milliseconds(300), milliseconds(1000)}
    );
    const auto result = client.Get("/health");
    return result.has_value() && result->status == 200;
}

/// The old client's budget (8 tries, 14 s of waits): orders it would have given up on.
constexpr milliseconds kOldRetryBudget{14'000};

/// An order that was not answered at once: its tries, what they got, when.
struct Trouble {
    std::string key;
    std::string kind;
    milliseconds first{0};  ///< First try, from the start of the run.
    milliseconds last{0};   ///< The answer (or the last try).
    int attempts = 0;
    std::map<std::string, int> answers;  ///< "503", "no answer", … of the tries but the last.
    std::string last_status;             ///< The final try's ("201", "503", "no answer").
    std::string last_error;              ///< Its error text (no answer) or error code.
    bool answered = false;
};

struct LoadStats {
    std::atomic<std::int64_t> sent{0};            ///< Orders issued.
    std::atomic<std::int64_t> accepted{0};        ///< Answered 2xx (perhaps after retries).
    std::atomic<std::int64_t> retried{0};         ///< POSTs sent again after no answer or a 5xx.
    std::atomic<std::int64_t> rejected{0};        ///< Answered 4xx.
    std::atomic<std::int64_t> never_answered{0};  ///< No 2xx or 4xx within the retry budget.
    std::atomic<std::int64_t> resent{0};          ///< Accepted orders sent again on purpose.
    std::atomic<std::int64_t> resent_other{0};    ///< …answered with another payment id.
    std::mutex mutex;
    std::map<std::string, std::int64_t> sent_by_kind;   // Guarded by mutex.
    std::map<std::string, std::int64_t> retry_answers;  // Guarded by mutex: non-final answers.
    std::vector<Trouble> beyond_old_budget;             // Guarded by mutex: > 14 s, or never.
    milliseconds longest_to_answer{0};                  // Guarded by mutex.
};

/// Appends {"idempotency_key","payment_id"} lines, flushed one by one.
class AcceptedFile {
public:
    explicit AcceptedFile(const std::string& path) : out_(path, std::ios::trunc) {
        if (!out_) {
            throw std::runtime_error("cannot write " + path);
        }
    }
    void Add(const std::string& key, const std::string& payment_id) {
        const std::lock_guard lock(mutex_);
        out_ << nlohmann::json{{"idempotency_key", key}, {"payment_id", payment_id}}.dump() << '\n';
        out_.flush();
    }

private:
    std::mutex mutex_;
    std::ofstream out_;  // Guarded by mutex_.
};

struct PostResult {
    int status = 0;  ///< 0: no answer.
    std::string payment_id;
    std::string error;  ///< The transport error (no answer) or the body's error code.
    milliseconds retry_after{0};
};

PostResult PostPayment(http::Client& gateway, const std::string& api_key, const Order& o) {
    nlohmann::json body = {
        {"customer_id", o.customer_id},
        {"amount_cents", o.amount_minor},
        {"currency", o.currency},
        {"idempotency_key", o.idempotency_key}};
    if (o.manual) {
        body["capture_method"] = "manual";
    }
    const auto result = gateway.Send(
        "POST",
        "/payments",
        body.dump(),
        {{"content-type", "application/json"}, {"x-api-key", api_key}}
    );
    PostResult out;
    if (!result.has_value()) {
        out.error = result.error().message;
        return out;
    }
    out.status = result->status;
    const auto json = nlohmann::json::parse(result->body, nullptr, false);
    if (out.status >= 200 && out.status < 300) {
        if (json.is_object() && json.contains("payment_id") && json["payment_id"].is_string()) {
            out.payment_id = json["payment_id"].get<std::string>();
        } else {
            out.status = 0;  // a 2xx without a payment: treat as no answer
            out.error = "2xx without a payment_id";
        }
    } else if (json.is_object() && json.contains("error") && json["error"].is_object()) {
        out.error = json["error"].value("code", "");
    }
    const std::string_view retry_after = result->Header("retry-after");
    if (!retry_after.empty() && retry_after.size() < 6 &&
        std::all_of(retry_after.begin(), retry_after.end(), [](char c) {
            return c >= '0' && c <= '9';
        })) {
        out.retry_after = std::chrono::seconds(std::stoll(std::string(retry_after)));
    }
    return out;
}

std::string StatusName(int status) {
    return status == 0 ? std::string("no answer") : std::to_string(status);
}

/// Sends `o` until it is answered 2xx or 4xx (not 429), waiting RetryDelay between tries, for
/// up to `retry_for`: a client that retries with the same idempotency key through crashes. An
/// order not answered at once within kOldRetryBudget is kept in `stats.beyond_old_budget`.
PostResult SendWithRetries(
    http::Client& gateway,
    const std::string& api_key,
    const Order& o,
    LoadStats& stats,
    SteadyClock::time_point run_start,
    milliseconds retry_for
) {
    const auto since_start = [&] {
        return std::chrono::duration_cast<milliseconds>(SteadyClock::now() - run_start);
    };
    const auto first = SteadyClock::now();
    const auto give_up = first + retry_for;
    Trouble trouble;
    trouble.first = since_start();
    PostResult r;
    bool final_answer = false;
    for (int attempt = 0;; ++attempt) {
        if (attempt > 0) {
            stats.retried += 1;
            ++trouble.answers[StatusName(r.status)];
            {
                const std::lock_guard lock(stats.mutex);
                ++stats.retry_answers[StatusName(r.status)];
            }
            Pause(RetryDelay(attempt, r.retry_after));
        }
        r = PostPayment(gateway, api_key, o);
        trouble.attempts = attempt + 1;
        final_answer = (r.status >= 200 && r.status < 300) ||
                       (r.status >= 400 && r.status < 500 && r.status != 429);
        if (final_answer || SteadyClock::now() >= give_up) {
            break;
        }
    }
    const auto took = std::chrono::duration_cast<milliseconds>(SteadyClock::now() - first);
    const std::lock_guard lock(stats.mutex);
    if (final_answer) {
        stats.longest_to_answer = std::max(stats.longest_to_answer, took);
    }
    if (!final_answer || took > kOldRetryBudget) {
        trouble.key = o.idempotency_key;
        trouble.kind = LoadMix::KindOf(o.customer_id);
        trouble.last = since_start();
        trouble.last_status = StatusName(r.status);
        trouble.last_error = r.error;
        trouble.answered = final_answer;
        stats.beyond_old_budget.push_back(std::move(trouble));
    }
    return r;
}

/// Decides every pending review it finds (approve or deny by the seed); returns how many.
int DecideReviews(
    http::Client& risk,
    const std::string& ops_key,
    std::uint64_t seed,
    std::map<std::string, int>& decided
) {
    const auto list =
        risk.Send("GET", "/ops/reviews?status=PENDING&limit=500", {}, {{"x-api-key", ops_key}});
    if (!list.has_value() || list->status != 200) {
        return 0;
    }
    const auto reviews = nlohmann::json::parse(list->body, nullptr, false);
    if (!reviews.is_array()) {
        return 0;
    }
    int count = 0;
    for (const auto& review : reviews) {
        const std::string id = review.value("payment_id", "");
        if (id.empty()) {
            continue;
        }
        const bool approve = ApproveReview(seed, id);
        const auto answer = risk.Send(
            "POST",
            "/ops/reviews/" + id + (approve ? "/approve" : "/deny"),
            R"({"reviewed_by":"chaos"})",
            {{"content-type", "application/json"}, {"x-api-key", ops_key}}
        );
        if (answer.has_value() && answer->status == 200) {
            ++decided[approve ? "approved" : "denied"];
            ++count;
        }
    }
    return count;
}

/// What the merchant saw, for the summary. Counts by outcome name.
struct MerchantStats {
    std::mutex mutex;
    std::map<std::string, std::int64_t> manual;         // Guarded by mutex.
    std::map<std::string, std::int64_t> refunds;        // Guarded by mutex.
    std::map<std::string, std::int64_t> retry_answers;  // Guarded by mutex: calls tried again.
    std::map<std::string, std::int64_t> unexpected;     // Guarded by mutex: "what: got".
    /// A refund sent again with its key and body answered with another refund: a broken promise.
    std::atomic<std::int64_t> replay_other{0};

    void Count(std::map<std::string, std::int64_t>& which, const std::string& what) {
        const std::lock_guard lock(mutex);
        ++which[what];
    }
};

/// One answer of the services to the merchant.
struct Answer {
    int status = 0;    ///< 0: no answer.
    std::string code;  ///< The error's code, when the body has one.
    nlohmann::json body;
    bool replayed = false;  ///< idempotent-replayed: true.
    milliseconds retry_after{0};
};

Answer ToAnswer(const http::ClientResult& result) {
    Answer a;
    if (!result.has_value()) {
        a.code = "no answer";
        return a;
    }
    a.status = result->status;
    a.body = nlohmann::json::parse(result->body, nullptr, false);
    if (a.body.is_object() && a.body.contains("error") && a.body["error"].is_object()) {
        a.code = a.body["error"].value("code", "");
    }
    a.replayed = result->Header("idempotent-replayed") == "true";
    const std::string_view retry_after = result->Header("retry-after");
    if (!retry_after.empty() && retry_after.size() < 6 &&
        std::all_of(retry_after.begin(), retry_after.end(), [](char c) {
            return c >= '0' && c <= '9';
        })) {
        a.retry_after = std::chrono::seconds(std::stoll(std::string(retry_after)));
    }
    return a;
}

/// Worth trying again with the same key and body: no answer, 5xx, 429.
bool Retryable(const Answer& a) {
    return a.status == 0 || a.status >= 500 || a.status == 429;
}

std::string Describe(const Answer& a) {
    return a.code.empty() ? StatusName(a.status) : fmt::format("{} {}", a.status, a.code);
}

/// The merchant of the run: for each accepted payment that captures manually or gets refunds,
/// waits for it (GET /payments/{id} of the orchestrator), then captures, cancels or forgets it,
/// and refunds it once SETTLED (POST …/capture, …/cancel, …/refunds through the gateway), each
/// call tried again with the same key and body while it gets no answer, a 5xx or a 429, as a
/// client does. Many payments at once: each is a small state machine, and a few threads make
/// one call of whichever payment is due.
class Merchant {
public:
    Merchant(
        const std::string& gateway_url,
        const std::string& orchestrator_url,
        std::string api_key,
        std::string internal_token,
        milliseconds retry_for,
        MerchantStats& stats
    )
        : gateway_(gateway_url, http::ClientOptions{8, milliseconds(1000), milliseconds(5000)}),
          orchestrator_(
              orchestrator_url, http::ClientOptions{8, milliseconds(1000), milliseconds(5000)}
          ),
          api_key_(std::move(api_key)),
          internal_token_(std::move(internal_token)),
          retry_for_(retry_for),
          stats_(stats) {}

    void Add(const std::string& payment_id, const Order& order, ManualAction action) {
        Item item;
        item.payment_id = payment_id;
        item.order = order;
        item.action = action;
        item.phase = order.manual ? Phase::kAwaitAuthorized : Phase::kAwaitSettled;
        const auto now = SteadyClock::now();
        item.next_at = now;
        item.call_started = now;
        if (order.manual) {
            stats_.Count(stats_.manual, "orders");
            stats_.Count(stats_.manual, std::string("planned_") + std::string(ToString(action)));
        }
        if (!order.refunds.empty()) {
            stats_.Count(stats_.refunds, "payments_planned");
        }
        const std::lock_guard lock(mutex_);
        items_.emplace(next_id_++, std::move(item));
    }

    /// Nothing left to do (every payment done or given up).
    [[nodiscard]] bool Idle() {
        const std::lock_guard lock(mutex_);
        return items_.empty();
    }

    /// A thread's loop: one call of a due payment at a time, until `stop`.
    void Work(const std::stop_token& stop) {
        while (!stop.stop_requested()) {
            std::optional<std::pair<std::int64_t, Item>> taken;
            {
                const std::lock_guard lock(mutex_);
                const auto now = SteadyClock::now();
                Item* due = nullptr;
                std::int64_t due_id = 0;
                for (auto& [id, item] : items_) {
                    if (!item.busy && item.next_at <= now &&
                        (due == nullptr || item.next_at < due->next_at)) {
                        due = &item;
                        due_id = id;
                    }
                }
                if (due != nullptr) {
                    due->busy = true;
                    taken.emplace(due_id, *due);
                }
            }
            if (!taken) {
                WaitFor(stop, milliseconds(25));
                continue;
            }
            Item& item = taken->second;
            Step(item);
            const std::lock_guard lock(mutex_);
            if (item.phase == Phase::kDone) {
                items_.erase(taken->first);
            } else {
                item.busy = false;
                items_.at(taken->first) = std::move(item);
            }
        }
    }

private:
    enum class Phase {
        kAwaitAuthorized,
        kCapture,
        kCaptureConflict,
        kCancel,
        kCancelAgain,
        kAwaitVoid,
        kAwaitSettled,
        kRefund,
        kDone,
    };

    struct Item {
        std::string payment_id;
        Order order;
        ManualAction action = ManualAction::kCaptureAll;
        Phase phase = Phase::kAwaitSettled;
        std::size_t step = 0;   ///< The refund step under way.
        bool again = false;     ///< Sending the step again (same key and body).
        std::string refund_id;  ///< The step's refund, from its first answer.
        int attempt = 0;        ///< Tries of the call under way.
        SteadyClock::time_point next_at;
        SteadyClock::time_point call_started;  ///< First try of the call (or wait) under way.
        bool busy = false;
    };

    /// Moves to `phase` now: a new call (or wait), with its own budget.
    static void Next(Item& item, Phase phase) {
        item.phase = phase;
        item.attempt = 0;
        item.next_at = SteadyClock::now();
        item.call_started = item.next_at;
    }

    /// The call got no final answer: try again after RetryDelay, or give up past the budget.
    bool RetryLater(Item& item, const Answer& a, const char* what) {
        stats_.Count(stats_.retry_answers, Describe(a));
        if (SteadyClock::now() - item.call_started > retry_for_) {
            Unexpected(fmt::format("{}: never answered", what), a);
            return false;
        }
        item.attempt += 1;
        item.next_at = SteadyClock::now() + RetryDelay(item.attempt, a.retry_after);
        return true;
    }

    void Unexpected(const std::string& what, const Answer& a) {
        Unexpected(fmt::format("{}: {}", what, Describe(a)));
    }
    void Unexpected(const std::string& what) { stats_.Count(stats_.unexpected, what); }

    /// Polls again in `every` until the wait's budget is spent.
    bool PollLater(Item& item, milliseconds every, milliseconds budget) {
        if (SteadyClock::now() - item.call_started > budget) {
            return false;
        }
        item.next_at = SteadyClock::now() + every;
        return true;
    }

    Answer Get(const std::string& payment_id) {
        std::vector<std::pair<std::string, std::string>> headers;
        if (!internal_token_.empty()) {
            headers.emplace_back("x-internal-token", internal_token_);
        }
        return ToAnswer(orchestrator_.Send("GET", "/payments/" + payment_id, {}, headers));
    }

    Answer Command(const std::string& payment_id, const char* command, const nlohmann::json& body) {
        return ToAnswer(gateway_.Send(
            "POST",
            "/payments/" + payment_id + "/" + command,
            body.dump(),
            {{"content-type", "application/json"}, {"x-api-key", api_key_}}
        ));
    }

    void Step(Item& item) {
        switch (item.phase) {
            case Phase::kAwaitAuthorized:
                return AwaitAuthorized(item);
            case Phase::kCapture:
            case Phase::kCaptureConflict:
                return Capture(item);
            case Phase::kCancel:
            case Phase::kCancelAgain:
                return Cancel(item);
            case Phase::kAwaitVoid:
                return AwaitVoid(item);
            case Phase::kAwaitSettled:
                return AwaitSettled(item);
            case Phase::kRefund:
                return Refund(item);
            case Phase::kDone:
                return;
        }
    }

    /// The payment's status, or empty when the orchestrator did not answer.
    std::string StatusOf(Item& item, const char* waiting_for) {
        const Answer a = Get(item.payment_id);
        if (a.status == 200 && a.body.is_object() && a.body.contains("status") &&
            a.body["status"].is_string()) {
            return a.body["status"].get<std::string>();
        }
        if (a.status != 0 && a.status < 500) {
            Unexpected(fmt::format("GET while waiting for {}", waiting_for), a);
        }
        return {};
    }

    void AwaitAuthorized(Item& item) {
        const std::string status = StatusOf(item, "AUTHORIZED");
        if (status == "AUTHORIZED") {
            switch (item.action) {
                case ManualAction::kCaptureAll:
                case ManualAction::kCapturePart:
                    return Next(item, Phase::kCapture);
                case ManualAction::kCancel:
                    return Next(item, Phase::kCancel);
                case ManualAction::kForget:
                    return Next(item, Phase::kAwaitVoid);
            }
        }
        if (status == "FAILED" || status == "REVERSED") {
            stats_.Count(stats_.manual, "ended_before_authorized");
            return Next(item, Phase::kDone);
        }
        if (!PollLater(item, milliseconds(300), retry_for_)) {
            Unexpected("manual capture: never AUTHORIZED");
            Next(item, Phase::kDone);
        }
    }

    void Capture(Item& item) {
        const bool part = item.action == ManualAction::kCapturePart;
        const bool conflict = item.phase == Phase::kCaptureConflict;
        nlohmann::json body = nlohmann::json::object();
        if (part) {
            // The conflict: another amount after the capture was asked (at most the amount).
            body["amount_cents"] = item.order.capture_minor + (conflict ? 1 : 0);
        }
        const Answer a = Command(item.payment_id, "capture", body);
        if (Retryable(a)) {
            if (!RetryLater(item, a, "capture")) {
                Next(item, Phase::kDone);
            }
            return;
        }
        if (conflict) {
            if (a.status == 409 && a.code == "capture_already_requested") {
                stats_.Count(stats_.manual, "capture_other_amount_409");
            } else {
                Unexpected("a second capture of another amount", a);
            }
            return Next(item, item.order.refunds.empty() ? Phase::kDone : Phase::kAwaitSettled);
        }
        if (a.status == 200) {
            stats_.Count(stats_.manual, part ? "captured_part" : "captured_all");
            if (part) {
                return Next(item, Phase::kCaptureConflict);
            }
            return Next(item, item.order.refunds.empty() ? Phase::kDone : Phase::kAwaitSettled);
        }
        // 409: it failed meanwhile, or a PostgreSQL outage held the capture past the window.
        stats_.Count(stats_.manual, "capture_refused_" + Describe(a));
        Next(item, Phase::kDone);
    }

    void Cancel(Item& item) {
        const bool again = item.phase == Phase::kCancelAgain;
        const Answer a = Command(item.payment_id, "cancel", nlohmann::json::object());
        if (Retryable(a)) {
            if (!RetryLater(item, a, "cancel")) {
                Next(item, Phase::kDone);
            }
            return;
        }
        if (a.status == 200) {
            if (!again) {
                stats_.Count(stats_.manual, "canceled");
                return Next(item, Phase::kCancelAgain);
            }
            if (a.replayed) {
                stats_.Count(stats_.manual, "cancel_replayed");
            } else {
                Unexpected("a second cancel, not a replay", a);
            }
            return Next(item, Phase::kDone);
        }
        stats_.Count(stats_.manual, "cancel_refused_" + Describe(a));
        Next(item, Phase::kDone);
    }

    void AwaitVoid(Item& item) {
        const std::string status = StatusOf(item, "the capture window's void");
        if (status == "REVERSED") {
            stats_.Count(stats_.manual, "voided_at_window_end");
            return Next(item, Phase::kDone);
        }
        if (!status.empty() && status != "AUTHORIZED") {
            stats_.Count(stats_.manual, "forgotten_ended_" + status);
            return Next(item, Phase::kDone);
        }
        if (!PollLater(item, milliseconds(1000), kCaptureWindow + retry_for_)) {
            Unexpected("a forgotten manual capture: never voided");
            Next(item, Phase::kDone);
        }
    }

    void AwaitSettled(Item& item) {
        const std::string status = StatusOf(item, "SETTLED");
        if (status == "SETTLED" || status == "PARTIALLY_REFUNDED" || status == "REFUNDED") {
            stats_.Count(stats_.refunds, "payments_refunded");
            return Next(item, Phase::kRefund);
        }
        if (status == "FAILED" || status == "REVERSED") {
            stats_.Count(stats_.refunds, "payments_unpaid_not_refunded");
            return Next(item, Phase::kDone);
        }
        if (!PollLater(item, milliseconds(500), retry_for_)) {
            Unexpected("refunds: the payment never settled");
            Next(item, Phase::kDone);
        }
    }

    void Refund(Item& item) {
        using Expect = RefundStep::Expect;
        const RefundStep& step = item.order.refunds.at(item.step);
        nlohmann::json body = {{"idempotency_key", step.idempotency_key}, {"reason", "chaos"}};
        if (step.amount_minor) {
            body["amount_cents"] = *step.amount_minor;
        }
        if (item.attempt == 0) {
            stats_.Count(stats_.refunds, item.again ? "sent_again" : "requests");
        }
        const Answer a = Command(item.payment_id, "refunds", body);
        // CAPTURED for a moment after its capture: "retry with the same idempotency_key".
        if (Retryable(a) || (a.status == 409 && a.code == "payment_not_settled")) {
            if (!RetryLater(item, a, "refund")) {
                return NextRefund(item);
            }
            return;
        }
        const std::string refund_id =
            a.status == 200 && a.body.is_object() ? a.body.value("refund_id", "") : "";
        if (item.again) {
            if (a.status == 200 && a.replayed && refund_id == item.refund_id) {
                stats_.Count(stats_.refunds, "replayed_same_refund");
            } else if (a.status == 200 && refund_id != item.refund_id) {
                stats_.replay_other += 1;
                Unexpected("a refund sent again answered with another refund", a);
            } else {
                Unexpected("a refund sent again", a);
            }
            return NextRefund(item);
        }
        const std::string what = fmt::format("a refund expected {}", ToString(step.expect));
        switch (step.expect) {
            case Expect::kRefunded:
                if (a.status == 200) {
                    stats_.Count(stats_.refunds, "issued");
                    if (a.replayed) {
                        stats_.Count(stats_.refunds, "issued_answer_replayed_after_retry");
                    }
                    if (step.again) {
                        item.refund_id = refund_id;
                        item.again = true;
                        item.attempt = 0;
                        item.call_started = SteadyClock::now();
                        item.next_at = item.call_started;
                        return;
                    }
                } else {
                    Unexpected(what, a);
                }
                break;
            case Expect::kExceeds:
                if (a.status == 409 && a.code == "refund_exceeds_captured") {
                    stats_.Count(stats_.refunds, "refused_exceeds_captured_409");
                } else {
                    Unexpected(what, a);
                    stats_.Count(stats_.refunds, a.status == 200 ? "issued" : "refused_other");
                }
                break;
            case Expect::kKeyReused:
                if (a.status == 422 && a.code == "idempotency_key_reused") {
                    stats_.Count(stats_.refunds, "refused_key_reused_422");
                } else {
                    Unexpected(what, a);
                }
                break;
        }
        NextRefund(item);
    }

    void NextRefund(Item& item) {
        item.again = false;
        item.refund_id.clear();
        item.step += 1;
        Next(item, item.step < item.order.refunds.size() ? Phase::kRefund : Phase::kDone);
    }

    http::Client gateway_;
    http::Client orchestrator_;
    std::string api_key_;
    std::string internal_token_;
    milliseconds retry_for_;
    MerchantStats& stats_;
    std::mutex mutex_;
    std::map<std::int64_t, Item> items_;  // Guarded by mutex_.
    std::int64_t next_id_ = 0;            // Guarded by mutex_.
};

std::string Env(const char* name, const std::string& fallback = {}) {
    const char* value = std::getenv(name);
    return value == nullptr || *value == '\0' ? fallback : std::string(value);
}

}  // namespace

int RunChaos(const ChaosOptions& o) {
    std::filesystem::create_directories(o.log_dir);
    for (const auto& [key, value] : ServiceEnvironment(o.visibility)) {
        setenv(key.c_str(), value.c_str(), 0);  // what the caller set wins
    }
    if (Env("API_KEY").empty()) {
        setenv("API_KEY", "chaos-secret", 1);
    }
    const auto config = LoadConfig(ProcessEnvironment(), "tools");
    if (!config) {
        std::fprintf(stderr, "chaos: %s\n", config.error().message.c_str());
        return 2;
    }
    const auto url = [&](const char* service) {
        return "http://127.0.0.1:" + std::to_string(config->PortFor(service));
    };
    setenv("ORCHESTRATOR_URL", url("orchestrator").c_str(), 1);
    setenv("PSP_URL", url("psp").c_str(), 1);
    const std::string api_key = Env("API_KEY");
    const std::string ops_key = Env("OPS_API_KEY", api_key);

    // Every instance of every service (one each unless --replicas); gateway i calls orchestrator
    // i mod n.
    const std::vector<Instance> instances = PlanInstances(
        o.replicas,
        [&](const ServicePort& service) {
            return config->PortFor(service.command == "psp-sandbox" ? "psp" : service.command);
        },
        false
    );
    if (const auto checked = CheckPorts(instances); !checked) {
        std::fprintf(stderr, "chaos: %s\n", checked.error().message.c_str());
        return 2;
    }
    std::vector<std::string> services;  // the fault targets: every instance but the PSP's
    std::vector<std::string> pausable;
    for (const Instance& instance : instances) {
        if (instance.command == "psp-sandbox") {
            continue;
        }
        services.push_back(instance.name);
        if (std::find(kConsumers.begin(), kConsumers.end(), instance.command) != kConsumers.end()) {
            pausable.push_back(instance.name);
        }
    }

    PlanOptions plan_options;
    plan_options.seed = o.seed;
    plan_options.duration = o.duration;
    if (o.service_faults) {
        plan_options.services = services;
        plan_options.pausable = pausable;
    } else {
        plan_options.overlaps_per_kind = -1;
    }
    plan_options.kills_per_service = o.kills_per_service;
    plan_options.pause_for = o.visibility + std::chrono::seconds(2);
    plan_options.postgres = o.service_faults && !o.pg_crash_cmd.empty();
    plan_options.redis = o.service_faults && !o.redis_kill_cmd.empty();
    if (!o.broker_kill_cmd.empty()) {
        for (int b = 1; b <= o.brokers; ++b) {
            plan_options.brokers.push_back(std::to_string(b));
        }
        plan_options.broker_kills = o.broker_kills;
    }
    std::vector<Fault> plan;
    try {
        plan = PlanFaults(plan_options);
    } catch (const std::invalid_argument& e) {
        std::fprintf(stderr, "chaos: %s\n", e.what());
        return 2;
    }
    const std::string rerun =
        fmt::format("make chaos DURATION={} SEED={}", o.duration.count(), o.seed);
    std::printf(
        "chaos: seed %llu, %lld s, %zu faults planned (rerun: %s)\n",
        static_cast<unsigned long long>(o.seed),
        static_cast<long long>(o.duration.count()),
        plan.size(),
        rerun.c_str()
    );
    std::fflush(stdout);

    Processes processes(o.self_exe, o.log_dir, instances);
    // In start order, the PSP first (it keeps its books in memory: never killed).
    for (const Instance& instance : instances) {
        processes.Start(instance.name);
    }
    const auto ready_by = SteadyClock::now() + std::chrono::seconds(90);
    for (const Instance& instance : instances) {
        while (!Healthy(instance.port)) {
            processes.Reap();
            if (SteadyClock::now() > ready_by) {
                std::fprintf(
                    stderr,
                    "chaos: %s is not healthy after 90 s; see %s\n",
                    instance.name.c_str(),
                    o.log_dir.c_str()
                );
                processes.StopAll();
                return 2;
            }
            Pause(milliseconds(100));
        }
    }

    const std::string accepted_path = o.log_dir + "/accepted.jsonl";
    AcceptedFile accepted(accepted_path);
    LoadStats stats;
    const std::string run_id = fmt::format("{:x}", o.seed & 0xFFFFFFFFULL);
    const LoadMix mix(o.seed, run_id + "-" + std::to_string(std::time(nullptr) % 100000));
    http::Client gateway(
        url("gateway"),
        http::ClientOptions{
            static_cast<std::size_t>(o.concurrency) + 4, milliseconds(1000), milliseconds(10000)}
    );
    http::Client risk(url("risk"), http::ClientOptions{2, milliseconds(1000), milliseconds(5000)});
    // The merchant: manual captures and refunds of accepted payments, while the faults happen.
    MerchantStats merchant_stats;
    Merchant merchant(
        url("gateway"),
        url("orchestrator"),
        api_key,
        config->internal_token,
        o.retry_for,
        merchant_stats
    );

    const auto start = SteadyClock::now();
    const auto load_until = start + o.duration;
    std::atomic<std::int64_t> next{0};
    std::stop_source stop_load;
    std::vector<std::jthread> load;
    load.reserve(static_cast<std::size_t>(o.concurrency));
    std::atomic<int> workers_left{o.concurrency};
    const auto worker = [&] {
        while (!stop_load.stop_requested()) {
            const std::int64_t i = next.fetch_add(1);
            const auto due =
                start + std::chrono::duration_cast<SteadyClock::duration>(
                            std::chrono::duration<double>(static_cast<double>(i) / o.rate)
                        );
            if (due >= load_until) {
                return;
            }
            if (const auto now = SteadyClock::now(); due > now) {
                if (WaitFor(
                        stop_load.get_token(), std::chrono::duration_cast<milliseconds>(due - now)
                    )) {
                    return;
                }
            }
            const Order order = mix.Next(i);
            stats.sent += 1;
            {
                const std::lock_guard lock(stats.mutex);
                ++stats.sent_by_kind
                      [order.amount_minor > kReviewAmount ? std::string("review")
                                                          : LoadMix::KindOf(order.customer_id)];
            }
            const PostResult r =
                SendWithRetries(gateway, api_key, order, stats, start, o.retry_for);
            if (!r.payment_id.empty()) {
                stats.accepted += 1;
                accepted.Add(order.idempotency_key, r.payment_id);
                if (order.manual || !order.refunds.empty()) {
                    merchant.Add(
                        r.payment_id,
                        order,
                        ActionAt(
                            order.action,
                            std::chrono::duration_cast<milliseconds>(due - start),
                            o.duration
                        )
                    );
                }
                if (order.resend) {
                    stats.resent += 1;
                    const PostResult again =
                        SendWithRetries(gateway, api_key, order, stats, start, o.retry_for);
                    if (!again.payment_id.empty()) {
                        accepted.Add(order.idempotency_key, again.payment_id);
                        stats.resent_other += again.payment_id != r.payment_id ? 1 : 0;
                    }
                }
            } else if (r.status >= 400 && r.status < 500) {
                stats.rejected += 1;
            } else {
                stats.never_answered += 1;
            }
        }
    };
    for (int w = 0; w < o.concurrency; ++w) {
        load.emplace_back([&] {
            worker();
            workers_left -= 1;
        });
    }
    constexpr int kMerchantThreads = 4;
    std::vector<std::jthread> merchants;
    merchants.reserve(kMerchantThreads);
    for (int m = 0; m < kMerchantThreads; ++m) {
        merchants.emplace_back([&](std::stop_token stop) { merchant.Work(stop); });
    }
    std::map<std::string, int> decided;  // the reviewer's until it is joined
    std::jthread reviewer([&](std::stop_token stop) {
        while (!WaitFor(stop, milliseconds(1000))) {
            DecideReviews(risk, ops_key, o.seed, decided);
        }
    });

    // The faults on the plan's schedule. An episode starts when its time has come and the
    // targets it uses are back (a PostgreSQL restart waits for crash recovery, which may outlast
    // its planned down time); its faults then keep their offsets, one thread per target. Dead
    // services are restarted meanwhile.
    std::mutex fault_mutex;
    std::map<std::string, int> injected;        // Guarded by fault_mutex.
    std::map<std::string, int> infra_failures;  // Guarded by fault_mutex.
    std::vector<Executed> executed;             // Guarded by fault_mutex.
    std::set<std::string> busy;                 // Guarded by fault_mutex: targets under a fault.
    std::map<std::string, int> overlaps_planned;
    const auto since_start = [&] {
        return std::chrono::duration_cast<milliseconds>(SteadyClock::now() - start);
    };
    const auto wait_until = [&](SteadyClock::time_point when) {
        while (SteadyClock::now() < when) {
            processes.Reap();
            Pause(std::min(
                milliseconds(50),
                std::chrono::duration_cast<milliseconds>(when - SteadyClock::now()) +
                    milliseconds(1)
            ));
        }
    };
    const auto shell = [&](const std::string& command, const char* what) {
        if (!Shell(command)) {
            const std::lock_guard lock(fault_mutex);
            ++infra_failures[what];
        }
    };
    // Carries out `f` (blocking until its restart is done) and records it.
    const auto carry_out = [&](const Fault& f) {
        const milliseconds begin = since_start();
        {
            const std::lock_guard lock(fault_mutex);
            std::printf(
                "chaos: %6.1f s %s %s for %lld ms%s%s\n",
                static_cast<double>(begin.count()) / 1000.0,
                std::string(ToString(f.kind)).c_str(),
                f.target.c_str(),
                static_cast<long long>(f.down.count()),
                f.overlap == OverlapKind::kNone ? "" : " — ",
                f.overlap == OverlapKind::kNone ? "" : std::string(ToString(f.overlap)).c_str()
            );
            std::fflush(stdout);
            ++injected[std::string(ToString(f.kind))];
        }
        switch (f.kind) {
            case FaultKind::kKill:
                processes.Kill(f.target);
                Pause(f.down);
                processes.StartSoon(f.target);
                break;
            case FaultKind::kPause:
                processes.Signal(f.target, SIGSTOP);
                Pause(f.down);
                processes.Signal(f.target, SIGCONT);
                break;
            case FaultKind::kPostgresCrash:
                shell(o.pg_crash_cmd, "postgres_crash");
                Pause(f.down);
                shell(o.pg_start_cmd, "postgres_start");
                break;
            case FaultKind::kRedisKill:
                shell(o.redis_kill_cmd, "redis_kill");
                Pause(f.down);
                shell(o.redis_start_cmd, "redis_start");
                break;
            case FaultKind::kBrokerKill: {
                const std::string broker = f.target.substr(f.target.find('-') + 1);
                shell(WithBroker(o.broker_kill_cmd, broker), "broker_kill");
                Pause(f.down);
                shell(WithBroker(o.broker_start_cmd, broker), "broker_start");
                break;
            }
        }
        const milliseconds end = since_start();
        const std::lock_guard lock(fault_mutex);
        if (f.kind == FaultKind::kPostgresCrash || f.kind == FaultKind::kRedisKill ||
            f.kind == FaultKind::kBrokerKill) {
            std::printf(
                "chaos: %6.1f s %s back after %.1f s\n",
                static_cast<double>(end.count()) / 1000.0,
                f.target.c_str(),
                static_cast<double>((end - begin).count()) / 1000.0
            );
            std::fflush(stdout);
        }
        executed.push_back({.fault = f, .begin = begin, .end = end});
    };
    std::vector<std::jthread> fault_threads;
    for (std::size_t i = 0; i < plan.size();) {
        std::size_t j = i;
        while (j < plan.size() && plan[j].episode == plan[i].episode) {
            ++j;
        }
        const std::vector<Fault> episode(
            plan.begin() + static_cast<std::ptrdiff_t>(i),
            plan.begin() + static_cast<std::ptrdiff_t>(j)
        );
        i = j;
        if (episode.front().overlap != OverlapKind::kNone) {
            ++overlaps_planned[std::string(ToString(episode.front().overlap))];
        }
        std::map<std::string, std::vector<Fault>> by_target;
        for (const Fault& f : episode) {
            by_target[f.target].push_back(f);
        }
        wait_until(start + episode.front().at);
        while (true) {
            {
                const std::lock_guard lock(fault_mutex);
                if (std::none_of(by_target.begin(), by_target.end(), [&](const auto& t) {
                        return busy.contains(t.first);
                    })) {
                    for (const auto& [target, faults] : by_target) {
                        busy.insert(target);
                    }
                    break;
                }
            }
            wait_until(SteadyClock::now() + milliseconds(100));
        }
        const auto shift = SteadyClock::now() - (start + episode.front().at);
        for (const auto& entry : by_target) {
            fault_threads.emplace_back([&, target = entry.first, faults = entry.second, shift] {
                milliseconds planned_end{0};
                for (const Fault& f : faults) {
                    // A second fault on the target keeps its planned gap after the first is over.
                    auto when = start + f.at + shift;
                    if (planned_end > milliseconds(0)) {
                        when = std::max(when, SteadyClock::now() + (f.at - planned_end));
                    }
                    if (const auto now = SteadyClock::now(); when > now) {
                        Pause(std::chrono::duration_cast<milliseconds>(when - now));
                    }
                    carry_out(f);
                    planned_end = f.at + f.down;
                }
                const std::lock_guard lock(fault_mutex);
                busy.erase(target);
            });
        }
    }
    while (true) {
        {
            const std::lock_guard lock(fault_mutex);
            if (busy.empty()) {
                break;
            }
        }
        wait_until(SteadyClock::now() + milliseconds(100));
    }
    fault_threads.clear();
    wait_until(load_until);
    while (workers_left.load() > 0) {  // every order answered or given up; services kept alive
        wait_until(SteadyClock::now() + milliseconds(200));
    }
    load.clear();
    // The merchant's last captures and refunds (each bounded by the retry budget).
    while (!merchant.Idle()) {
        wait_until(SteadyClock::now() + milliseconds(200));
    }
    merchants.clear();
    const auto faults_over = SteadyClock::now();
    std::printf(
        "chaos: faults and load over after %.1f s; waiting for quiescence\n",
        std::chrono::duration<double>(faults_over - start).count()
    );
    std::fflush(stdout);

    // Quiescence: every payment final, every hold released, every outbox row sent.
    VerifyOptions verify;
    try {
        verify = VerifyOptionsFromEnvironment(ProcessEnvironment());
    } catch (const std::exception& e) {
        std::fprintf(stderr, "chaos: %s\n", e.what());
        processes.StopAll();
        return 2;
    }
    verify.accepted_file = accepted_path;
    verify.stuck_after = milliseconds(0);
    verify.grace = milliseconds(0);
    verify.outbox_after = std::chrono::seconds(5);
    verify.capture_window = kCaptureWindow;  // the services' CAPTURE_WINDOW_SECONDS
    std::optional<Verified> last;
    std::string last_error;
    bool quiet = false;
    const auto give_up = faults_over + o.quiesce_timeout;
    while (true) {
        processes.Reap();
        try {
            last = Verify(verify);
            last_error.clear();
            if (last->report.Ok()) {
                quiet = true;
                break;
            }
        } catch (const std::exception& e) {
            last_error = e.what();
        }
        if (SteadyClock::now() > give_up) {
            break;
        }
        Pause(milliseconds(2000));
    }
    const auto quiesced_after =
        std::chrono::duration<double>(SteadyClock::now() - faults_over).count();
    reviewer.request_stop();
    reviewer.join();
    processes.StopAll();

    // The summary.
    std::sort(
        stats.beyond_old_budget.begin(),
        stats.beyond_old_budget.end(),
        [](const Trouble& a, const Trouble& b) { return a.first < b.first; }
    );
    // Orders the old client (8 tries, 14 s) would have given up on: their answers, the faults.
    std::map<std::string, int> beyond_counts;
    std::map<std::string, int> beyond_answers;
    nlohmann::json beyond_orders = nlohmann::json::array();
    for (const Trouble& t : stats.beyond_old_budget) {
        ++beyond_counts[t.answered ? "answered" : "never_answered"];
        for (const auto& [status, n] : t.answers) {
            beyond_answers[status] += n;
        }
        if (beyond_orders.size() < 40) {
            beyond_orders.push_back(nlohmann::json{
                {"key", t.key},
                {"kind", t.kind},
                {"first_try_s", static_cast<double>(t.first.count()) / 1000.0},
                {"last_try_s", static_cast<double>(t.last.count()) / 1000.0},
                {"tries", t.attempts},
                {"answers_before", t.answers},
                {"final", t.last_status + (t.last_error.empty() ? "" : " " + t.last_error)},
                {"faults_during", FaultsDuring(executed, t.first, t.last)},
            });
        }
    }
    const nlohmann::json beyond = {
        {"counts", beyond_counts}, {"answers_before", beyond_answers}, {"orders", beyond_orders}};
    nlohmann::json summary = {
        {"seed", o.seed},
        {"duration_s", o.duration.count()},
        {"rate_per_s", o.rate},
        {"replicas", o.replicas},
        {"orders_sent", stats.sent.load()},
        {"accepted", stats.accepted.load()},
        {"rejected_4xx", stats.rejected.load()},
        {"never_answered", stats.never_answered.load()},
        {"post_retries", stats.retried.load()},
        {"resent_same_key", stats.resent.load()},
        {"resent_other_payment", stats.resent_other.load()},
        {"sent_by_kind", stats.sent_by_kind},
        {"reviews_decided", decided},
        {"faults", injected},
        {"overlaps_planned", overlaps_planned},
        {"overlaps_observed", ObservedOverlaps(executed)},
        {"retry_answers", stats.retry_answers},
        {"longest_to_answer_s", static_cast<double>(stats.longest_to_answer.count()) / 1000.0},
        {"beyond_14s", beyond},
        {"manual_capture", merchant_stats.manual},
        {"refunds", merchant_stats.refunds},
        {"merchant_retry_answers", merchant_stats.retry_answers},
        {"merchant_unexpected", merchant_stats.unexpected},
        {"refund_replayed_as_another", merchant_stats.replay_other.load()},
        {"fault_command_failures", infra_failures},
        {"unexpected_exits", processes.Unexpected()},
        {"quiescent", quiet},
        {"time_to_quiescence_s", quiesced_after},
    };
    if (last) {
        const nlohmann::json report = ReportJson(*last);
        summary["payments"] = report.at("payments");
        summary["by_status"] = report.at("by_status");
        summary["refunds_by_status"] = report.at("refunds_by_status");
        summary["awaiting_capture"] = report.at("awaiting_capture");
        summary["longest_to_final_ms"] = report.at("longest_to_final_ms");
        summary["p99_to_final_ms"] = report.at("p99_to_final_ms");
        summary["violation_count"] = report.at("violation_count");
        summary["violations_by_kind"] = report.at("violations_by_kind");
    }
    std::printf("%s\n", summary.dump(2).c_str());
    if (last) {
        std::size_t shown = 0;
        for (const auto& v : last->report.violations) {
            if (++shown > 50) {
                std::printf("... and %zu more\n", last->report.violations.size() - 50);
                break;
            }
            std::printf("violation: %s\n", invariants::Describe(v).c_str());
        }
    }
    // A refund's key and body sent again must name the same refund (the invariants cannot see
    // what a client was told).
    const bool ok = quiet && last && last->report.Ok() && merchant_stats.replay_other == 0;
    if (ok) {
        const auto& refunds = last->report.refunds_by_status;
        const auto succeeded = refunds.find(invariants::RefundState::kSucceeded);
        std::printf(
            "chaos: OK — seed %llu, %lld payments, %lld refunds issued (%lld SUCCEEDED), every "
            "invariant holds %.1f s after the faults stopped\n",
            static_cast<unsigned long long>(o.seed),
            static_cast<long long>(last->payments),
            static_cast<long long>(last->refunds),
            static_cast<long long>(succeeded == refunds.end() ? 0 : succeeded->second),
            quiesced_after
        );
    } else {
        if (!last_error.empty()) {
            std::printf(
                "chaos: the last check could not read the system: %s\n", last_error.c_str()
            );
        }
        if (merchant_stats.replay_other > 0) {
            std::printf(
                "chaos: %lld refunds sent again with their key and body were answered with "
                "another refund\n",
                static_cast<long long>(merchant_stats.replay_other.load())
            );
        }
        std::printf(
            "chaos: FAILED — seed %llu; logs in %s; rerun with: %s\n",
            static_cast<unsigned long long>(o.seed),
            o.log_dir.c_str(),
            rerun.c_str()
        );
    }
    std::fflush(stdout);
    return ok ? 0 : 1;
}

}  // namespace sagapay::app::chaos
