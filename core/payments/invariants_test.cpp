#include "core/payments/invariants.hpp"

#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace sagapay::invariants {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

const Clock::TimePoint kT0 = Clock::TimePoint(seconds(1'767'225'600));

Payment Pay(const std::string& id, PaymentStatus status, std::int64_t amount = 1000) {
    return Payment{
        .payment_id = id,
        .idempotency_key = "key-" + id,
        .status = status,
        .amount_minor = amount,
        .currency = "USD",
        .created_at = kT0,
        .updated_at = kT0 + seconds(2),
        .awaiting_review = false,
    };
}

/// A system where every promise holds: one settled, one failed after its hold was voided, one
/// reversed after a late capture was refunded, one denied by risk, one waiting on a person.
Snapshot Healthy() {
    Snapshot s;
    s.payments = {
        Pay("settled", PaymentStatus::kSettled),
        Pay("failed", PaymentStatus::kFailed),
        Pay("reversed", PaymentStatus::kReversed),
        Pay("denied", PaymentStatus::kFailed),
        Pay("review", PaymentStatus::kRiskReview),
    };
    s.payments[4].awaiting_review = true;
    for (const auto& p : s.payments) {
        s.accepted.push_back({p.idempotency_key, p.payment_id});
    }
    s.accepted.push_back({"key-settled", "settled"});  // a retried POST: the same answer
    s.psp = {
        {"settled", "psp-settled", PspState::kCaptured, 1, 1000, "USD"},
        {"failed", "psp-failed", PspState::kVoided, 0, 1000, "USD"},
        {"reversed", "psp-reversed", PspState::kRefunded, 1, 1000, "USD"},
    };
    s.postings = {{"settled", PostingPurpose::kSettlement, 1000, "USD"}};
    s.ledger_totals = {{"USD", 1000, 1000}};
    s.notices = {
        {"settled", NotifiedOutcome::kSettled},
        {"failed", NotifiedOutcome::kFailed},
        {"reversed", NotifiedOutcome::kFailed},
        {"reversed", NotifiedOutcome::kReversed},
        {"denied", NotifiedOutcome::kFailed},
    };
    s.outbox = {{"orchestrator", 3, kT0 + seconds(9)}};
    s.dead_letters = {{"provider.authorize.requested", "RETRY_EXHAUSTED", "reversed"}};
    return s;
}

Options At(Clock::TimePoint now) {
    Options o;
    o.now = now;
    o.stuck_after = seconds(30);
    o.outbox_after = seconds(5);
    return o;
}

std::vector<Kind> KindsOf(const Report& report) {
    std::vector<Kind> kinds;
    for (const auto& v : report.violations) {
        kinds.push_back(v.kind);
    }
    return kinds;
}

TEST(Invariants, AHealthySystemKeepsEveryPromiseAndReportsItsBounds) {
    const Report r = Check(Healthy(), At(kT0 + seconds(10)));
    EXPECT_TRUE(r.Ok()) << (r.Ok() ? "" : Describe(r.violations.front()));
    EXPECT_EQ(r.by_status.at(PaymentStatus::kSettled), 1);
    EXPECT_EQ(r.by_status.at(PaymentStatus::kFailed), 2);
    EXPECT_EQ(r.awaiting_review, 1);
    EXPECT_EQ(r.longest_to_final, seconds(2));
    EXPECT_EQ(r.p99_to_final, seconds(2));
}

struct Breakage {
    const char* name;
    std::function<void(Snapshot&)> do_it;
    Kind expected;
};

void PrintTo(const Breakage& breakage, std::ostream* out) {
    *out << breakage.name;
}

class InvariantsBreakage : public ::testing::TestWithParam<Breakage> {};

TEST_P(InvariantsBreakage, IsReportedAsItsKind) {
    Snapshot s = Healthy();
    GetParam().do_it(s);
    const Report r = Check(s, At(kT0 + seconds(10)));
    ASSERT_FALSE(r.Ok());
    for (const auto& v : r.violations) {
        EXPECT_EQ(v.kind, GetParam().expected) << Describe(v);
    }
}

void SetPsp(Snapshot& s, const std::string& payment, PspState state, int captures) {
    for (auto& r : s.psp) {
        if (r.payment_id == payment) {
            r.state = state;
            r.captures = captures;
        }
    }
}

INSTANTIATE_TEST_SUITE_P(
    EveryKind,
    InvariantsBreakage,
    ::testing::Values(
        Breakage{
            "AcceptedPaymentMissing",
            [](Snapshot& s) {
                s.accepted.push_back({"key-lost", "lost"});
            },
            Kind::kAcceptedMissing},
        Breakage{
            "OneKeyTwoAnswers",
            [](Snapshot& s) {
                s.accepted.push_back({"key-settled", "failed"});
            },
            Kind::kAcceptedOtherPayment},
        Breakage{
            "TwoPaymentsOneKey",
            [](Snapshot& s) {
                s.payments[1].idempotency_key = "key-settled";
                s.accepted.clear();  // two payments made under one key, whatever callers heard
            },
            Kind::kDuplicateIdempotencyKey},
        Breakage{
            "StuckPastTheBound",
            [](Snapshot& s) {
                s.payments[4].awaiting_review = false;
                s.payments[4].updated_at = kT0 - seconds(60);
            },
            Kind::kStuck},
        Breakage{
            "CapturedTwice",
            [](Snapshot& s) { SetPsp(s, "settled", PspState::kCaptured, 2); },
            Kind::kDoubleCapture},
        Breakage{
            "SettledButOnlyAuthorized",
            [](Snapshot& s) { SetPsp(s, "settled", PspState::kAuthorized, 0); },
            Kind::kSettledWithoutCapture},
        Breakage{
            "CapturedAnotherAmount",
            [](Snapshot& s) { s.psp[0].amount_minor = 999; },
            Kind::kCaptureAmountMismatch},
        Breakage{
            "FailedButCaptured",
            [](Snapshot& s) { SetPsp(s, "failed", PspState::kCaptured, 1); },
            Kind::kCaptureStanding},
        Breakage{
            "ReversedButHeld",
            [](Snapshot& s) { SetPsp(s, "reversed", PspState::kAuthorized, 0); },
            Kind::kHoldStanding},
        Breakage{
            "MoneyHeldForNoPayment",
            [](Snapshot& s) {
                s.psp.push_back({"ghost", "psp-ghost", PspState::kAuthorized, 0, 5, "USD"});
            },
            Kind::kPspWithoutPayment},
        Breakage{
            "LedgerUnbalanced",
            [](Snapshot& s) { s.ledger_totals[0].credits_minor = 999; },
            Kind::kLedgerUnbalanced},
        Breakage{
            "SettledWithoutPosting",
            [](Snapshot& s) { s.postings.clear(); },
            Kind::kSettlementMissing},
        Breakage{
            "SettlementOfAnotherAmount",
            [](Snapshot& s) { s.postings[0].amount_minor = 10; },
            Kind::kSettlementMismatch},
        Breakage{
            "SettledTwice",
            [](Snapshot& s) { s.postings.push_back(s.postings[0]); },
            Kind::kSettlementTwice},
        Breakage{
            "FailedWithASettlement",
            [](Snapshot& s) {
                s.postings.push_back({"failed", PostingPurpose::kSettlement, 1000, "USD"});
            },
            Kind::kPostedWithoutSettling},
        Breakage{
            "ReversalOfNothing",
            [](Snapshot& s) {
                s.postings.push_back({"reversed", PostingPurpose::kReversal, 1000, "USD"});
            },
            Kind::kReversalWithoutSettlement},
        Breakage{
            "PostingForNoPayment",
            [](Snapshot& s) {
                s.postings.push_back({"ghost", PostingPurpose::kSettlement, 5, "USD"});
            },
            Kind::kPostingWithoutPayment},
        Breakage{
            "SettledNotNotified",
            [](Snapshot& s) { s.notices.erase(s.notices.begin()); },
            Kind::kNotificationMissing},
        Breakage{
            "FailedNotifiedAsSettled",
            [](Snapshot& s) {
                s.notices.push_back({"denied", NotifiedOutcome::kSettled});
            },
            Kind::kNotificationWrong},
        Breakage{
            "OutboxBehind", [](Snapshot& s) { s.outbox[0].oldest = kT0; }, Kind::kOutboxBehind},
        Breakage{
            "DeadLetterOfASettledPayment",
            [](Snapshot& s) {
                s.dead_letters.push_back({"payments.captured", "parked", "settled"});
            },
            Kind::kUnexplainedDeadLetter}
    ),
    [](const ::testing::TestParamInfo<Breakage>& param) { return std::string(param.param.name); }
);

TEST(Invariants, AReversalOfTheSettlementLeavesAReversedPaymentBalanced) {
    Snapshot s = Healthy();
    s.postings.push_back({"reversed", PostingPurpose::kSettlement, 1000, "USD"});
    s.postings.push_back({"reversed", PostingPurpose::kReversal, 1000, "USD"});
    EXPECT_TRUE(Check(s, At(kT0 + seconds(10))).Ok());
}

TEST(Invariants, AZeroBoundWantsEveryPaymentFinalButNotThoseAwaitingAPerson) {
    Snapshot s = Healthy();
    s.payments.push_back(Pay("moving", PaymentStatus::kAuthorized));
    Options o = At(kT0 + seconds(3));
    o.stuck_after = milliseconds(0);
    const Report r = Check(s, o);
    ASSERT_EQ(r.violations.size(), 1U);
    EXPECT_EQ(r.violations[0].kind, Kind::kStuck);
    EXPECT_EQ(r.violations[0].payment_id, "moving");
    EXPECT_EQ(r.oldest_in_flight, seconds(1));
}

TEST(Invariants, WithinTheGraceAPaymentJustEndedMayStillBeOnItsWayDownstream) {
    Snapshot s = Healthy();
    SetPsp(s, "failed", PspState::kAuthorized, 0);  // not voided yet
    s.notices.erase(s.notices.begin());             // settled, not told
    Options o = At(kT0 + seconds(3));               // ended 1 s ago
    o.grace = seconds(2);
    const Report r = Check(s, o);
    EXPECT_TRUE(r.Ok()) << (r.Ok() ? "" : Describe(r.violations.front()));
    EXPECT_EQ(r.settling, 4);  // settled, failed, reversed, denied
    s.postings.clear();        // a SETTLED payment without its settlement: never excused
    EXPECT_EQ(KindsOf(Check(s, o)), std::vector<Kind>{Kind::kSettlementMissing});
    o.now = kT0 + seconds(10);  // the grace is over
    s = Healthy();
    SetPsp(s, "failed", PspState::kAuthorized, 0);
    EXPECT_EQ(KindsOf(Check(s, o)), std::vector<Kind>{Kind::kHoldStanding});
}

TEST(Invariants, APartNotReadIsNotChecked) {
    Snapshot s = Healthy();
    s.psp.clear();
    s.postings.clear();
    s.ledger_totals.clear();
    Options o = At(kT0 + seconds(10));
    o.checks.psp = false;
    o.checks.ledger = false;
    EXPECT_TRUE(Check(s, o).Ok());
    o.checks.psp = true;
    EXPECT_EQ(KindsOf(Check(s, o)), std::vector<Kind>{Kind::kSettledWithoutCapture});
}

TEST(Invariants, NamesAreStableAndPspStatesRoundTrip) {
    EXPECT_EQ(ToString(Kind::kDoubleCapture), "double_capture");
    EXPECT_EQ(Describe({Kind::kStuck, "p1", "CREATED for 5 ms"}), "stuck p1: CREATED for 5 ms");
    EXPECT_EQ(Describe({Kind::kLedgerUnbalanced, "", "USD"}), "ledger_unbalanced: USD");
    for (const PspState state :
         {PspState::kAuthorized,
          PspState::kDeclined,
          PspState::kCaptured,
          PspState::kVoided,
          PspState::kRefunded}) {
        EXPECT_EQ(ParsePspState(ToString(state)), state);
    }
    EXPECT_EQ(ParsePspState("authorized"), std::nullopt);
}

}  // namespace
}  // namespace sagapay::invariants
