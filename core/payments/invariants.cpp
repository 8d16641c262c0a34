#include "core/payments/invariants.hpp"

#include <algorithm>
#include <array>
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

bool IsFinal(PaymentStatus status) noexcept {
    return status == PaymentStatus::kSettled || status == PaymentStatus::kFailed ||
           status == PaymentStatus::kReversed;
}

bool EndedUnpaid(PaymentStatus status) noexcept {
    return status == PaymentStatus::kFailed || status == PaymentStatus::kReversed;
}

std::string Amount(std::int64_t minor, const std::string& currency) {
    return fmt::format("{} {}", minor, currency);
}

/// Everything known about one payment, gathered from every part of the snapshot.
struct Facts {
    const Payment* payment = nullptr;
    std::vector<const PspRecord*> psp;
    std::vector<const Posting*> settlements;
    std::vector<const Posting*> reversals;
    std::set<NotifiedOutcome> notices;
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
                to_final.push_back(duration_cast<milliseconds>(p.updated_at - p.created_at));
            } else {
                InFlight(p);
            }
            const bool settling = IsFinal(p.status) && o_.now - p.updated_at < o_.grace;
            report_.settling += settling ? 1 : 0;
            if (o_.checks.psp) {
                CheckPsp(p, facts, settling);
            }
            if (o_.checks.ledger) {
                CheckPostings(p, facts);
            }
            if (o_.checks.notices && !settling) {
                CheckNotices(p, facts);
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
        if (o_.checks.psp) {
            for (const PspRecord& r : s_.psp) {
                by_payment_[r.payment_id].psp.push_back(&r);
            }
        }
        if (o_.checks.ledger) {
            for (const Posting& posting : s_.postings) {
                auto& facts = by_payment_[posting.payment_id];
                (posting.purpose == PostingPurpose::kSettlement ? facts.settlements
                                                                : facts.reversals)
                    .push_back(&posting);
            }
        }
        if (o_.checks.notices) {
            for (const Notice& n : s_.notices) {
                by_payment_[n.payment_id].notices.insert(n.outcome);
            }
        }
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
        report_.oldest_in_flight = std::max(report_.oldest_in_flight, idle);
        if (o_.stuck_after.count() == 0 || idle > o_.stuck_after) {
            Add(Kind::kStuck,
                p.payment_id,
                fmt::format("{} for {} ms", ToString(p.status), idle.count()));
        }
    }

    /// `settling`: the payment ended within the grace; what the PSP holds may still be released.
    void CheckPsp(const Payment& p, const Facts& facts, bool settling) {
        int captures = 0;
        std::vector<const PspRecord*> standing_captures;
        std::vector<const PspRecord*> holds;
        for (const PspRecord* r : facts.psp) {
            captures += r->captures;
            if (r->state == PspState::kCaptured) {
                standing_captures.push_back(r);
            } else if (r->state == PspState::kAuthorized) {
                holds.push_back(r);
            }
        }
        if (captures > 1) {
            Add(Kind::kDoubleCapture, p.payment_id, fmt::format("{} captures", captures));
        }
        if (p.status == PaymentStatus::kSettled) {
            if (standing_captures.size() != 1) {
                Add(Kind::kSettledWithoutCapture,
                    p.payment_id,
                    fmt::format("{} captures stand at the PSP", standing_captures.size()));
            } else if (const PspRecord& c = *standing_captures.front();
                       c.amount_minor != p.amount_minor || c.currency != p.currency) {
                Add(Kind::kCaptureAmountMismatch,
                    p.payment_id,
                    fmt::format(
                        "captured {}, payment is {}",
                        Amount(c.amount_minor, c.currency),
                        Amount(p.amount_minor, p.currency)
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
        if (settlement != nullptr &&
            (settlement->amount_minor != p.amount_minor || settlement->currency != p.currency)) {
            Add(Kind::kSettlementMismatch,
                p.payment_id,
                fmt::format(
                    "settled {}, payment is {}",
                    Amount(settlement->amount_minor, settlement->currency),
                    Amount(p.amount_minor, p.currency)
                ));
        }
        if (reversal != nullptr &&
            (settlement == nullptr || reversal->amount_minor != settlement->amount_minor ||
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
                if (settlement == nullptr) {
                    Add(Kind::kSettlementMissing, p.payment_id, "SETTLED without a settlement");
                }
                if (reversal != nullptr) {
                    Add(Kind::kReversalWithoutSettlement,
                        p.payment_id,
                        "SETTLED and reversed in the ledger");
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

    void CheckNotices(const Payment& p, const Facts& facts) {
        const auto has = [&](NotifiedOutcome o) { return facts.notices.contains(o); };
        switch (p.status) {
            case PaymentStatus::kSettled:
                if (!has(NotifiedOutcome::kSettled)) {
                    Add(Kind::kNotificationMissing, p.payment_id, "settled, not notified");
                }
                if (has(NotifiedOutcome::kFailed) || has(NotifiedOutcome::kReversed)) {
                    Add(Kind::kNotificationWrong, p.payment_id, "settled, notified as failed");
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

    void Orphan(const std::string& id, const Facts& facts) {
        for (const PspRecord* r : facts.psp) {
            if (r->state == PspState::kAuthorized || r->state == PspState::kCaptured) {
                Add(Kind::kPspWithoutPayment,
                    id,
                    fmt::format("{} under {}", ToString(r->state), r->key));
            }
        }
        if (!facts.settlements.empty() || !facts.reversals.empty()) {
            Add(Kind::kPostingWithoutPayment,
                id,
                fmt::format(
                    "{} postings for an unknown payment",
                    facts.settlements.size() + facts.reversals.size()
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
    Report report_;
};

}  // namespace

std::string_view ToString(PspState state) noexcept {
    for (const auto& [value, name] : kPspStates) {
        if (value == state) {
            return name;
        }
    }
    return "UNKNOWN";
}

std::optional<PspState> ParsePspState(std::string_view text) noexcept {
    for (const auto& [value, name] : kPspStates) {
        if (name == text) {
            return value;
        }
    }
    return std::nullopt;
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
