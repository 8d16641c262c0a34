#include "tests/sim/simulation.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <deque>
#include <functional>
#include <initializer_list>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string_view>
#include <utility>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "adapters/http/router.hpp"
#include "app/replay_guard.hpp"
#include "core/ids.hpp"
#include "core/messaging/events.hpp"
#include "core/messaging/topics.hpp"
#include "runtime/event_consumer.hpp"
#include "services/ledger/in_memory_ledger_book.hpp"
#include "services/ledger/ledger_handler.hpp"
#include "services/notification/in_memory_notification_store.hpp"
#include "services/notification/notification_handler.hpp"
#include "services/orchestrator/in_memory_payment_store.hpp"
#include "services/orchestrator/payment_saga.hpp"
#include "services/orchestrator/saga_handler.hpp"
#include "services/orchestrator/sweeper.hpp"
#include "services/provider/in_memory_provider_store.hpp"
#include "services/provider/provider_handler.hpp"
#include "services/provider/psp_work.hpp"
#include "services/provider/refund_work.hpp"
#include "services/risk/in_memory_risk_store.hpp"
#include "services/risk/in_memory_velocity_counter.hpp"
#include "services/risk/review_api.hpp"
#include "services/risk/review_expiry.hpp"
#include "services/risk/risk_handler.hpp"
#include "testing/fake_clock.hpp"
#include "testing/recording_outbox.hpp"
#include "tests/sim/sim_psp.hpp"

namespace sagapay::sim {
namespace {

using std::chrono::duration_cast;
using std::chrono::milliseconds;
using std::chrono::seconds;
using TimePoint = Clock::TimePoint;

// The services' own settings (their defaults in docs/configuration.md).
constexpr milliseconds kVisibilityTimeout = seconds(15);
constexpr milliseconds kStuckAfter = seconds(30);
constexpr milliseconds kSweepInterval = seconds(5);
constexpr milliseconds kExpiryInterval = seconds(60);
constexpr milliseconds kProviderLease = seconds(8);
constexpr int kProviderBatch = 4;           // kDueBatch of the PSP workers
constexpr std::size_t kConsumerWindow = 3;  // consumers of a group take messages out of order
constexpr std::int64_t kStepBudget = 200'000;
/// CAPTURE_WINDOW_SECONDS of the simulation: a manual capture forgotten this long is voided.
constexpr milliseconds kCaptureWindow = seconds(90);
constexpr const char* kOpsKey = "sim-ops-key";

/// The saga's metrics hooks: nothing to count in a simulation.
class QuietObserver final : public orchestrator::SagaObserver {
public:
    void Ignored(std::string_view /*topic*/) override {}
    void Finished(PaymentStatus /*terminal*/, double /*age_seconds*/, std::string_view /*reason*/)
        override {}
};

/// A unit of work over a copyable in-memory store: a throw (a crash included) leaves the store
/// and the outbox as they were, as a rolled-back transaction would.
template <class Store, class Work>
void RunUnit(Store& store, testing::RecordingOutbox& outbox, Work&& work) {
    Store before = store;
    try {
        work(store, outbox);
    } catch (...) {
        store = std::move(before);
        outbox.Rollback();
        throw;
    }
    outbox.Commit();
}

/// ProviderUnitsOfWork that can make the worker's process die inside its `crash_on`-th unit of
/// work (0: the claim, 1: recording the outcomes), before it commits.
class CrashingProviderUnits final : public provider::ProviderUnitsOfWork {
public:
    explicit CrashingProviderUnits(provider::InMemoryProviderUnitsOfWork& inner) : inner_(inner) {}

    void CrashOn(int run) noexcept {
        crash_on_ = run;
        runs_ = 0;
    }

    // ProviderUnitsOfWork
    void Run(const Work& work) override {
        const bool crash = runs_++ == crash_on_;
        inner_.Run([&](provider::ProviderStore& store, Outbox& outbox) {
            work(store, outbox);
            if (crash) {
                throw Crash{};
            }
        });
    }

private:
    provider::InMemoryProviderUnitsOfWork& inner_;
    int crash_on_ = -1;
    int runs_ = 0;
};

/// The committed events of one service's outbox and how far its relay has published them.
struct Relay {
    std::string service;
    testing::RecordingOutbox* outbox = nullptr;
    std::size_t sent = 0;
    std::vector<TimePoint> committed_at;  ///< Per event of outbox->Published().
};

/// One consumer group of one topic, with the group's inbox (the event ids it committed).
struct Group {
    struct Pending {
        TimePoint visible_at;
        std::int64_t deliveries = 0;
        std::optional<TimePoint> first_failure;
        std::int64_t failures = 0;
    };
    std::string topic;
    std::string name;
    /// Runs the handler in one unit of work; `crash`: the process dies before the commit.
    std::function<void(const Envelope&, bool crash)> handle;
    std::deque<std::size_t> fresh;  ///< Positions in the topic's log not yet delivered.
    std::map<std::size_t, Pending> pending;
    std::set<std::string> inbox;
};

/// What the simulated process of each fault kind does, as odds per opportunity.
struct Odds {
    double crash_before_commit = 0;
    double crash_before_ack = 0;
    double relay_crash = 0;
    double duplicate_publish = 0;
    double worker_crash = 0;
    double gateway_crash = 0;
    double lost_answer = 0;
    double double_post = 0;
    double double_decision = 0;
    double replay = 0;  ///< An operator replays a dead letter (`sagapay replay-dlq`).
    /// While a PSP call is on the wire, other steps run (another worker among them).
    double interleave = 0;
    /// A PSP call takes up to 12 s: longer than a worker's lease (8 s), so another worker may
    /// claim the payment and call too, and the first one's outcome arrives stale.
    double slow_psp = 0;
    PspFaults psp;
};

/// A POST /payments the client will send (and send again until it hears an answer).
struct Planned {
    std::string key;
    CustomerId customer;
    Money amount;
    TimePoint send_at;
    bool answered = false;
    int posts = 0;
    bool manual = false;  ///< capture_method manual.
};

/// One POST /payments/{id}/refunds the merchant sends (again until it hears an answer).
struct MerchantRefund {
    std::string key;
    std::optional<std::int64_t> amount;  ///< Nullopt: all that is left.
};

/// What the merchant does with one payment, through the orchestrator's API (PlanCapture,
/// PlanCancel, PlanRefund, applied as PaymentApi applies them): a manual capture is captured in
/// full or in part (then asked for another amount), canceled (then again) or forgotten (the
/// sweeper voids it when the capture window ends); a settled payment is refunded in steps.
struct MerchantPlan {
    enum class Manual { kNone, kCaptureAll, kCapturePart, kCancel, kForget };
    Manual manual = Manual::kNone;
    std::int64_t capture = 0;  ///< kCapturePart: what to capture.
    /// The manual command's steps: 0 the capture or cancel, 1 another capture amount or the
    /// cancel again, 2 done.
    int manual_step = 0;
    bool manual_committed = false;  ///< The first capture or cancel was committed (answer or not).
    bool manual_refused = false;    ///< The first was refused: nothing to send a second time.
    std::vector<MerchantRefund> refunds;
    std::size_t next_refund = 0;
    bool resend = false;  ///< The last command answered is sent again, same key and body.
    TimePoint next_at;    ///< Not before (a retry after a crash or a lost answer).

    [[nodiscard]] bool ManualLeft() const noexcept {
        return manual != Manual::kNone && manual != Manual::kForget && manual_step < 2;
    }
    [[nodiscard]] bool RefundsLeft() const noexcept {
        return next_refund < refunds.size() || resend;
    }
};

/// A refund the merchant made, as the simulation follows it.
struct MadeRefund {
    PaymentId payment;
    std::string key;
    std::string fingerprint;  ///< What "the same request" is for its key.
    TimePoint created_at;
    TimePoint touched_at;  ///< Created, ended or re-driven by the sweeper last.
    TimePoint updated_at;  ///< Created or ended.
};

class World {
public:
    explicit World(const Options& options)
        : options_(options),
          rng_(options.seed),
          id_rng_(options.seed ^ 0x5a6a7a8a9aULL),
          ids_([this] {
              std::array<std::uint8_t, 16> bytes{};
              for (auto& b : bytes) {
                  b = static_cast<std::uint8_t>(id_rng_());
              }
              return bytes;
          }),
          velocity_(std::chrono::hours(1), std::chrono::hours(24)),
          risk_units_(clock_),
          psp_(rng_, clock_, milliseconds(Between(1'000, 600'000))),
          provider_crashing_(provider_units_) {
        DrawParameters();
        risk_.emplace(clock_, velocity_, thresholds_);
        Wire();
    }

    Result Run() {
        Result result;
        result.seed = options_.seed;
        std::int64_t step = 0;
        for (; step < kStepBudget; ++step) {
            NoteCommits();
            if (LoadDone() && !calm_) {
                Calm();
            }
            if (calm_ && Quiet()) {
                result.quiesced = true;
                break;
            }
            std::vector<std::function<void()>> enabled = Enabled(true);
            if (enabled.empty()) {
                const std::optional<TimePoint> next = NextTimer();
                if (!next) {
                    result.quiesced = calm_ && Quiet();
                    break;
                }
                clock_.Set(std::max(*next, clock_.Now()));
                continue;
            }
            const std::size_t pick = Below(enabled.size());
            enabled[pick]();
            clock_.Advance(milliseconds(Below(20)));
        }
        NoteCommits();
        result.steps = step;
        result.simulated_ms = duration_cast<milliseconds>(clock_.Now() - start_).count();
        result.payments = static_cast<std::int64_t>(payment_ids_.size());
        result.report = invariants::Check(Picture(), CheckOptions());
        result.faults = faults_;
        for (const auto& [kind, count] : psp_.Injected()) {
            result.faults[kind] += count;
        }
        result.activity = activity_;
        result.surprises = unexpected_;
        result.trace = std::move(trace_);
        return result;
    }

private:
    // ---- the generator ---------------------------------------------------------------------
    std::size_t Below(std::size_t n) {
        return n == 0 ? 0 : std::uniform_int_distribution<std::size_t>(0, n - 1)(rng_);
    }
    std::int64_t Between(std::int64_t low, std::int64_t high) {
        return std::uniform_int_distribution<std::int64_t>(low, high)(rng_);
    }
    bool Chance(double odds) {
        return odds > 0 && std::uniform_real_distribution<double>(0, 1)(rng_) < odds;
    }
    template <class T>
    T OneOf(std::initializer_list<T> values) {
        return *(values.begin() + static_cast<std::ptrdiff_t>(Below(values.size())));
    }
    void Count(const char* fault) { faults_[fault] += 1; }
    void Did(const std::string& what) { activity_[what] += 1; }

    void Trace(const std::string& line) {
        if (options_.trace) {
            trace_.push_back(fmt::format(
                "+{:>9.3f}s {}", std::chrono::duration<double>(clock_.Now() - start_).count(), line
            ));
        }
    }
    static std::string Short(std::string_view id) { return std::string(id.substr(0, 8)); }

    // ---- the run's parameters, all drawn from the seed -------------------------------------
    void DrawParameters() {
        if (options_.faults) {
            odds_.crash_before_commit = OneOf({0.0, 0.03, 0.1});
            odds_.crash_before_ack = OneOf({0.0, 0.05, 0.2});
            odds_.relay_crash = OneOf({0.0, 0.05, 0.2});
            odds_.duplicate_publish = OneOf({0.0, 0.05, 0.15});
            odds_.worker_crash = OneOf({0.0, 0.05, 0.15});
            odds_.gateway_crash = OneOf({0.0, 0.05});
            odds_.lost_answer = OneOf({0.0, 0.1});
            odds_.double_post = OneOf({0.0, 0.1, 0.3});
            odds_.double_decision = OneOf({0.0, 0.2});
            odds_.replay = OneOf({0.0, 0.02, 0.1});
            odds_.interleave = OneOf({0.0, 0.2, 0.5});
            odds_.slow_psp = OneOf({0.0, 0.1, 0.3});
            // Half the runs go without the consumers' inboxes: every handler must be idempotent
            // on its own, not only behind the inbox.
            inbox_ = Chance(0.5);
            odds_.psp = {
                .lost_request = OneOf({0.0, 0.05, 0.2}),
                .lost_response = OneOf({0.0, 0.05, 0.2}),
                .server_error = OneOf({0.0, 0.05, 0.2}),
                .crash_after = OneOf({0.0, 0.03, 0.1}),
                .refund_declined = OneOf({0.0, 0.1, 0.3}),
            };
        }
        psp_.SetFaults(odds_.psp);
        psp_.SetInFlight([this] { InFlight(); });
        thresholds_ = {
            .deny_frequency = OneOf<std::int64_t>({4, 50}),
            .review_amount = 100'000,
            .failed_attempts = OneOf<std::int64_t>({1, 3}),
            .velocity = OneOf<std::int64_t>({3, 20}),
        };
        review_expiry_ = OneOf<seconds>({seconds(0), seconds(600), seconds(3 * 24 * 3600)});

        // Customers: mostly ordinary, some whose payments the sandbox PSP declines, draws at
        // random, answers late, loses the answer of, or never answers.
        std::vector<std::string> customers;
        const auto customer_count = static_cast<int>(Between(1, 4));
        for (int i = 0; i < customer_count; ++i) {
            const auto kind = OneOf<std::string_view>(
                {"cust",
                 "cust",
                 "cust",
                 "force-decline",
                 "force-random",
                 "force-late",
                 "force-lost-response",
                 "force-timeout"}
            );
            customers.push_back(fmt::format("{}-{}", kind, i));
        }
        const auto count = static_cast<int>(Between(1, options_.max_payments));
        for (int i = 0; i < count; ++i) {
            Planned p;
            p.key = fmt::format("sim-{}-{}", options_.seed, i);
            p.customer = CustomerId(customers[Below(customers.size())]);
            const auto currency = OneOf<std::string_view>({"USD", "EUR", "JPY", "KWD"});
            p.amount = Money{
                Chance(0.2) ? Between(100'000, 250'000) : Between(1, 99'999),
                *Currency::Parse(currency)};
            p.send_at = start_ + milliseconds(Between(0, 30'000));
            p.manual = Chance(0.3);
            planned_.push_back(std::move(p));
            merchant_.push_back(DrawMerchant(planned_.back()));
        }
    }

    /// The merchant's plan for `p`: what to do with a manual capture, and the refunds of a
    /// payment that settles (drawn for half of them): everything at once; two parts; a part, too
    /// much (409), the rest; a part, its key with another amount (422), the rest. A partial
    /// capture is first asked for more than it captured (409).
    MerchantPlan DrawMerchant(const Planned& p) {
        using Manual = MerchantPlan::Manual;
        MerchantPlan m;
        const std::int64_t amount = p.amount.amount_minor;
        if (p.manual) {
            m.manual = OneOf(
                {Manual::kCaptureAll,
                 Manual::kCapturePart,
                 Manual::kCapturePart,
                 Manual::kCancel,
                 Manual::kForget}
            );
            if (m.manual == Manual::kCapturePart && amount < 2) {
                m.manual = Manual::kCaptureAll;
            }
            m.capture = m.manual == Manual::kCapturePart ? Between(1, amount - 1) : 0;
        }
        const bool captures = m.manual == Manual::kNone || m.manual == Manual::kCaptureAll ||
                              m.manual == Manual::kCapturePart;
        if (!captures || !Chance(0.5)) {
            return m;
        }
        const std::int64_t captured = m.manual == Manual::kCapturePart ? m.capture : amount;
        int n = 0;
        const auto key = [&] { return fmt::format("{}-refund-{}", p.key, ++n); };
        if (captured < amount) {
            m.refunds.push_back({key(), Between(captured + 1, amount)});
        }
        const auto part = [&](std::int64_t tenths) {
            return std::max<std::int64_t>(1, captured * tenths / 10);
        };
        switch (Below(4)) {
            case 0:
                m.refunds.push_back({key(), std::nullopt});
                break;
            case 1:
                m.refunds.push_back({key(), part(3)});
                m.refunds.push_back({key(), part(3)});
                break;
            case 2:
                m.refunds.push_back({key(), part(6)});
                m.refunds.push_back({key(), part(6)});
                m.refunds.push_back({key(), std::nullopt});
                break;
            default: {
                const std::string first = key();
                m.refunds.push_back({first, part(2)});
                m.refunds.push_back({first, part(2) + 1});
                m.refunds.push_back({key(), std::nullopt});
                break;
            }
        }
        return m;
    }

    // ---- the services, wired to the bus ---------------------------------------------------
    void Wire() {
        relays_ = {
            {"orchestrator", &orchestrator_outbox_, 0, {}},
            {"risk", &risk_units_.Events(), 0, {}},
            {"provider", &provider_units_.Events(), 0, {}},
            {"ledger", &ledger_outbox_, 0, {}},
        };
        review_api_.AddRoutes(router_);

        const auto orchestrator = [this](const Envelope& e, bool crash) {
            const PaymentId id(e.aggregate_id);
            const auto before = payments_.Lock(id);
            RunUnit(payments_, orchestrator_outbox_, [&](auto& store, auto& outbox) {
                saga_.Handle(store, outbox, e);
                if (crash) {
                    throw Crash{};
                }
            });
            const auto after = payments_.Lock(id);
            if (before && after &&
                after->snapshot.state_version != before->snapshot.state_version) {
                Moved(id);
            }
            NoteRefundsEnded(id);
        };
        for (const std::string_view topic :
             {topics::kRiskApproved,
              topics::kRiskDenied,
              topics::kPaymentsAuthorized,
              topics::kProviderCaptureCompleted,
              topics::kProviderRefundCompleted,
              topics::kPaymentsFailed,
              topics::kPaymentsSettled}) {
            Subscribe(topic, "orchestrator", orchestrator);
        }
        Subscribe(topics::kPaymentsRequested, "risk", [this](const Envelope& e, bool crash) {
            risk_units_.Run([&](risk::RiskStore& store, Outbox& outbox) {
                risk_->OnPaymentRequested(store, outbox, e);
                if (crash) {
                    throw Crash{};
                }
            });
        });
        Subscribe(topics::kPaymentsFailed, "risk", [this](const Envelope& e, bool crash) {
            risk_units_.Run([&](risk::RiskStore&, Outbox&) {
                risk_->OnPaymentFailed(e);
                if (crash) {
                    throw Crash{};
                }
            });
        });
        const auto provider = [this](void (provider::ProviderHandler::*on)(const Envelope&)) {
            return [this, on](const Envelope& e, bool crash) {
                provider_units_.Run([&](provider::ProviderStore& store, Outbox& outbox) {
                    provider::ProviderHandler handler(provider_deps_, store, outbox);
                    (handler.*on)(e);
                    if (crash) {
                        throw Crash{};
                    }
                });
            };
        };
        Subscribe(
            topics::kProviderAuthorizeRequested,
            "provider",
            provider(&provider::ProviderHandler::OnAuthorizeRequested)
        );
        Subscribe(
            topics::kProviderCaptureRequested,
            "provider",
            provider(&provider::ProviderHandler::OnCaptureRequested)
        );
        Subscribe(
            topics::kProviderReleaseRequested,
            "provider",
            provider(&provider::ProviderHandler::OnReleaseRequested)
        );
        Subscribe(
            topics::kProviderRefundRequested,
            "provider",
            provider(&provider::ProviderHandler::OnRefundRequested)
        );
        Subscribe(topics::kPaymentsCaptured, "ledger", [this](const Envelope& e, bool crash) {
            RunUnit(book_, ledger_outbox_, [&](auto& book, auto& outbox) {
                ledger_.OnCaptured(book, outbox, e);
                if (crash) {
                    throw Crash{};
                }
            });
        });
        Subscribe(topics::kPaymentsReversed, "ledger", [this](const Envelope& e, bool crash) {
            RunUnit(book_, ledger_outbox_, [&](auto& book, auto&) {
                ledger_.OnReversed(book, e);
                if (crash) {
                    throw Crash{};
                }
            });
        });
        Subscribe(topics::kPaymentsRefunded, "ledger", [this](const Envelope& e, bool crash) {
            RunUnit(book_, ledger_outbox_, [&](auto& book, auto&) {
                ledger_.OnRefunded(book, e);
                if (crash) {
                    throw Crash{};
                }
            });
        });
        for (const std::string_view topic :
             {topics::kPaymentsSettled,
              topics::kPaymentsFailed,
              topics::kPaymentsReversed,
              topics::kPaymentsRefunded,
              topics::kRefundsFailed}) {
            Subscribe(topic, "notification", [this](const Envelope& e, bool crash) {
                RunUnit(notices_, notification_outbox_, [&](auto& store, auto&) {
                    notification_.Handle(store, e);
                    if (crash) {
                        throw Crash{};
                    }
                });
            });
        }
    }

    void Subscribe(
        std::string_view topic,
        const std::string& service,
        std::function<void(const Envelope&, bool)> handle
    ) {
        Group group;
        group.topic = std::string(topic);
        group.name = service + ":" + std::string(topic);
        group.handle = std::move(handle);
        groups_.push_back(std::move(group));
    }

    /// The payment changed state in a committed unit of work: the sweeper's clock restarts.
    void Moved(const PaymentId& id) {
        updated_at_[id] = clock_.Now();
        redrives_[id] = 0;
    }

    /// A unit of work of the saga committed: a refund of `id` that ended is timed.
    void NoteRefundsEnded(const PaymentId& id) {
        for (auto& [refund_id, made] : refunds_) {
            if (made.payment != id || ended_.contains(refund_id)) {
                continue;
            }
            const auto status = payments_.RefundStatusOf(refund_id);
            if (status && *status != orchestrator::RefundStatus::kPending) {
                ended_.insert(refund_id);
                made.updated_at = clock_.Now();
                made.touched_at = clock_.Now();
                Did(*status == orchestrator::RefundStatus::kSucceeded ? "refund_succeeded"
                                                                      : "refund_failed");
            }
        }
    }

    // ---- what may happen next ---------------------------------------------------------------
    /// What may happen now; `worker`: a PSP worker round too (not while one is on the wire in
    /// a nested round: two at once is enough).
    std::vector<std::function<void()>> Enabled(bool worker) {
        std::vector<std::function<void()>> out;
        const TimePoint now = clock_.Now();
        for (std::size_t i = 0; i < planned_.size(); ++i) {
            if (!planned_[i].answered && planned_[i].send_at <= now) {
                out.emplace_back([this, i] { Post(i); });
            }
        }
        for (std::size_t i = 0; i < merchant_.size(); ++i) {
            if (MerchantDue(i)) {
                out.emplace_back([this, i] { MerchantActs(i); });
            }
        }
        for (Group& g : groups_) {
            if (!Deliverable(g).empty()) {
                out.emplace_back([this, &g] { Deliver(g); });
            }
        }
        for (Relay& r : relays_) {
            if (r.sent < r.outbox->Published().size()) {
                out.emplace_back([this, &r] { Publish(r); });
            }
        }
        if (const auto due = worker ? ProviderNextDue() : std::nullopt; due && *due <= now) {
            out.emplace_back([this] { WorkDue(); });
        }
        if (next_sweep_ <= now && (AnyInFlight() || AnyRefundPending())) {
            out.emplace_back([this] { Sweep(); });
        }
        if (review_expiry_.count() > 0 && next_expiry_ <= now && !PendingReviews().empty()) {
            out.emplace_back([this] { Expire(); });
        }
        if (!PendingReviews().empty() && (calm_ || Chance(0.05))) {
            out.emplace_back([this] { DecideOne(); });
        }
        if (!replayable_.empty() && Chance(odds_.replay)) {
            out.emplace_back([this] { Replay(); });
        }
        for (std::size_t i = 0; i < replays_.size(); ++i) {
            if (replays_[i].first <= now) {
                out.emplace_back([this, i] { PublishReplay(i); });
            }
        }
        return out;
    }

    /// When something next becomes possible, if anything will.
    std::optional<TimePoint> NextTimer() {
        std::optional<TimePoint> next;
        const auto consider = [&next](std::optional<TimePoint> t) {
            if (t && (!next || *t < *next)) {
                next = t;
            }
        };
        for (const Planned& p : planned_) {
            if (!p.answered) {
                consider(p.send_at);
            }
        }
        for (const Group& g : groups_) {
            for (const auto& [position, pending] : g.pending) {
                consider(pending.visible_at);
            }
        }
        consider(ProviderNextDue());
        for (const auto& [at, envelope] : replays_) {
            consider(at);
        }
        for (std::size_t i = 0; i < merchant_.size(); ++i) {
            if (MerchantWaitsOnlyForTime(i)) {
                consider(merchant_[i].next_at);
            }
        }
        if (AnyInFlight() || AnyRefundPending()) {
            consider(next_sweep_);
        }
        if (review_expiry_.count() > 0 && !PendingReviews().empty()) {
            consider(next_expiry_);
        }
        return next;
    }

    std::vector<std::size_t> Deliverable(const Group& g) const {
        std::vector<std::size_t> out;
        for (std::size_t i = 0; i < std::min(kConsumerWindow, g.fresh.size()); ++i) {
            out.push_back(g.fresh[i]);
        }
        for (const auto& [position, pending] : g.pending) {
            if (pending.visible_at <= clock_.Now()) {
                out.push_back(position);
            }
        }
        return out;
    }

    /// When the provider's earliest payment falls due (what PspWork::NextDue reads, without the
    /// unit of work's copy of the store: this is asked at every step).
    std::optional<TimePoint> ProviderNextDue() { return provider_units_.Store().NextDue(); }

    std::vector<risk::Review> PendingReviews() {
        return risk_units_.Store().ListReviews(
            {.status = risk::ReviewStatus::kPending, .limit = 1000, .after = std::nullopt}
        );
    }

    bool AnyInFlight() {
        for (const PaymentId& id : payment_ids_) {
            const PaymentStatus status = payments_.StatusOf(id);
            if (!IsTerminal(status)) {
                return true;
            }
        }
        return false;
    }

    bool LoadDone() const {
        return std::all_of(planned_.begin(), planned_.end(), [](const Planned& p) {
            return p.answered;
        });
    }

    /// The load is over: the faults stop, and the reviews left are decided.
    void Calm() {
        calm_ = true;
        odds_ = Odds{};
        psp_.SetFaults({});
        Trace("load over: faults stop, every review left is decided");
    }

    bool Quiet() {
        for (const Group& g : groups_) {
            if (!g.fresh.empty() || !g.pending.empty()) {
                return false;
            }
        }
        for (const Relay& r : relays_) {
            if (r.sent < r.outbox->Published().size()) {
                return false;
            }
        }
        return replays_.empty() && !AnyInFlight() && PendingReviews().empty() &&
               !ProviderNextDue() && !AnyRefundPending() && !MerchantBusy();
    }

    void NoteCommits() {
        for (Relay& r : relays_) {
            while (r.committed_at.size() < r.outbox->Published().size()) {
                r.committed_at.push_back(clock_.Now());
            }
        }
    }

    // ---- the steps --------------------------------------------------------------------------
    /// The client's POST /payments, as the gateway and the orchestrator handle it: one
    /// transaction makes the payment (or finds the one made under the key) and its
    /// payments.requested event.
    void Post(std::size_t index) {
        Planned& p = planned_[index];
        p.posts += 1;
        if (Chance(odds_.gateway_crash)) {
            Count("gateway_crash_before_commit");
            Trace(fmt::format("POST {}: the service died before committing; retried", p.key));
            p.send_at = clock_.Now() + milliseconds(Between(100, 5'000));
            return;
        }
        PaymentId id;
        if (const auto known = keys_.find(p.key); known != keys_.end()) {
            id = known->second;
        } else {
            id = PaymentId(NewUuid());
            orchestrator::PaymentSnapshot snapshot;
            snapshot.payment_id = id;
            snapshot.customer_id = p.customer;
            snapshot.amount = p.amount;
            snapshot.capture_method = p.manual ? CaptureMethod::kManual : CaptureMethod::kAutomatic;
            RunUnit(payments_, orchestrator_outbox_, [&](auto& store, auto& outbox) {
                store.Add(snapshot);
                outbox.Emit(PaymentRequested{snapshot.Facts(), false}, id, NewUuid(), clock_);
            });
            keys_.emplace(p.key, id);
            payment_ids_.push_back(id);
            created_at_[id] = clock_.Now();
            Moved(id);
            Trace(fmt::format(
                "POST {} → payment {} ({} {} {})",
                p.key,
                Short(id.Value()),
                p.customer.Value(),
                p.amount.amount_minor,
                p.amount.currency.Code()
            ));
        }
        if (Chance(odds_.lost_answer)) {
            Count("gateway_answer_lost");
            p.send_at = clock_.Now() + milliseconds(Between(100, 5'000));
            return;
        }
        accepted_.push_back({p.key, id.Value()});
        if (Chance(odds_.double_post)) {
            Count("duplicate_post");
            p.send_at = clock_.Now() + milliseconds(Between(0, 10'000));
            return;
        }
        p.answered = true;
    }

    // ---- the merchant: manual captures and refunds through the orchestrator's API ----------
    /// The payment of planned `i`, once a POST of it was answered (the merchant knows its id).
    std::optional<PaymentId> KnownPayment(std::size_t i) const {
        const auto found = keys_.find(planned_[i].key);
        if (found == keys_.end()) {
            return std::nullopt;
        }
        for (const auto& a : accepted_) {
            if (a.payment_id == found->second.Value()) {
                return found->second;
            }
        }
        return std::nullopt;
    }

    static bool Settled(PaymentStatus status) {
        return status == PaymentStatus::kSettled || status == PaymentStatus::kPartiallyRefunded ||
               status == PaymentStatus::kRefunded;
    }
    static bool EndedUnpaid(PaymentStatus status) {
        return status == PaymentStatus::kFailed || status == PaymentStatus::kReversed;
    }

    /// The merchant still has something to do for planned `i` (or will, once it moves on).
    bool MerchantWants(std::size_t i) const {
        const MerchantPlan& m = merchant_[i];
        if (m.ManualLeft()) {
            return true;
        }
        if (!m.RefundsLeft()) {
            return false;
        }
        const auto id = KnownPayment(i);
        return !id || !EndedUnpaid(payments_.StatusOf(*id));
    }

    bool MerchantBusy() const {
        for (std::size_t i = 0; i < merchant_.size(); ++i) {
            if (MerchantWants(i)) {
                return true;
            }
        }
        return false;
    }

    /// What the merchant would send for planned `i` now, if anything (ignoring next_at): the
    /// manual capture or cancel once the payment was authorized (or ended), a refund once it
    /// settled.
    bool MerchantReady(std::size_t i) const {
        const MerchantPlan& m = merchant_[i];
        const auto id = KnownPayment(i);
        if (!id) {
            return false;
        }
        const PaymentStatus status = payments_.StatusOf(*id);
        if (m.ManualLeft()) {
            return status != PaymentStatus::kCreated && status != PaymentStatus::kRiskReview &&
                   status != PaymentStatus::kApproved;
        }
        return m.RefundsLeft() && Settled(status);
    }

    bool MerchantDue(std::size_t i) const {
        return MerchantReady(i) && merchant_[i].next_at <= clock_.Now();
    }

    /// Ready but waiting for its retry time: the clock may jump to it.
    bool MerchantWaitsOnlyForTime(std::size_t i) const {
        return MerchantReady(i) && merchant_[i].next_at > clock_.Now();
    }

    bool AnyRefundPending() const {
        for (const auto& [refund_id, made] : refunds_) {
            if (!ended_.contains(refund_id)) {
                return true;
            }
        }
        return false;
    }

    /// An answer of the orchestrator's API, as the gateway passes it on.
    struct ApiAnswer {
        int status = 200;
        std::string code;
        bool replayed = false;
        std::string refund_id;
    };

    /// Applies a command's plan as PaymentApi does (ApplyPlan): its steps, the rest recorded, its
    /// events in the outbox; `also` adds what the API writes beside it (a refund's row).
    template <class Also>
    void ApplyCommand(
        const PaymentId& id, const orchestrator::Plan& plan, bool crash, Also&& also
    ) {
        RunUnit(payments_, orchestrator_outbox_, [&](auto& store, auto& outbox) {
            auto locked = store.Lock(id);
            orchestrator::PaymentSnapshot& payment = locked->snapshot;
            for (const orchestrator::Step& step : plan.steps) {
                store.Apply(payment, step, EventId());
            }
            store.Record(payment, plan, EventId());
            for (const SagaEvent& emit : plan.emits) {
                outbox.Emit(emit, id, NewUuid(), clock_);
            }
            also(store);
            if (crash) {
                throw Crash{};
            }
        });
        if (!plan.steps.empty()) {
            Moved(id);
        }
    }

    /// The merchant sends its next command for planned `i`; the gateway or the client may lose
    /// it (sent again later, same key and body), the client may send it again on purpose.
    void MerchantActs(std::size_t i) {
        MerchantPlan& m = merchant_[i];
        const PaymentId id = *KnownPayment(i);
        if (Chance(odds_.gateway_crash)) {
            Count("merchant_call_crash_before_commit");
            m.next_at = clock_.Now() + milliseconds(Between(100, 5'000));
            return;
        }
        const bool crash = Chance(odds_.crash_before_commit);
        std::optional<ApiAnswer> answer;
        std::string what;
        try {
            if (m.ManualLeft()) {
                what = ManualCommand(i, id, crash, answer);
            } else {
                what = RefundCommand(i, id, crash, answer);
            }
        } catch (const Crash&) {
            Count("merchant_call_crash_before_commit");
            m.next_at = clock_.Now() + milliseconds(Between(100, 5'000));
            return;
        }
        Trace(fmt::format(
            "merchant {} {}: {}{}",
            what,
            Short(id.Value()),
            answer->status,
            answer->code.empty() ? "" : " " + answer->code
        ));
        if (Chance(odds_.lost_answer)) {
            Count("merchant_answer_lost");
            m.next_at = clock_.Now() + milliseconds(Between(100, 5'000));
            return;
        }
        // The answer heard: the command is done; sometimes the client sends it again.
        if (m.resend) {
            m.resend = false;
        } else if (Chance(odds_.double_post)) {
            Count("merchant_sent_again");
            m.resend = true;
            m.next_at = clock_.Now() + milliseconds(Between(0, 5'000));
            return;
        }
        Advance(m);
    }

    /// The plan's next command, once the last one's answer was heard.
    static void Advance(MerchantPlan& m) {
        if (m.ManualLeft()) {
            m.manual_step += 1;
        } else {
            m.next_refund += 1;
        }
    }

    /// The merchant's own expectation, or a surprise.
    void Expect(const std::string& what, const ApiAnswer& got, int status, const char* code) {
        if (got.status != status || (code != nullptr && got.code != code)) {
            unexpected_.push_back(fmt::format(
                "{}: answered {} {}, expected {} {}",
                what,
                got.status,
                got.code,
                status,
                code == nullptr ? "" : code
            ));
        }
    }

    static ApiAnswer Answered(const orchestrator::CommandPlan& command) {
        ApiAnswer a;
        if (command.refused) {
            a.status = command.refused->http_status;
            a.code = command.refused->code;
        }
        a.replayed = command.replay;
        return a;
    }

    /// POST …/capture or …/cancel of a manual payment: PlanCapture, PlanCancel.
    std::string ManualCommand(
        std::size_t i, const PaymentId& id, bool crash, std::optional<ApiAnswer>& answer
    ) {
        using Manual = MerchantPlan::Manual;
        MerchantPlan& m = merchant_[i];
        const orchestrator::PaymentSnapshot before = payments_.SnapshotOf(id);
        const bool cancel = m.manual == Manual::kCancel;
        // Another amount, or the cancel again (a refused first command is only sent again).
        const bool second = m.manual_step == 1 && !m.manual_refused;
        std::optional<std::int64_t> amount;
        if (m.manual == Manual::kCapturePart) {
            amount = m.capture + (second ? 1 : 0);
        }
        const orchestrator::CommandPlan command = cancel
                                                      ? orchestrator::PlanCancel(before, "canceled")
                                                      : orchestrator::PlanCapture(before, amount);
        if (!command.refused && !command.replay) {
            ApplyCommand(id, command.plan, crash, [](auto&) {});
        }
        answer = Answered(command);
        std::string what = cancel   ? (second ? "cancels again" : "cancels")
                           : second ? "captures another amount"
                                    : fmt::format("captures {}", amount.value_or(0));
        // What the merchant expects, from what it did: its first command is made while the
        // payment awaits it, replayed once made; refused once the payment ended without it.
        if (!second && !m.manual_committed) {
            // Voided by the window meanwhile: a cancel stands all the same.
            const bool voided = before.status == PaymentStatus::kReversed && cancel &&
                                before.capture_amount_minor == 0;
            if (before.AwaitingCapture() || voided) {
                Expect(what, *answer, 200, nullptr);
            } else {
                Expect(what, *answer, 409, nullptr);
            }
            if (answer->status == 200) {
                m.manual_committed = true;
                Did(cancel                             ? "manual_canceled"
                    : m.manual == Manual::kCapturePart ? "manual_captured_part"
                                                       : "manual_captured_all");
            } else {
                m.manual_step = 1;  // nothing to try twice: done after this answer
                m.manual_refused = true;
                Did("manual_refused");
            }
        } else if (!second) {
            Expect(what, *answer, 200, nullptr);  // the same command again: a replay
            if (!answer->replayed) {
                unexpected_.push_back(what + ": a repeat was not a replay");
            }
        } else if (cancel) {
            Expect(what, *answer, 200, nullptr);
            Did("manual_cancel_replayed");
        } else if (m.manual == Manual::kCapturePart) {
            Expect(what, *answer, 409, "capture_already_requested");
            Did("manual_capture_other_amount_409");
        } else {
            Expect(what, *answer, 200, nullptr);  // capture all again: a replay
        }
        return what;
    }

    /// POST …/refunds: the key looked up under the payment's lock (PaymentApi::Refund), else
    /// PlanRefund and, made, the refund's row beside the plan.
    std::string RefundCommand(
        std::size_t i, const PaymentId& id, bool crash, std::optional<ApiAnswer>& answer
    ) {
        MerchantPlan& m = merchant_[i];
        const MerchantRefund& r = m.refunds.at(m.next_refund);
        const std::string fingerprint = r.amount ? std::to_string(*r.amount) : std::string("all");
        std::string what =
            fmt::format("refunds {} under {}", r.amount ? std::to_string(*r.amount) : "all", r.key);
        // The merchant's expectation: what it captured, less its refunds not FAILED.
        const Planned& p = planned_[i];
        std::int64_t left =
            m.manual == MerchantPlan::Manual::kCapturePart ? m.capture : p.amount.amount_minor;
        const MadeRefund* same_key = nullptr;
        for (const auto& [refund_id, made] : refunds_) {
            if (made.payment != id) {
                continue;
            }
            if (made.key == r.key) {
                same_key = &made;
                answer = ApiAnswer{};
                answer->refund_id = refund_id;
            }
            if (payments_.RefundStatusOf(refund_id) != orchestrator::RefundStatus::kFailed) {
                left -= payments_.FindRefund(id, refund_id)->amount.amount_minor;
            }
        }
        if (same_key != nullptr) {
            if (same_key->fingerprint == fingerprint) {
                answer->replayed = true;
                Did("refund_replayed");
            } else {
                answer = ApiAnswer{422, "idempotency_key_reused", false, {}};
                Did("refund_key_reused_422");
            }
            return what;
        }
        const std::string refund_id = NewUuid();
        const orchestrator::PaymentSnapshot before = payments_.SnapshotOf(id);
        const orchestrator::CommandPlan command =
            orchestrator::PlanRefund(before, refund_id, r.amount, "sim");
        answer = Answered(command);
        const std::int64_t amount = r.amount.value_or(left);
        Expect(what, *answer, amount > 0 && amount <= left ? 200 : 409, nullptr);
        if (command.refused) {
            Did(fmt::format("refund_refused_{}", command.refused->code));
            return what;
        }
        const auto& requested = std::get<RefundRequested>(command.plan.emits.front());
        ApplyCommand(id, command.plan, crash, [&](orchestrator::InMemoryPaymentStore& store) {
            store.AddRefund(
                id,
                orchestrator::RefundSnapshot{
                    refund_id, requested.amount, orchestrator::RefundStatus::kPending, "sim"}
            );
        });
        refunds_[refund_id] =
            MadeRefund{id, r.key, fingerprint, clock_.Now(), clock_.Now(), clock_.Now()};
        answer->refund_id = refund_id;
        Did("refund_made");
        return what;
    }

    void Publish(Relay& relay) {
        const auto& committed = relay.outbox->Published();
        const std::size_t from = relay.sent;
        for (std::size_t i = from; i < committed.size(); ++i) {
            PublishOne(committed[i]);
        }
        if (Chance(odds_.duplicate_publish)) {
            Count("duplicate_publish");
            PublishOne(committed[from + Below(committed.size() - from)]);
        }
        if (Chance(odds_.relay_crash)) {
            Count("relay_crash_after_publish");
            Trace(fmt::format(
                "{} relay published {} and died before marking them sent",
                relay.service,
                committed.size() - from
            ));
            return;
        }
        relay.sent = committed.size();
    }

    void PublishOne(const Envelope& envelope) {
        auto& log = log_[envelope.event_type];
        log.push_back(EncodeEnvelope(envelope));
        for (Group& g : groups_) {
            if (g.topic == envelope.event_type) {
                g.fresh.push_back(log.size() - 1);
            }
        }
        if (envelope.event_type == topics::kPaymentsDlq) {
            auto dlq = DecodeEvent<DlqRecorded>(envelope);
            dead_letters_.push_back(
                {std::string(topics::kPaymentsDlq),
                 dlq ? dlq->error_type : "undecodable",
                 envelope.aggregate_id}
            );
            if (dlq && dlq->failed_event && !dlq->replay_topic.empty()) {
                replayable_.push_back(
                    {dlq->replay_topic,
                     nlohmann::json::parse(EncodeEnvelope(*dlq->failed_event)),
                     0}
                );
            }
        }
    }

    void Deliver(Group& g) {
        const std::vector<std::size_t> candidates = Deliverable(g);
        const std::size_t position = candidates[Below(candidates.size())];
        const TimePoint now = clock_.Now();
        // Every publication has its own position (a duplicate too): fresh or pending, never both.
        if (const auto fresh = std::find(g.fresh.begin(), g.fresh.end(), position);
            fresh != g.fresh.end()) {
            g.fresh.erase(fresh);
            g.pending[position] = {now + kVisibilityTimeout, 1, std::nullopt, 0};
        } else {
            Count("redelivery");
            auto& pending = g.pending[position];
            pending.deliveries += 1;
            pending.visible_at = now + kVisibilityTimeout;
        }
        auto decoded = DecodeEnvelope(log_[g.topic][position]);
        if (!decoded) {
            Park(g, position, "", "undecodable envelope: " + decoded.error().message);
            return;
        }
        const Envelope& e = *decoded;
        if (inbox_ && g.inbox.contains(e.event_id)) {
            g.pending.erase(position);  // the inbox absorbs the redelivery
            return;
        }
        const bool crash = Chance(odds_.crash_before_commit);
        try {
            g.handle(e, crash);
        } catch (const Crash&) {
            Count("crash_before_commit");
            Trace(fmt::format("{} {}: died before the commit", g.name, Short(e.aggregate_id)));
            return;
        } catch (const Exception& error) {
            Failed(g, position, e, error.Code(), error.what());
            return;
        } catch (const std::exception& error) {
            Failed(g, position, e, ErrorCode::kInternal, error.what());
            return;
        }
        g.inbox.insert(e.event_id);
        Trace(fmt::format("{} {} handled", g.name, Short(e.aggregate_id)));
        if (Chance(odds_.crash_before_ack)) {
            Count("crash_before_ack");
            return;  // redelivered after the visibility timeout; the inbox absorbs it
        }
        g.pending.erase(position);
    }

    /// The handler failed: parked at once when the event itself is wrong, else tried again
    /// later and parked once it has failed for the redelivery policy's horizon (as
    /// RunEventConsumer does).
    void Failed(
        Group& g, std::size_t position, const Envelope& e, ErrorCode code, const std::string& what
    ) {
        Count("handler_error");
        Trace(fmt::format("{} {}: handler failed: {}", g.name, Short(e.aggregate_id), what));
        if (ActionForFailure(code) == FailureAction::kDeadLetterNow) {
            Park(g, position, e.aggregate_id, what);
            return;
        }
        auto& pending = g.pending[position];
        const TimePoint now = clock_.Now();
        pending.failures += 1;
        if (!pending.first_failure) {
            pending.first_failure = now;
        } else if (redelivery_.ParkNow(*pending.first_failure, now)) {
            Park(g, position, e.aggregate_id, what);
            return;
        }
        pending.visible_at =
            now + std::max(kVisibilityTimeout, redelivery_.DelayAfter(pending.failures));
    }

    void Park(Group& g, std::size_t position, const std::string& payment, const std::string& why) {
        dead_letters_.push_back({g.topic, why, payment});
        g.pending.erase(position);
    }

    /// A PSP call is on the wire: the PSP may be slow, and the rest of the system moves on.
    void InFlight() {
        if (nesting_ >= 2) {
            return;
        }
        if (Chance(odds_.slow_psp)) {
            Count("slow_psp_call");
            clock_.Advance(milliseconds(Between(1'000, 12'000)));
        }
        if (!Chance(odds_.interleave)) {
            return;
        }
        Count("interleaved_steps");
        ++nesting_;
        const auto steps = static_cast<int>(Between(1, 4));
        for (int i = 0; i < steps; ++i) {
            NoteCommits();
            auto enabled = Enabled(nesting_ < 2);
            if (enabled.empty()) {
                break;
            }
            enabled[Below(enabled.size())]();
        }
        --nesting_;
    }

    /// A PSP worker's round: claim, call (the network may lose either way, the worker may die
    /// after a call), record.
    void WorkDue() {
        // As psp_worker: a batch of due payments, then one of due refunds.
        int crash_on = Chance(odds_.worker_crash) ? static_cast<int>(Below(2)) : -1;
        provider_crashing_.CrashOn(crash_on);
        try {
            const int worked =
                provider::PspWork(provider_deps_, provider_crashing_).WorkDue(kProviderBatch);
            Trace(fmt::format("psp worker worked {} payments", worked));
        } catch (const Crash&) {
            Count(crash_on == 0 ? "worker_crash_in_claim" : "worker_crash_before_record");
            Trace("psp worker died");
            provider_crashing_.CrashOn(-1);
            return;
        }
        crash_on = Chance(odds_.worker_crash) ? static_cast<int>(Below(2)) : -1;
        provider_crashing_.CrashOn(crash_on);
        try {
            const int worked =
                provider::RefundWork(provider_deps_, provider_crashing_).WorkDue(kProviderBatch);
            if (worked > 0) {
                Trace(fmt::format("psp worker worked {} refunds", worked));
            }
        } catch (const Crash&) {
            Count(
                crash_on == 0 ? "refund_worker_crash_in_claim" : "refund_worker_crash_before_record"
            );
            Trace("psp worker died among refunds");
        }
        provider_crashing_.CrashOn(-1);
    }

    /// The sweeper's round, by its own rule (IsStuck) and re-emission (PendingStepRequest).
    void Sweep() {
        const TimePoint now = clock_.Now();
        next_sweep_ = now + kSweepInterval;
        std::vector<orchestrator::PaymentSnapshot> stuck;
        std::vector<PaymentId> expired;
        for (const PaymentId& id : payment_ids_) {
            const auto locked = payments_.Lock(id);
            if (!locked) {
                continue;
            }
            // A manual capture waits on the merchant, not on the saga: never re-driven, voided
            // once the capture window ends (the sweeper's VoidExpiredAuthorizations).
            if (locked->snapshot.AwaitingCapture()) {
                if (now - updated_at_[id] > kCaptureWindow) {
                    expired.push_back(id);
                }
            } else if (orchestrator::IsStuck(
                           locked->snapshot.status, updated_at_[id], now, kStuckAfter, redrives_[id]
                       )) {
                stuck.push_back(locked->snapshot);
            }
        }
        // The refunds PENDING and idle past kStuckAfter: their request is emitted again
        // (RedriveStuckRefunds).
        std::vector<std::string> idle;
        for (const auto& [refund_id, made] : refunds_) {
            if (!ended_.contains(refund_id) &&
                payments_.RefundStatusOf(refund_id) == orchestrator::RefundStatus::kPending &&
                now - made.touched_at > kStuckAfter) {
                idle.push_back(refund_id);
            }
        }
        if (stuck.empty() && expired.empty() && idle.empty()) {
            return;
        }
        const bool crash = Chance(odds_.crash_before_commit);
        try {
            RunUnit(payments_, orchestrator_outbox_, [&](auto& store, auto& outbox) {
                for (const auto& p : stuck) {
                    if (const auto request = orchestrator::PendingStepRequest(p)) {
                        outbox.Emit(*request, p.payment_id, NewUuid(), clock_);
                    }
                }
                for (const PaymentId& id : expired) {
                    auto locked = store.Lock(id);
                    orchestrator::PaymentSnapshot& payment = locked->snapshot;
                    const orchestrator::CommandPlan command =
                        orchestrator::PlanCancel(payment, "authorization_expired");
                    if (command.refused || command.replay) {
                        continue;
                    }
                    for (const orchestrator::Step& step : command.plan.steps) {
                        store.Apply(payment, step, EventId());
                    }
                    store.Record(payment, command.plan, EventId());
                    for (const SagaEvent& emit : command.plan.emits) {
                        outbox.Emit(emit, id, NewUuid(), clock_);
                    }
                }
                for (const std::string& refund_id : idle) {
                    const MadeRefund& made = refunds_.at(refund_id);
                    const auto refund = store.FindRefund(made.payment, refund_id);
                    const orchestrator::PaymentSnapshot& payment =
                        payments_.SnapshotOf(made.payment);
                    outbox.Emit(
                        RefundRequested{
                            refund_id, refund->amount, payment.customer_id, refund->reason},
                        made.payment,
                        NewUuid(),
                        clock_
                    );
                }
                if (crash) {
                    throw Crash{};
                }
            });
        } catch (const Crash&) {
            Count("crash_before_commit");
            return;
        }
        for (const auto& p : stuck) {
            updated_at_[p.payment_id] = now;
            redrives_[p.payment_id] += 1;
            Trace(fmt::format(
                "sweeper re-drove {} in {}", Short(p.payment_id.Value()), ToString(p.status)
            ));
        }
        for (const PaymentId& id : expired) {
            Moved(id);
            Did("manual_voided_at_window_end");
            Trace(fmt::format("sweeper voided {}: capture window over", Short(id.Value())));
        }
        for (const std::string& refund_id : idle) {
            refunds_.at(refund_id).touched_at = now;
            Trace(fmt::format("sweeper re-drove refund {}", Short(refund_id)));
        }
        if (!stuck.empty() || !idle.empty()) {
            Count("sweeper_redrive");
        }
    }

    void Expire() {
        next_expiry_ = clock_.Now() + kExpiryInterval;
        risk::ReviewExpiry expiry(
            risk_units_,
            clock_,
            {.expire_after = review_expiry_, .interval = kExpiryInterval, .batch = 100}
        );
        if (const std::int64_t expired = expiry.RunOnce(); expired > 0) {
            Trace(fmt::format("review expiry denied {}", expired));
        }
    }

    /// An operator decides a pending review through the risk ops API (sometimes twice: a double
    /// click gets 409).
    void DecideOne() {
        const auto pending = PendingReviews();
        const risk::Review& review = pending[Below(pending.size())];
        const bool approve = Chance(0.6);
        const int times = Chance(odds_.double_decision) ? 2 : 1;
        for (int i = 0; i < times; ++i) {
            http::Request request;
            request.method = "POST";
            request.path = fmt::format(
                "/ops/reviews/{}/{}", review.payment_id.Value(), approve ? "approve" : "deny"
            );
            request.headers = {{"x-api-key", kOpsKey}, {"content-type", "application/json"}};
            request.body = R"({"reviewed_by":"sim-operator"})";
            const http::Response response = router_.Dispatch(request);
            Trace(fmt::format(
                "operator {} {}: {}",
                approve ? "approves" : "denies",
                Short(review.payment_id.Value()),
                response.status
            ));
            if (response.status != (i == 0 ? 200 : 409)) {
                unexpected_.push_back(fmt::format(
                    "review decision {} answered {}: {}", i + 1, response.status, response.body
                ));
            }
        }
    }

    /// An operator replays a dead letter as `sagapay replay-dlq` does: refused unless the
    /// orchestrator shows the payment still waiting for that step (ReplayRefusal), and published
    /// a while after that check: the payment may have moved on meanwhile.
    void Replay() {
        Replayable& r = replayable_[Below(replayable_.size())];
        if (r.replays >= 2) {
            return;
        }
        r.replays += 1;
        const std::string payment = r.failed_event.value("aggregate_id", "");
        const auto locked = payments_.Lock(PaymentId(payment));
        const http::ClientResult answer =
            locked ? http::ClientResult(http::Response{
                         200,
                         nlohmann::json{{"status", ToString(locked->snapshot.status)}}.dump(),
                         "application/json",
                         {}})
                   : http::ClientResult(http::Response{404, "{}", "application/json", {}});
        if (const auto refusal = app::ReplayRefusal(r.topic, answer)) {
            Count("replay_refused");
            Trace(fmt::format(
                "operator replay of {} {} refused: {}", r.topic, Short(payment), *refusal
            ));
            return;
        }
        Count("replay");
        auto replay = DecodeEnvelope(app::ReplayEnvelope(r.failed_event).dump());
        if (replay) {
            replays_.emplace_back(clock_.Now() + milliseconds(Between(0, 20'000)), *replay);
            Trace(fmt::format("operator replays {} {}", r.topic, Short(payment)));
        }
    }

    void PublishReplay(std::size_t index) {
        const Envelope envelope = replays_[index].second;
        replays_.erase(replays_.begin() + static_cast<std::ptrdiff_t>(index));
        PublishOne(envelope);
    }

    // ---- the picture the checker reads ------------------------------------------------------
    invariants::Snapshot Picture() {
        invariants::Snapshot s;
        for (const PaymentId& id : payment_ids_) {
            const auto locked = payments_.Lock(id);
            const auto review = risk_units_.Store().ReviewOf(id);
            std::string key;
            for (const auto& [k, v] : keys_) {
                if (v == id) {
                    key = k;
                }
            }
            s.payments.push_back({
                .payment_id = id.Value(),
                .idempotency_key = key,
                .status = locked->snapshot.status,
                .amount_minor = locked->snapshot.amount.amount_minor,
                .currency = locked->snapshot.amount.currency.CodeString(),
                .created_at = created_at_[id],
                .updated_at = updated_at_[id],
                .awaiting_review = review && review->status == risk::ReviewStatus::kPending,
                .capture_method = locked->snapshot.capture_method,
                .awaiting_capture = locked->snapshot.AwaitingCapture(),
                .capture_requested_minor = locked->snapshot.capture_amount_minor,
                .captured_minor = locked->snapshot.captured_minor > 0
                                      ? std::optional(locked->snapshot.captured_minor)
                                      : std::nullopt,
                .refunded_minor = locked->snapshot.refunded_minor,
                .refund_reserved_minor = locked->snapshot.refund_reserved_minor,
            });
        }
        for (const auto& [refund_id, made] : refunds_) {
            const auto refund = payments_.FindRefund(made.payment, refund_id);
            if (!refund) {
                continue;  // its command crashed before commit
            }
            s.refunds.push_back({
                .refund_id = refund_id,
                .payment_id = made.payment.Value(),
                .amount_minor = refund->amount.amount_minor,
                .currency = refund->amount.currency.CodeString(),
                .status = refund->status == orchestrator::RefundStatus::kPending
                              ? invariants::RefundState::kPending
                          : refund->status == orchestrator::RefundStatus::kSucceeded
                              ? invariants::RefundState::kSucceeded
                              : invariants::RefundState::kFailed,
                .created_at = made.created_at,
                .updated_at = made.updated_at,
            });
        }
        s.accepted = accepted_;
        for (const auto& record : psp_.Books().Records()) {
            s.psp.push_back({
                .payment_id = record.at("payment_id").get<std::string>(),
                .key = record.at("idempotency_key").get<std::string>(),
                .state = invariants::ParsePspState(record.at("status").get<std::string>())
                             .value_or(invariants::PspState::kAuthorized),
                .captures = record.at("captures").get<int>(),
                .amount_minor = record.at("amount_cents").get<std::int64_t>(),
                .currency = record.at("currency").get<std::string>(),
            });
            invariants::PspRecord& r = s.psp.back();
            if (r.captures > 0) {
                r.captured_minor = record.at("captured_amount_cents").get<std::int64_t>();
            }
            r.refunded_minor = record.at("refunded_amount_cents").get<std::int64_t>();
            for (const auto& refund : record.at("refunds")) {
                r.refunds.push_back(
                    {refund.at("refund_key").get<std::string>(),
                     refund.at("amount_cents").get<std::int64_t>()}
                );
            }
        }
        std::map<std::string, invariants::CurrencyTotals> totals;
        const auto add_totals = [&](const std::vector<ledger::Posting>& lines) {
            for (const auto& line : lines) {
                auto& t = totals[line.currency];
                t.currency = line.currency;
                (line.direction == ledger::Direction::kDebit ? t.debits_minor : t.credits_minor) +=
                    line.amount_minor;
            }
        };
        for (const auto& [key, stored] : book_.Postings()) {
            const auto& lines = stored.entry.postings;
            s.postings.push_back({
                .payment_id = key.first.Value(),
                .purpose = key.second == ledger::Purpose::kSettlement
                               ? invariants::PostingPurpose::kSettlement
                               : invariants::PostingPurpose::kReversal,
                .amount_minor = lines.front().amount_minor,
                .currency = lines.front().currency,
            });
            add_totals(lines);
        }
        for (const auto& [transaction_id, refund] : book_.Refunds()) {
            const auto& lines = refund.stored.entry.postings;
            // refund:<payment>:<refund id>
            const std::string prefix = "refund:" + refund.payment.Value() + ":";
            s.postings.push_back({
                .payment_id = refund.payment.Value(),
                .purpose = invariants::PostingPurpose::kRefund,
                .amount_minor = lines.front().amount_minor,
                .currency = lines.front().currency,
                .refund_id = transaction_id.starts_with(prefix)
                                 ? transaction_id.substr(prefix.size())
                                 : std::string(),
            });
            add_totals(lines);
        }
        for (const auto& [currency, t] : totals) {
            s.ledger_totals.push_back(t);
        }
        for (const auto& [key, n] : notices_.Recorded()) {
            s.notices.push_back({
                key.first.Value(),
                key.second == notification::Outcome::kSettled
                    ? invariants::NotifiedOutcome::kSettled
                : key.second == notification::Outcome::kFailed
                    ? invariants::NotifiedOutcome::kFailed
                    : invariants::NotifiedOutcome::kReversed,
            });
        }
        for (const auto& [key, n] : notices_.RecordedRefunds()) {
            s.notices.push_back({
                n.payment_id.Value(),
                key.second == notification::Outcome::kPartiallyRefunded
                    ? invariants::NotifiedOutcome::kPartiallyRefunded
                : key.second == notification::Outcome::kRefunded
                    ? invariants::NotifiedOutcome::kRefunded
                    : invariants::NotifiedOutcome::kRefundFailed,
                key.first,
            });
        }
        for (const Relay& r : relays_) {
            const std::size_t unsent = r.outbox->Published().size() - r.sent;
            if (unsent > 0) {
                s.outbox.push_back(
                    {r.service, static_cast<std::int64_t>(unsent), r.committed_at[r.sent]}
                );
            }
        }
        s.dead_letters = dead_letters_;
        return s;
    }

    invariants::Options CheckOptions() const {
        invariants::Options o;
        o.now = clock_.Now();
        o.stuck_after = milliseconds(0);  // faults stopped and everything came to rest
        o.outbox_after = milliseconds(0);
        o.capture_window = kCaptureWindow;
        return o;
    }

    Options options_;
    std::mt19937_64 rng_;
    std::mt19937_64 id_rng_;
    ScopedUuidSource ids_;
    testing::FakeClock clock_;
    const TimePoint start_ = testing::FakeClock::kStart;
    Odds odds_;
    risk::RiskThresholds thresholds_;
    seconds review_expiry_{0};
    std::map<std::string, std::int64_t> faults_;
    std::vector<std::string> trace_;
    std::vector<std::string> unexpected_;
    std::map<std::string, std::int64_t> activity_;  ///< What the merchant and the saga did.

    // The client and the gateway.
    std::vector<Planned> planned_;
    std::map<std::string, PaymentId> keys_;
    std::vector<PaymentId> payment_ids_;
    std::vector<invariants::Accepted> accepted_;
    /// The merchant: what it does with planned payment i once accepted (manual capture, refunds).
    std::vector<MerchantPlan> merchant_;
    std::map<std::string, MadeRefund> refunds_;  ///< By refund id: every refund made.
    std::set<std::string> ended_;                ///< Refunds seen SUCCEEDED or FAILED.

    // The orchestrator.
    QuietObserver observer_;
    orchestrator::SagaHandler saga_{clock_, observer_};
    orchestrator::InMemoryPaymentStore payments_;
    testing::RecordingOutbox orchestrator_outbox_;
    std::map<PaymentId, TimePoint> created_at_;
    std::map<PaymentId, TimePoint> updated_at_;
    std::map<PaymentId, int> redrives_;
    TimePoint next_sweep_ = start_;

    // Risk.
    risk::InMemoryVelocityCounter velocity_;
    risk::InMemoryRiskUnitsOfWork risk_units_;
    std::optional<risk::RiskHandler> risk_;  ///< Made once the thresholds are drawn.
    risk::ReviewApi review_api_{risk_units_, clock_, kOpsKey};
    http::Router router_;
    TimePoint next_expiry_ = start_;

    // The provider and the PSP.
    SimPsp psp_;
    provider::InMemoryProviderUnitsOfWork provider_units_;
    CrashingProviderUnits provider_crashing_;
    provider::ProviderDeps provider_deps_{clock_, psp_, {}, {}, kProviderLease};

    // The ledger and notifications.
    ledger::LedgerHandler ledger_{clock_};
    ledger::InMemoryLedgerBook book_;
    testing::RecordingOutbox ledger_outbox_;
    notification::NotificationHandler notification_;
    notification::InMemoryNotificationStore notices_;
    testing::RecordingOutbox notification_outbox_;

    // The bus.
    std::vector<Relay> relays_;
    std::vector<Group> groups_;
    std::map<std::string, std::vector<std::string>> log_;
    std::vector<invariants::DeadLetter> dead_letters_;
    RedeliveryPolicy redelivery_;
    bool inbox_ = true;
    bool calm_ = false;
    int nesting_ = 0;  ///< Steps running while a PSP call is on the wire.

    // The operator's replays of dead letters.
    struct Replayable {
        std::string topic;
        nlohmann::json failed_event;
        int replays = 0;
    };
    std::vector<Replayable> replayable_;
    std::vector<std::pair<TimePoint, Envelope>> replays_;  ///< Checked, not yet published.
};

}  // namespace

std::string Result::Summary() const {
    std::ostringstream out;
    if (Ok()) {
        out << fmt::format(
            "seed {}: ok ({} payments, {} steps, {:.1f} s simulated)",
            seed,
            payments,
            steps,
            static_cast<double>(simulated_ms) / 1000
        );
        return out.str();
    }
    out << fmt::format("seed {}: FAILED", seed);
    if (!quiesced) {
        out << fmt::format(" (no rest after {} steps)", steps);
    }
    out << '\n';
    for (const auto& v : report.violations) {
        out << "  " << invariants::Describe(v) << '\n';
    }
    for (const auto& surprise : surprises) {
        out << "  unexpected: " << surprise << '\n';
    }
    out << fmt::format("  replay: make simulate SEED={}  (prints every step)", seed);
    return out.str();
}

Result Simulate(const Options& options) {
    return World(options).Run();
}

}  // namespace sagapay::sim
