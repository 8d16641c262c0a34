#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "app/replicas.hpp"

namespace sagapay::app::chaos {

/// `sagapay chaos`: sustained load with PSP faults and review decisions against the real
/// processes, while services are SIGKILLed and SIGSTOPped and PostgreSQL and Redis crash; then
/// quiescence and the invariants (`sagapay verify`). Everything a run does is drawn from one
/// seed by the pure functions below; the process control and HTTP are a thin layer
/// (RunChaos). scripts/chaos.sh sets up the private stack and runs it (`make chaos`).

enum class FaultKind {
    kKill,           ///< SIGKILL a service process, restart it `down` later.
    kPause,          ///< SIGSTOP a service process past the visibility timeout, then SIGCONT.
    kPostgresCrash,  ///< `pg_ctl -m immediate stop`, start again `down` later.
    kRedisKill,      ///< SIGKILL redis-server, start again `down` later.
    kBrokerKill,     ///< SIGKILL one Kafka broker of the cluster, start it again `down` later.
};
/// sigkill, sigstop, postgres_crash, redis_kill, broker_kill
[[nodiscard]] std::string_view ToString(FaultKind kind) noexcept;

/// Faults planned to overlap: one episode of several faults at once.
enum class OverlapKind {
    kNone,                     ///< A fault alone.
    kKillDuringPostgresCrash,  ///< A service SIGKILLed (and restarted) while PostgreSQL is down.
    kRedisKillDuringPause,     ///< Redis killed and restarted while a consumer is SIGSTOPped.
    kTwoKills,                 ///< Two services SIGKILLed at (nearly) the same time.
    kPostgresCrashTwice,       ///< PostgreSQL crashed again soon after its restart.
    kLongPauseWithKills,       ///< A consumer SIGSTOPped for twice `pause_for`; two others killed.
};
inline constexpr std::array<OverlapKind, 5> kOverlapKinds{
    OverlapKind::kKillDuringPostgresCrash,
    OverlapKind::kRedisKillDuringPause,
    OverlapKind::kTwoKills,
    OverlapKind::kPostgresCrashTwice,
    OverlapKind::kLongPauseWithKills,
};
/// none, kill_during_postgres_crash, redis_kill_during_pause, two_kills, postgres_crash_twice,
/// long_pause_with_kills
[[nodiscard]] std::string_view ToString(OverlapKind kind) noexcept;

struct Fault {
    std::chrono::milliseconds at{0};  ///< From the start of the run.
    FaultKind kind = FaultKind::kKill;
    std::string target;  ///< The service, or "postgres" / "redis" / "kafka-<broker>".
    std::chrono::milliseconds down{0};         ///< Until it is restarted (resumed).
    OverlapKind overlap = OverlapKind::kNone;  ///< The episode it belongs to.
    int episode = 0;  ///< Faults of one episode share it; episodes never overlap each other.
};

struct PlanOptions {
    std::uint64_t seed = 0;
    std::chrono::milliseconds duration{std::chrono::seconds(120)};
    std::vector<std::string> services;  ///< Each is SIGKILLed `kills_per_service` times.
    std::vector<std::string> pausable;  ///< One of them is SIGSTOPped once alone.
    int kills_per_service = 0;          ///< 0: KillsPerService(duration).
    /// Episodes of each OverlapKind (those the services and stores allow); 0:
    /// OverlapsPerKind(duration); negative: none (every fault alone, as before).
    int overlaps_per_kind = 0;
    std::chrono::milliseconds pause_for{std::chrono::seconds(5)};  ///< Past the visibility timeout.
    bool postgres = true;
    bool redis = true;
    /// Kafka brokers ("1", "2", "3"): `broker_kills` times in all, one broker at a time and each
    /// fault alone, drawn from the seed; empty: no broker fault.
    std::vector<std::string> brokers;
    int broker_kills = 2;
    std::chrono::milliseconds warmup{std::chrono::seconds(5)};    ///< No fault before.
    std::chrono::milliseconds cooldown{std::chrono::seconds(5)};  ///< Every fault over by then.
    /// Allowed for a restart to take (a service, `stack.sh start`) before the next fault.
    std::chrono::milliseconds settle{std::chrono::milliseconds(1500)};
};

/// "Several times each": one kill per 40 s of run, at least 2 and at most 10.
[[nodiscard]] int KillsPerService(std::chrono::milliseconds duration) noexcept;

/// Episodes of each overlap kind: one per 150 s of run, at least 1 and at most 4.
[[nodiscard]] int OverlapsPerKind(std::chrono::milliseconds duration) noexcept;

/// The faults of a run, sorted by `at`, in episodes: an episode is one fault alone or the faults
/// of one OverlapKind at once; an episode is over, and `settle` has passed, before the next
/// begins; all between `warmup` and `duration - cooldown`. Every service is SIGKILLed
/// `kills_per_service` times in all and at least once alone; one consumer is SIGSTOPped alone,
/// PostgreSQL crashed alone and Redis killed alone once; then `overlaps_per_kind` episodes of
/// each kind. Faults on one target never overlap. Their order, the gaps, the targets and the down
/// times are drawn from the seed. Throws std::invalid_argument when they do not fit in the run.
[[nodiscard]] std::vector<Fault> PlanFaults(const PlanOptions& options);

/// A fault as it was carried out: from its start to the end of its restart (for PostgreSQL:
/// until it accepted connections again).
struct Executed {
    Fault fault;
    std::chrono::milliseconds begin{0};
    std::chrono::milliseconds end{0};
};

/// Pairs of executed faults (on different targets) whose [begin, end] intersect, by
/// "kind+kind" (the two names sorted): "postgres_crash+sigkill", "sigkill+sigkill", …
[[nodiscard]] std::map<std::string, int> ObservedOverlaps(const std::vector<Executed>& executed);

/// The executed faults under way at some time in [from, to] ("postgres_crash postgres
/// 56.7-71.2s"), for the orders that got no answer.
[[nodiscard]] std::vector<std::string> FaultsDuring(
    const std::vector<Executed>& executed,
    std::chrono::milliseconds from,
    std::chrono::milliseconds to
);

/// `command` with every `{broker}` replaced by `broker` (the broker-kill commands).
[[nodiscard]] std::string WithBroker(std::string_view command, std::string_view broker);

/// The load client's wait before retry `attempt` (1, 2, …): 250 ms doubling up to 5 s, and never
/// less than the server's Retry-After.
[[nodiscard]] std::chrono::milliseconds RetryDelay(
    int attempt, std::chrono::milliseconds retry_after
) noexcept;

/// What the merchant does with a manual-capture payment once it is AUTHORIZED.
enum class ManualAction {
    kCaptureAll,   ///< POST …/capture with no amount.
    kCapturePart,  ///< POST …/capture of part of the amount, then another amount (409).
    kCancel,       ///< POST …/cancel, twice (the second a replay).
    kForget,       ///< Nothing: the sweeper voids it when the capture window ends.
};
/// capture_all, capture_part, cancel, forget
[[nodiscard]] std::string_view ToString(ManualAction action) noexcept;

/// One POST /payments/{id}/refunds of the merchant and the answer it expects. Sent until it is
/// answered (a 5xx, a 429, no answer or 409 payment_not_settled is tried again with the same
/// key and body, as a client would).
struct RefundStep {
    enum class Expect {
        kRefunded,   ///< 200: the refund is made (a lost answer's retry: replayed, the same one).
        kExceeds,    ///< 409 refund_exceeds_captured: more than is left of the capture.
        kKeyReused,  ///< 422 idempotency_key_reused: an earlier step's key with another amount.
    };
    std::string idempotency_key;
    std::optional<std::int64_t> amount_minor;  ///< Nullopt: all that is left.
    Expect expect = Expect::kRefunded;
    /// Sent again once answered, same key and body: must be answered with the same refund.
    bool again = false;
};
/// refunded, exceeds, key_reused
[[nodiscard]] std::string_view ToString(RefundStep::Expect expect) noexcept;

/// One POST /payments of the load.
struct Order {
    std::string customer_id;  ///< Its force-* prefix picks the sandbox PSP's behaviour.
    std::int64_t amount_minor = 0;
    std::string currency;
    std::string idempotency_key;
    bool resend = false;  ///< Once accepted, sent again with the same key and body.
    /// capture_method manual: the merchant captures (all or part), cancels or forgets it.
    bool manual = false;
    ManualAction action = ManualAction::kCaptureAll;
    std::int64_t capture_minor = 0;  ///< What kCapturePart captures: 1 … amount − 1.
    /// Once SETTLED: the merchant's refunds, in order (empty: none).
    std::vector<RefundStep> refunds;

    /// What the payment captures if all goes well: the part, else the whole amount.
    [[nodiscard]] std::int64_t Captured() const noexcept {
        return manual && action == ManualAction::kCapturePart ? capture_minor : amount_minor;
    }
};

/// The merchant's refunds of a payment that captured `captured_minor`, drawn from `draw`, under
/// keys `<key_prefix>-<n>`: one of a refund of everything; two partial refunds (the second sent
/// twice); a partial refund, one that would exceed what is left (409), the rest; a partial
/// refund sent twice, its key again with another amount (422), the rest. A payment that
/// captured less than its authorization (`authorized_minor`) is also asked, first, for more
/// than it captured and no more than authorized (409). Every refund expected to be made fits in
/// what is left; every one expected to exceed does not.
[[nodiscard]] std::vector<RefundStep> PlanRefunds(
    std::uint64_t draw,
    std::int64_t captured_minor,
    std::int64_t authorized_minor,
    const std::string& key_prefix
);

/// The seed's mix plus PSP faults: plain customers (some over the review amount), and
/// force-timeout, force-decline, force-lost-response, force-slow, force-late, force-random and
/// force-error customers; USD, EUR and JPY; a few orders sent twice. Order `index` of a run is
/// the same for a seed and run id. Each customer places about five orders (risk velocity stays
/// below its thresholds). A fifth of the plain (not for review) and force-error orders capture
/// manually (40 % all, 35 % part, 20 % cancel, 5 % forget); refunds are planned for 15 % of the
/// other plain ones and half of the manual ones that capture.
class LoadMix {
public:
    LoadMix(std::uint64_t seed, std::string run_id);
    [[nodiscard]] Order Next(std::int64_t index) const;
    /// The customer prefixes the mix uses, for the summary.
    [[nodiscard]] static std::vector<std::string> Kinds();
    /// The kind of `customer_id` ("plain", "force-timeout", …).
    [[nodiscard]] static std::string KindOf(std::string_view customer_id);

private:
    std::uint64_t seed_;
    std::string run_id_;
};

/// A pending review's decision: approved about 70 % of the time, drawn from the seed.
[[nodiscard]] bool ApproveReview(std::uint64_t seed, std::string_view payment_id) noexcept;

/// Settings that make a chaos run settle quickly: short visibility timeout, redelivery, sweeper,
/// provider back-off and janitor, review expiry, late PSP authorizations, a capture window of
/// kCaptureWindow; a rate limit that never throttles the load. `visibility` is
/// BUS_VISIBILITY_TIMEOUT_MS.
[[nodiscard]] std::map<std::string, std::string> ServiceEnvironment(
    std::chrono::milliseconds visibility
);

/// CAPTURE_WINDOW_SECONDS of a chaos run: a forgotten manual capture is voided this long after
/// its authorization.
inline constexpr std::chrono::seconds kCaptureWindow{30};

/// A forgotten manual capture is left to the capture window only when the window and the
/// sweeper's void fit in the run after its order (`due` from the start): else it is canceled.
[[nodiscard]] ManualAction ActionAt(
    ManualAction planned, std::chrono::milliseconds due, std::chrono::milliseconds duration
) noexcept;

struct ChaosOptions {
    std::uint64_t seed = 0;
    std::chrono::seconds duration{120};
    double rate = 15;      ///< POST /payments per second (open loop).
    int concurrency = 16;  ///< Requests in flight at most.
    int kills_per_service = 0;
    int overlaps_per_kind = 0;  ///< PlanOptions::overlaps_per_kind.
    /// How long the load client retries a POST with the same key (RetryDelay between tries)
    /// before it gives up: long enough to ride out PostgreSQL crashed twice in a row.
    std::chrono::seconds retry_for{180};
    std::chrono::milliseconds visibility{3000};
    std::chrono::seconds quiesce_timeout{120};
    std::string log_dir;       ///< Service logs, the accepted file.
    std::string self_exe;      ///< This binary (services are `<self_exe> <service>`).
    std::string pg_crash_cmd;  ///< Empty: PostgreSQL is not crashed.
    std::string pg_start_cmd;
    std::string redis_kill_cmd;  ///< Empty: Redis is not killed.
    std::string redis_start_cmd;
    /// SIGKILLs Kafka broker `{broker}` (the text is replaced by its number); empty: no broker
    /// is killed. `brokers` is the cluster's size.
    std::string broker_kill_cmd;
    std::string broker_start_cmd;
    int brokers = 3;
    int broker_kills = 2;
    /// false: only broker faults (no service killed or paused, PostgreSQL and Redis left alone):
    /// the short broker-kill run of `make test`.
    bool service_faults = true;
    /// --replicas: instances per service (`sagapay up`'s ports); each instance is a fault target
    /// of its own (killed `kills_per_service` times; a consumer instance may be paused).
    Replicas replicas = {};
};

/// Runs the whole experiment and prints its summary. Returns 0 when every invariant held after
/// quiescence, 1 on a violation (or no quiescence), 2 when it could not run.
int RunChaos(const ChaosOptions& options);

}  // namespace sagapay::app::chaos
