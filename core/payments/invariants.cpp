#include "core/payments/invariants.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstddef>
#include <set>
#include <unordered_map>
#include <utility>

#include <fmt/format.h>

namespace sagapay::invariants {
namespace {

using std::chrono::duration_cast;
using std::chrono::milliseconds;

constexpr std::array<std::pair<PspState, std::string_view>, 5> kPspStates{{
    {PspState::kAuthorized, "AUTHORIZED"},
    {PspState::kDeclined, "DECLINED"},
    {PspState::kCaptured, "CAPTURED"},
    {PspState::kVoided, "VOIDED"},
    {PspState::kRefunded, "REFUNDED"},
}};

constexpr std::array<std::pair<RefundState, std::string_view>, 3> kRefundStates{{
    {RefundState::kPending, "PENDING"},
    {RefundState::kSucceeded, "SUCCEEDED"},
    {RefundState::kFailed, "FAILED"},
}};

/// The name of `value` in a table of (value, name) pairs, UNKNOWN when it has none.
template <class Table, class Value>
std::string_view NameIn(const Table& table, Value value) noexcept {
    for (const auto& [v, name] : table) {
        if (v == value) {
            return name;
        }
    }
    return "UNKNOWN";
}

/// The value named `text` in a table of (value, name) pairs.
template <class Table>
auto ValueIn(const Table& table, std::string_view text) noexcept
    -> std::optional<typename Table::value_type::first_type> {
    for (const auto& [value, name] : table) {
        if (name == text) {
            return value;
        }
    }
    return std::nullopt;
}

/// SETTLED, or refunded (in part or in full) since: the payment was paid and settled.
bool Settled(PaymentStatus status) noexcept {
    return status == PaymentStatus::kSettled || status == PaymentStatus::kPartiallyRefunded ||
           status == PaymentStatus::kRefunded;
}

bool EndedUnpaid(PaymentStatus status) noexcept {
    return status == PaymentStatus::kFailed || status == PaymentStatus::kReversed;
}

bool IsFinal(PaymentStatus status) noexcept {
    return Settled(status) || EndedUnpaid(status);
}

bool IsRefundOutcome(NotifiedOutcome outcome) noexcept {
    return outcome == NotifiedOutcome::kPartiallyRefunded ||
           outcome == NotifiedOutcome::kRefunded || outcome == NotifiedOutcome::kRefundFailed;
}

std::string Amount(std::int64_t minor, const std::string& currency) {
    return fmt::format("{} {}", minor, currency);
}

std::string Lower(std::string text) {
    std::transform(text.begin(), text.end(), text.begin(), [](char c) {
        return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    });
    return text;
}

/// What the payment captured: as recorded, else (a picture without the column) its amount.
std::int64_t CapturedOf(const Payment& p) noexcept {
    return p.captured_minor.value_or(p.amount_minor);
}

/// What the PSP's capture under `r` took.
std::int64_t PspCaptured(const PspRecord& r) noexcept {
    return r.captured_minor.value_or(r.amount_minor);
}

/// What the PSP refunded under `r` (a record that says REFUNDED and no amount: all it captured).
std::int64_t PspRefunded(const PspRecord& r) noexcept {
    if (r.state == PspState::kRefunded && r.refunded_minor == 0 && r.refunds.empty()) {
        return PspCaptured(r);
    }
    return r.refunded_minor;
}

/// Everything known about one payment, gathered from every part of the snapshot.
struct Facts {
    const Payment* payment = nullptr;
    std::vector<const PspRecord*> psp;
    std::vector<const Posting*> settlements;
    std::vector<const Posting*> reversals;
    std::vector<const Posting*> refund_postings;
    std::set<NotifiedOutcome> notices;
    std::vector<const Refund*> refunds;
};

/// A payment's refunds summed: SUCCEEDED, PENDING (a late-read refund counts as PENDING: in
/// flight), as the checks need them.
struct RefundSums {
    std::int64_t succeeded = 0;
    std::int64_t pending = 0;
    std::int64_t late = 0;  ///< Read late and not FAILED: may be made at the PSP by now.
};

class Checker {
public:
    Checker(const Snapshot& snapshot, const Options& options) : s_(snapshot), o_(options) {}

    Report Run() {
        Index();
        CheckAccepted();
        CheckKeys();
        std::vector<milliseconds> to_final;
        for (auto& [id, facts] : by_payment_) {
            if (facts.payment == nullptr) {
                Orphan(id, facts);
                continue;
            }
            const Payment& p = *facts.payment;
            report_.by_status[p.status] += 1;
            if (IsFinal(p.status)) {
                if (p.status != PaymentStatus::kPartiallyRefunded &&
                    p.status != PaymentStatus::kRefunded) {
                    to_final.push_back(duration_cast<milliseconds>(p.updated_at - p.created_at));
                }
            } else {
                InFlight(p);
            }
            const bool settling = IsFinal(p.status) && o_.now - p.updated_at < o_.grace;
            report_.settling += settling ? 1 : 0;
            const RefundSums sums = Sum(facts);
            if (o_.checks.refunds) {
                CheckCaptured(p);
                CheckRefunds(p, facts, sums);
            }
            if (o_.checks.psp) {
                CheckPsp(p, facts, settling);
                if (o_.checks.refunds) {
                    CheckPspRefunds(p, facts, sums);
                }
            }
            if (o_.checks.ledger) {
                CheckPostings(p, facts);
                if (o_.checks.refunds) {
                    CheckRefundPostings(p, facts);
                }
            }
            if (o_.checks.notices && !settling) {
                CheckNotices(p, facts);
            }
            if (o_.checks.notices && o_.checks.refunds) {
                CheckRefundNotices(p, facts);
            }
        }
        if (o_.checks.ledger) {
            CheckTotals();
        }
        if (o_.checks.outbox) {
            CheckOutbox();
        }
        if (o_.checks.dead_letters) {
            CheckDeadLetters();
        }
        Percentiles(to_final);
        return std::move(report_);
    }

private:
    void Add(Kind kind, std::string payment_id, std::string detail) {
        report_.violations.push_back({kind, std::move(payment_id), std::move(detail)});
    }

    void Index() {
        for (const Payment& p : s_.payments) {
            by_payment_[p.payment_id].payment = &p;
        }
        if (o_.checks.refunds) {
            for (const Refund& r : s_.refunds) {
                by_payment_[r.payment_id].refunds.push_back(&r);
                refunds_.emplace(Lower(r.refund_id), &r);
                if (!r.read_late) {
                    report_.refunds_by_status[r.status] += 1;
                }
            }
        }
        if (o_.checks.psp) {
            for (const PspRecord& r : s_.psp) {
                by_payment_[r.payment_id].psp.push_back(&r);
            }
        }
        if (o_.checks.ledger) {
            for (const Posting& posting : s_.postings) {
                auto& facts = by_payment_[posting.payment_id];
                switch (posting.purpose) {
                    case PostingPurpose::kSettlement:
                        facts.settlements.push_back(&posting);
                        break;
                    case PostingPurpose::kReversal:
                        facts.reversals.push_back(&posting);
                        break;
                    case PostingPurpose::kRefund:
                        facts.refund_postings.push_back(&posting);
                        break;
                }
            }
        }
        if (o_.checks.notices) {
            for (const Notice& n : s_.notices) {
                if (IsRefundOutcome(n.outcome)) {
                    refund_notices_[Lower(n.refund_id)].insert(n.outcome);
                } else {
                    by_payment_[n.payment_id].notices.insert(n.outcome);
                }
            }
        }
    }

    /// The refund `id` names, if it is one of `payment`'s.
    [[nodiscard]] const Refund* RefundOf(const Payment& payment, const std::string& id) const {
        const auto found = refunds_.find(Lower(id));
        if (found == refunds_.end() || found->second->payment_id != payment.payment_id) {
            return nullptr;
        }
        return found->second;
    }

    static RefundSums Sum(const Facts& facts) {
        RefundSums sums;
        for (const Refund* r : facts.refunds) {
            if (r->read_late) {
                sums.late += r->status == RefundState::kFailed ? 0 : r->amount_minor;
            } else if (r->status == RefundState::kSucceeded) {
                sums.succeeded += r->amount_minor;
            } else if (r->status == RefundState::kPending) {
                sums.pending += r->amount_minor;
            }
        }
        return sums;
    }

    void CheckAccepted() {
        if (!o_.checks.accepted) {
            return;
        }
        std::unordered_map<std::string, std::string> told;  // key → the payment id told
        for (const Accepted& a : s_.accepted) {
            const auto [it, fresh] = told.emplace(a.idempotency_key, a.payment_id);
            if (!fresh && it->second != a.payment_id) {
                Add(Kind::kAcceptedOtherPayment,
                    a.payment_id,
                    fmt::format(
                        "idempotency key {} was answered with {} and {}",
                        a.idempotency_key,
                        it->second,
                        a.payment_id
                    ));
            }
            const auto found = by_payment_.find(a.payment_id);
            if (found == by_payment_.end() || found->second.payment == nullptr) {
                Add(Kind::kAcceptedMissing,
                    a.payment_id,
                    fmt::format(
                        "accepted under key {}, unknown to the orchestrator", a.idempotency_key
                    ));
            } else if (found->second.payment->idempotency_key != a.idempotency_key) {
                Add(Kind::kAcceptedOtherPayment,
                    a.payment_id,
                    fmt::format(
                        "accepted under key {}, stored under key {}",
                        a.idempotency_key,
                        found->second.payment->idempotency_key
                    ));
            }
        }
    }

    void CheckKeys() {
        std::unordered_map<std::string, const Payment*> by_key;
        for (const Payment& p : s_.payments) {
            if (p.idempotency_key.empty()) {
                continue;
            }
            const auto [it, fresh] = by_key.emplace(p.idempotency_key, &p);
            if (!fresh) {
                Add(Kind::kDuplicateIdempotencyKey,
                    p.payment_id,
                    fmt::format("key {} also names {}", p.idempotency_key, it->second->payment_id));
            }
        }
    }

    void InFlight(const Payment& p) {
        if (p.awaiting_review) {
            report_.awaiting_review += 1;
            return;
        }
        const auto idle = duration_cast<milliseconds>(o_.now - p.updated_at);
        if (p.awaiting_capture) {
            report_.awaiting_capture += 1;
            if (idle > o_.capture_window) {
                Add(Kind::kStuck,
                    p.payment_id,
                    fmt::format(
                        "AUTHORIZED awaiting its manual capture for {} ms, past the capture "
                        "window of {} ms (the sweeper voids it then)",
                        idle.count(),
                        o_.capture_window.count()
                    ));
            }
            return;
        }
        report_.oldest_in_flight = std::max(report_.oldest_in_flight, idle);
        if (o_.stuck_after.count() == 0 || idle > o_.stuck_after) {
            Add(Kind::kStuck,
                p.payment_id,
                fmt::format("{} for {} ms", ToString(p.status), idle.count()));
        }
    }

    /// The orchestrator's own capture figures: never more than authorized; an automatic capture
    /// takes the whole amount, a manual one what the merchant asked.
    void CheckCaptured(const Payment& p) {
        if (p.capture_requested_minor > p.amount_minor || p.capture_requested_minor < 0) {
            Add(Kind::kCaptureExceedsAuthorization,
                p.payment_id,
                fmt::format(
                    "asked to capture {} of an authorization of {}",
                    p.capture_requested_minor,
                    Amount(p.amount_minor, p.currency)
                ));
        }
        if (!p.captured_minor) {
            if (Settled(p.status)) {
                Add(Kind::kCaptureAmountMismatch,
                    p.payment_id,
                    fmt::format("{} with no captured amount recorded", ToString(p.status)));
            }
            return;
        }
        const std::int64_t captured = *p.captured_minor;
        if (captured <= 0 || captured > p.amount_minor) {
            Add(Kind::kCaptureExceedsAuthorization,
                p.payment_id,
                fmt::format(
                    "captured {} of an authorization of {}",
                    captured,
                    Amount(p.amount_minor, p.currency)
                ));
        } else if (p.capture_method == CaptureMethod::kAutomatic && captured != p.amount_minor) {
            Add(Kind::kCaptureAmountMismatch,
                p.payment_id,
                fmt::format(
                    "an automatic capture took {} of {}",
                    captured,
                    Amount(p.amount_minor, p.currency)
                ));
        } else if (p.capture_method == CaptureMethod::kManual && p.capture_requested_minor > 0 && captured != p.capture_requested_minor) {
            Add(Kind::kCaptureAmountMismatch,
                p.payment_id,
                fmt::format(
                    "captured {}, the merchant asked to capture {}",
                    captured,
                    p.capture_requested_minor
                ));
        }
    }

    /// The payment's refunds against its capture, its own totals and its status.
    void CheckRefunds(const Payment& p, const Facts& facts, const RefundSums& sums) {
        for (const Refund* r : facts.refunds) {
            if (r->currency != p.currency) {
                Add(Kind::kRefundTotalMismatch,
                    p.payment_id,
                    fmt::format(
                        "refund {} of {} for a payment in {}",
                        r->refund_id,
                        Amount(r->amount_minor, r->currency),
                        p.currency
                    ));
            }
            if (r->amount_minor <= 0) {
                Add(Kind::kRefundTotalMismatch,
                    p.payment_id,
                    fmt::format("refund {} of {}", r->refund_id, r->amount_minor));
            }
            if (r->status == RefundState::kPending && !r->read_late) {
                const auto age = duration_cast<milliseconds>(o_.now - r->created_at);
                if (o_.stuck_after.count() == 0 || age > o_.stuck_after) {
                    Add(Kind::kRefundStuck,
                        p.payment_id,
                        fmt::format("refund {} PENDING for {} ms", r->refund_id, age.count()));
                }
            }
        }
        const std::int64_t reserved = sums.succeeded + sums.pending;
        if (sums.succeeded != p.refunded_minor || reserved != p.refund_reserved_minor) {
            Add(Kind::kRefundTotalMismatch,
                p.payment_id,
                fmt::format(
                    "refunded {} and reserved {}, its refunds SUCCEEDED total {} and with the "
                    "PENDING ones {}",
                    p.refunded_minor,
                    p.refund_reserved_minor,
                    sums.succeeded,
                    reserved
                ));
        }
        const bool paid = Settled(p.status) || p.status == PaymentStatus::kCaptured;
        const std::int64_t captured = paid ? CapturedOf(p) : p.captured_minor.value_or(0);
        if (sums.succeeded > captured) {
            Add(Kind::kRefundsExceedCapture,
                p.payment_id,
                fmt::format(
                    "refunds SUCCEEDED total {}, captured {}",
                    sums.succeeded,
                    Amount(captured, p.currency)
                ));
        } else if (reserved > captured) {
            Add(Kind::kRefundsExceedCapture,
                p.payment_id,
                fmt::format(
                    "refunds PENDING or SUCCEEDED total {}, captured {}",
                    reserved,
                    Amount(captured, p.currency)
                ));
        }
        if (!Settled(p.status)) {
            if (reserved > 0) {
                Add(Kind::kRefundStatusMismatch,
                    p.payment_id,
                    fmt::format(
                        "{} with refunds PENDING or SUCCEEDED of {}", ToString(p.status), reserved
                    ));
            }
            return;
        }
        const PaymentStatus want = sums.succeeded == 0          ? PaymentStatus::kSettled
                                   : sums.succeeded >= captured ? PaymentStatus::kRefunded
                                                                : PaymentStatus::kPartiallyRefunded;
        if (p.status != want) {
            Add(Kind::kRefundStatusMismatch,
                p.payment_id,
                fmt::format(
                    "{} with {} of {} refunded",
                    ToString(p.status),
                    sums.succeeded,
                    Amount(captured, p.currency)
                ));
        }
    }

    /// `settling`: the payment ended within the grace; what the PSP holds may still be released.
    void CheckPsp(const Payment& p, const Facts& facts, bool settling) {
        int captures = 0;
        std::vector<const PspRecord*> taken;  // captured, and standing or refunded since
        std::vector<const PspRecord*> standing_captures;
        std::vector<const PspRecord*> holds;
        for (const PspRecord* r : facts.psp) {
            captures += r->captures;
            if (r->state == PspState::kCaptured) {
                standing_captures.push_back(r);
            } else if (r->state == PspState::kAuthorized) {
                holds.push_back(r);
            }
            // Without the refunds part a refunded capture is not one a settled payment may have.
            if (r->captures > 0 && (r->state == PspState::kCaptured ||
                                    (r->state == PspState::kRefunded && o_.checks.refunds))) {
                taken.push_back(r);
            }
            if (r->captures > 0 && PspCaptured(*r) > r->amount_minor) {
                Add(Kind::kCaptureExceedsAuthorization,
                    p.payment_id,
                    fmt::format(
                        "the PSP captured {} of an authorization of {} under {}",
                        PspCaptured(*r),
                        Amount(r->amount_minor, r->currency),
                        r->key
                    ));
            }
        }
        if (captures > 1) {
            Add(Kind::kDoubleCapture, p.payment_id, fmt::format("{} captures", captures));
        }
        if (Settled(p.status)) {
            if (taken.size() != 1) {
                Add(Kind::kSettledWithoutCapture,
                    p.payment_id,
                    fmt::format("{} captures stand at the PSP", taken.size()));
            } else if (const PspRecord& c = *taken.front();
                       PspCaptured(c) != CapturedOf(p) || c.currency != p.currency) {
                Add(Kind::kCaptureAmountMismatch,
                    p.payment_id,
                    fmt::format(
                        "the PSP captured {}, the payment {}",
                        Amount(PspCaptured(c), c.currency),
                        Amount(CapturedOf(p), p.currency)
                    ));
            }
        } else if (EndedUnpaid(p.status) && !settling) {
            for (const PspRecord* r : standing_captures) {
                Add(Kind::kCaptureStanding,
                    p.payment_id,
                    fmt::format("{} and CAPTURED under {}", ToString(p.status), r->key));
            }
            for (const PspRecord* r : holds) {
                Add(Kind::kHoldStanding,
                    p.payment_id,
                    fmt::format("{} and AUTHORIZED under {}", ToString(p.status), r->key));
            }
        }
    }

    /// The PSP's refunds against the saga's: each refund made under a saga refund's key is that
    /// refund, PENDING or SUCCEEDED, of its amount; each SUCCEEDED refund was made; and what a
    /// settled payment's capture gave back is between its SUCCEEDED refunds and those plus the
    /// PENDING ones (read first, the saga's refunds never run ahead of the PSP's; at rest none is
    /// PENDING and the two are equal).
    void CheckPspRefunds(const Payment& p, const Facts& facts, const RefundSums& sums) {
        std::map<std::string, std::int64_t> made;  // refund id → amount, of the saga's refunds
        std::int64_t refunded = 0;
        for (const PspRecord* r : facts.psp) {
            if (r->captures > 0) {
                refunded += PspRefunded(*r);
                if (PspRefunded(*r) > PspCaptured(*r)) {
                    Add(Kind::kPspRefundMismatch,
                        p.payment_id,
                        fmt::format(
                            "the PSP refunded {} of a capture of {} under {}",
                            PspRefunded(*r),
                            PspCaptured(*r),
                            r->key
                        ));
                }
            }
            for (const PspRefund& refund : r->refunds) {
                if (!refund.key.starts_with(kRefundKeyPrefix)) {
                    continue;  // the provider's release of an unpaid payment
                }
                const std::string id = Lower(refund.key.substr(kRefundKeyPrefix.size()));
                made[id] += refund.amount_minor;
                const Refund* asked = RefundOf(p, id);
                if (asked == nullptr || asked->status == RefundState::kFailed ||
                    asked->amount_minor != refund.amount_minor) {
                    Add(Kind::kPspRefundMismatch,
                        p.payment_id,
                        fmt::format(
                            "the PSP refunded {} under {}, {}",
                            refund.amount_minor,
                            refund.key,
                            asked == nullptr ? std::string("a refund the payment does not have")
                                             : fmt::format(
                                                   "refund {} is {} of {}",
                                                   asked->refund_id,
                                                   ToString(asked->status),
                                                   asked->amount_minor
                                               )
                        ));
                }
            }
        }
        for (const Refund* r : facts.refunds) {
            if (r->status == RefundState::kSucceeded && !r->read_late &&
                !made.contains(Lower(r->refund_id))) {
                Add(Kind::kPspRefundMismatch,
                    p.payment_id,
                    fmt::format(
                        "refund {} of {} SUCCEEDED; the PSP made no refund under {}{}",
                        r->refund_id,
                        r->amount_minor,
                        kRefundKeyPrefix,
                        r->refund_id
                    ));
            }
        }
        if (!Settled(p.status)) {
            return;  // an unpaid payment's capture is released in full (CheckPsp)
        }
        const std::int64_t at_most = sums.succeeded + sums.pending + sums.late;
        if (refunded < sums.succeeded || refunded > at_most) {
            Add(Kind::kPspRefundMismatch,
                p.payment_id,
                fmt::format(
                    "the PSP refunded {}; the payment's refunds SUCCEEDED total {}, PENDING {}",
                    Amount(refunded, p.currency),
                    sums.succeeded,
                    sums.pending + sums.late
                ));
        }
    }

    void CheckPostings(const Payment& p, const Facts& facts) {
        if (facts.settlements.size() > 1 || facts.reversals.size() > 1) {
            Add(Kind::kSettlementTwice,
                p.payment_id,
                fmt::format(
                    "{} settlements, {} reversals", facts.settlements.size(), facts.reversals.size()
                ));
        }
        const Posting* settlement = facts.settlements.empty() ? nullptr : facts.settlements[0];
        const Posting* reversal = facts.reversals.empty() ? nullptr : facts.reversals[0];
        // What the payment captured (a manual partial capture settles less than authorized).
        const std::int64_t captured = CapturedOf(p);
        if (settlement != nullptr &&
            (settlement->amount_minor != captured || settlement->currency != p.currency)) {
            Add(Kind::kSettlementMismatch,
                p.payment_id,
                fmt::format(
                    "settled {}, the payment captured {}",
                    Amount(settlement->amount_minor, settlement->currency),
                    Amount(captured, p.currency)
                ));
        }
        std::int64_t refunds_posted = 0;
        for (const Posting* r : facts.refund_postings) {
            refunds_posted += r->amount_minor;
        }
        if (reversal != nullptr &&
            (settlement == nullptr ||
             reversal->amount_minor != settlement->amount_minor - refunds_posted ||
             reversal->currency != settlement->currency)) {
            Add(Kind::kReversalWithoutSettlement,
                p.payment_id,
                fmt::format(
                    "reversed {} of {}",
                    Amount(reversal->amount_minor, reversal->currency),
                    settlement == nullptr ? std::string("nothing")
                                          : Amount(settlement->amount_minor, settlement->currency)
                ));
        }
        switch (p.status) {
            case PaymentStatus::kSettled:
            case PaymentStatus::kPartiallyRefunded:
            case PaymentStatus::kRefunded:
                if (settlement == nullptr) {
                    Add(Kind::kSettlementMissing,
                        p.payment_id,
                        fmt::format("{} without a settlement", ToString(p.status)));
                }
                if (reversal != nullptr) {
                    Add(Kind::kReversalWithoutSettlement,
                        p.payment_id,
                        fmt::format("{} and reversed in the ledger", ToString(p.status)));
                }
                break;
            case PaymentStatus::kFailed:
            case PaymentStatus::kReversed:
                if (settlement != nullptr && reversal == nullptr) {
                    Add(Kind::kPostedWithoutSettling,
                        p.payment_id,
                        fmt::format("{} with a settlement standing", ToString(p.status)));
                }
                break;
            default:
                // In flight: a settlement may be posted before the saga hears of it (CAPTURED).
                if (settlement != nullptr && p.status != PaymentStatus::kCaptured) {
                    Add(Kind::kPostedWithoutSettling,
                        p.payment_id,
                        fmt::format("{} with a settlement", ToString(p.status)));
                }
                break;
        }
    }

    /// One REFUND posting per SUCCEEDED refund, of its amount; none for any other; within the
    /// settlement. A refund that SUCCEEDED within the grace may not be posted yet.
    void CheckRefundPostings(const Payment& p, const Facts& facts) {
        const Posting* settlement = facts.settlements.empty() ? nullptr : facts.settlements[0];
        std::map<std::string, int> posted;  // refund id → postings
        std::int64_t total = 0;
        for (const Posting* posting : facts.refund_postings) {
            total += posting->amount_minor;
            const std::string id = Lower(posting->refund_id);
            if (++posted[id] == 2) {
                Add(Kind::kRefundPostingMismatch,
                    p.payment_id,
                    fmt::format("refund {} posted twice", posting->refund_id));
            }
            const Refund* r = id.empty() ? nullptr : RefundOf(p, id);
            if (r == nullptr) {
                Add(Kind::kRefundPostingMismatch,
                    p.payment_id,
                    fmt::format(
                        "a REFUND of {} posted for {}, a refund the payment does not have",
                        Amount(posting->amount_minor, posting->currency),
                        id.empty() ? std::string("no refund id") : posting->refund_id
                    ));
            } else if (r->status == RefundState::kFailed) {
                Add(Kind::kRefundPostingMismatch,
                    p.payment_id,
                    fmt::format("refund {} FAILED and was posted", r->refund_id));
            } else if (r->amount_minor != posting->amount_minor || r->currency != posting->currency) {
                Add(Kind::kRefundPostingMismatch,
                    p.payment_id,
                    fmt::format(
                        "refund {} of {} posted as {}",
                        r->refund_id,
                        Amount(r->amount_minor, r->currency),
                        Amount(posting->amount_minor, posting->currency)
                    ));
            }
        }
        if (!facts.refund_postings.empty() &&
            (settlement == nullptr || total > settlement->amount_minor)) {
            Add(Kind::kRefundPostingMismatch,
                p.payment_id,
                fmt::format(
                    "refunds of {} posted against {}",
                    total,
                    settlement == nullptr
                        ? std::string("no settlement")
                        : fmt::format("a settlement of {}", settlement->amount_minor)
                ));
        }
        for (const Refund* r : facts.refunds) {
            if (r->status == RefundState::kSucceeded && !r->read_late &&
                !posted.contains(Lower(r->refund_id)) && o_.now - r->updated_at >= o_.grace) {
                Add(Kind::kRefundPostingMismatch,
                    p.payment_id,
                    fmt::format(
                        "refund {} of {} SUCCEEDED and is not posted",
                        r->refund_id,
                        Amount(r->amount_minor, r->currency)
                    ));
            }
        }
    }

    void CheckNotices(const Payment& p, const Facts& facts) {
        const auto has = [&](NotifiedOutcome o) { return facts.notices.contains(o); };
        switch (p.status) {
            case PaymentStatus::kSettled:
            case PaymentStatus::kPartiallyRefunded:
            case PaymentStatus::kRefunded:
                if (!has(NotifiedOutcome::kSettled)) {
                    Add(Kind::kNotificationMissing,
                        p.payment_id,
                        fmt::format("{}, not notified as settled", ToString(p.status)));
                }
                if (has(NotifiedOutcome::kFailed) || has(NotifiedOutcome::kReversed)) {
                    Add(Kind::kNotificationWrong,
                        p.payment_id,
                        fmt::format("{}, notified as failed", ToString(p.status)));
                }
                break;
            case PaymentStatus::kFailed:
            case PaymentStatus::kReversed:
                // A reversed payment failed first: either notice may stand beside the other.
                if (!has(NotifiedOutcome::kFailed) && !has(NotifiedOutcome::kReversed)) {
                    Add(Kind::kNotificationMissing,
                        p.payment_id,
                        fmt::format("{}, not notified", ToString(p.status)));
                }
                if (has(NotifiedOutcome::kSettled)) {
                    Add(Kind::kNotificationWrong,
                        p.payment_id,
                        fmt::format("{}, notified as settled", ToString(p.status)));
                }
                if (p.status == PaymentStatus::kFailed && has(NotifiedOutcome::kReversed)) {
                    Add(Kind::kNotificationWrong, p.payment_id, "FAILED, notified as reversed");
                }
                break;
            default:
                break;
        }
    }

    /// Each ended refund told once it is past the grace: a SUCCEEDED one as PARTIALLY_REFUNDED
    /// or REFUNDED (REFUNDED only for the refund that completed a REFUNDED payment), a FAILED
    /// one as REFUND_FAILED; never the other outcome.
    void CheckRefundNotices(const Payment& p, const Facts& facts) {
        static const std::set<NotifiedOutcome> kNone;
        for (const Refund* r : facts.refunds) {
            if (r->read_late) {
                continue;
            }
            const auto found = refund_notices_.find(Lower(r->refund_id));
            const std::set<NotifiedOutcome>& told =
                found == refund_notices_.end() ? kNone : found->second;
            const bool told_success = told.contains(NotifiedOutcome::kPartiallyRefunded) ||
                                      told.contains(NotifiedOutcome::kRefunded);
            const bool told_failure = told.contains(NotifiedOutcome::kRefundFailed);
            const bool due = o_.now - r->updated_at >= o_.grace;
            switch (r->status) {
                case RefundState::kSucceeded:
                    if (!told_success && due) {
                        Add(Kind::kNotificationMissing,
                            p.payment_id,
                            fmt::format("refund {} SUCCEEDED, not notified", r->refund_id));
                    }
                    if (told_failure) {
                        Add(Kind::kNotificationWrong,
                            p.payment_id,
                            fmt::format("refund {} SUCCEEDED, notified as failed", r->refund_id));
                    }
                    if (told.contains(NotifiedOutcome::kRefunded) &&
                        p.status != PaymentStatus::kRefunded) {
                        Add(Kind::kNotificationWrong,
                            p.payment_id,
                            fmt::format(
                                "refund {} notified as REFUNDED, the payment is {}",
                                r->refund_id,
                                ToString(p.status)
                            ));
                    }
                    break;
                case RefundState::kFailed:
                    if (!told_failure && due) {
                        Add(Kind::kNotificationMissing,
                            p.payment_id,
                            fmt::format("refund {} FAILED, not notified", r->refund_id));
                    }
                    if (told_success) {
                        Add(Kind::kNotificationWrong,
                            p.payment_id,
                            fmt::format("refund {} FAILED, notified as refunded", r->refund_id));
                    }
                    break;
                case RefundState::kPending:
                    break;  // a notice may be on its way (read after the refund)
            }
        }
    }

    void Orphan(const std::string& id, const Facts& facts) {
        for (const PspRecord* r : facts.psp) {
            if (r->state == PspState::kAuthorized || r->state == PspState::kCaptured) {
                Add(Kind::kPspWithoutPayment,
                    id,
                    fmt::format("{} under {}", ToString(r->state), r->key));
            }
        }
        const std::size_t postings =
            facts.settlements.size() + facts.reversals.size() + facts.refund_postings.size();
        if (postings > 0) {
            Add(Kind::kPostingWithoutPayment,
                id,
                fmt::format("{} postings for an unknown payment", postings));
        }
        for (const Refund* r : facts.refunds) {
            Add(Kind::kRefundWithoutPayment,
                id,
                fmt::format(
                    "refund {} ({} of {}) of an unknown payment",
                    r->refund_id,
                    ToString(r->status),
                    Amount(r->amount_minor, r->currency)
                ));
        }
    }

    void CheckTotals() {
        for (const CurrencyTotals& t : s_.ledger_totals) {
            if (t.debits_minor != t.credits_minor) {
                Add(Kind::kLedgerUnbalanced,
                    "",
                    fmt::format(
                        "{}: debits {} credits {}", t.currency, t.debits_minor, t.credits_minor
                    ));
            }
        }
    }

    void CheckOutbox() {
        for (const UnsentOutbox& u : s_.outbox) {
            const auto age = duration_cast<milliseconds>(o_.now - u.oldest);
            if (u.rows > 0 && age > o_.outbox_after) {
                Add(Kind::kOutboxBehind,
                    "",
                    fmt::format(
                        "{}: {} rows unsent, the oldest for {} ms", u.service, u.rows, age.count()
                    ));
            }
        }
    }

    void CheckDeadLetters() {
        for (const DeadLetter& d : s_.dead_letters) {
            const auto found = by_payment_.find(d.payment_id);
            const Payment* p = found == by_payment_.end() ? nullptr : found->second.payment;
            if (p == nullptr || !EndedUnpaid(p->status)) {
                Add(Kind::kUnexplainedDeadLetter,
                    d.payment_id,
                    fmt::format(
                        "{} ({}) for a payment {}",
                        d.topic,
                        d.reason,
                        p == nullptr ? std::string("unknown")
                                     : fmt::format("in {}", ToString(p->status))
                    ));
            }
        }
    }

    void Percentiles(std::vector<milliseconds>& to_final) {
        if (to_final.empty()) {
            return;
        }
        std::sort(to_final.begin(), to_final.end());
        report_.longest_to_final = to_final.back();
        const std::size_t at = (to_final.size() * 99 + 99) / 100 - 1;
        report_.p99_to_final = to_final[std::min(at, to_final.size() - 1)];
    }

    const Snapshot& s_;
    const Options& o_;
    std::map<std::string, Facts> by_payment_;
    std::map<std::string, const Refund*> refunds_;  ///< By refund id in lower case.
    std::map<std::string, std::set<NotifiedOutcome>> refund_notices_;  ///< By refund id.
    Report report_;
};

}  // namespace

std::string_view ToString(PspState state) noexcept {
    return NameIn(kPspStates, state);
}

std::optional<PspState> ParsePspState(std::string_view text) noexcept {
    return ValueIn(kPspStates, text);
}

std::string_view ToString(RefundState state) noexcept {
    return NameIn(kRefundStates, state);
}

std::optional<RefundState> ParseRefundState(std::string_view text) noexcept {
    return ValueIn(kRefundStates, text);
}

std::string_view ToString(Kind kind) noexcept {
    switch (kind) {
        case Kind::kAcceptedMissing:
            return "accepted_missing";
        case Kind::kAcceptedOtherPayment:
            return "accepted_other_payment";
        case Kind::kDuplicateIdempotencyKey:
            return "duplicate_idempotency_key";
        case Kind::kStuck:
            return "stuck";
        case Kind::kDoubleCapture:
            return "double_capture";
        case Kind::kSettledWithoutCapture:
            return "settled_without_capture";
        case Kind::kCaptureAmountMismatch:
            return "capture_amount_mismatch";
        case Kind::kCaptureStanding:
            return "capture_standing";
        case Kind::kHoldStanding:
            return "hold_standing";
        case Kind::kPspWithoutPayment:
            return "psp_without_payment";
        case Kind::kLedgerUnbalanced:
            return "ledger_unbalanced";
        case Kind::kSettlementMissing:
            return "settlement_missing";
        case Kind::kSettlementMismatch:
            return "settlement_mismatch";
        case Kind::kSettlementTwice:
            return "settlement_twice";
        case Kind::kPostedWithoutSettling:
            return "posted_without_settling";
        case Kind::kReversalWithoutSettlement:
            return "reversal_without_settlement";
        case Kind::kPostingWithoutPayment:
            return "posting_without_payment";
        case Kind::kNotificationMissing:
            return "notification_missing";
        case Kind::kNotificationWrong:
            return "notification_wrong";
        case Kind::kOutboxBehind:
            return "outbox_behind";
        case Kind::kUnexplainedDeadLetter:
            return "unexplained_dead_letter";
        case Kind::kCaptureExceedsAuthorization:
            return "capture_exceeds_authorization";
        case Kind::kRefundsExceedCapture:
            return "refunds_exceed_capture";
        case Kind::kRefundTotalMismatch:
            return "refund_total_mismatch";
        case Kind::kRefundStatusMismatch:
            return "refund_status_mismatch";
        case Kind::kRefundStuck:
            return "refund_stuck";
        case Kind::kRefundWithoutPayment:
            return "refund_without_payment";
        case Kind::kPspRefundMismatch:
            return "psp_refund_mismatch";
        case Kind::kRefundPostingMismatch:
            return "refund_posting_mismatch";
    }
    return "unknown";
}

std::string Describe(const Violation& violation) {
    if (violation.payment_id.empty()) {
        return fmt::format("{}: {}", ToString(violation.kind), violation.detail);
    }
    return fmt::format(
        "{} {}: {}", ToString(violation.kind), violation.payment_id, violation.detail
    );
}

Report Check(const Snapshot& snapshot, const Options& options) {
    return Checker(snapshot, options).Run();
}

}  // namespace sagapay::invariants
