#include "core/payments/invariants.hpp"

#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace sagapay::invariants {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

const Clock::TimePoint kT0 = Clock::TimePoint(seconds(1'767'225'600));

Payment Pay(const std::string& id, PaymentStatus status, std::int64_t amount = 1000) {
    const bool captured = status == PaymentStatus::kSettled ||
                          status == PaymentStatus::kPartiallyRefunded ||
                          status == PaymentStatus::kRefunded || status == PaymentStatus::kCaptured;
    return Payment{
        .payment_id = id,
        .idempotency_key = "key-" + id,
        .status = status,
        .amount_minor = amount,
        .currency = "USD",
        .created_at = kT0,
        .updated_at = kT0 + seconds(2),
        .awaiting_review = false,
        .captured_minor = captured ? std::optional<std::int64_t>(amount) : std::nullopt,
    };
}

Refund MakeRefund(
    const std::string& id, const std::string& payment, std::int64_t amount, RefundState status
) {
    return Refund{
        .refund_id = id,
        .payment_id = payment,
        .amount_minor = amount,
        .currency = "USD",
        .status = status,
        .created_at = kT0 + seconds(3),
        .updated_at = kT0 + seconds(4),
    };
}

Payment* Find(Snapshot& s, const std::string& id) {
    for (auto& p : s.payments) {
        if (p.payment_id == id) {
            return &p;
        }
    }
    return nullptr;
}

PspRecord* PspOf(Snapshot& s, const std::string& payment) {
    for (auto& r : s.psp) {
        if (r.payment_id == payment) {
            return &r;
        }
    }
    return nullptr;
}

/// A system where every promise holds: one settled, one failed after its hold was voided, one
/// reversed after a late capture was refunded, one denied by risk, one waiting on a person; and
/// of manual capture and refunds: one captured in part (600 of 1000) and refunded in part (one
/// refund SUCCEEDED, one FAILED), one refunded in full by two refunds, one canceled before its
/// capture, one waiting for its capture.
Snapshot Healthy() {
    Snapshot s;
    s.payments = {
        Pay("settled", PaymentStatus::kSettled),
        Pay("failed", PaymentStatus::kFailed),
        Pay("reversed", PaymentStatus::kReversed),
        Pay("denied", PaymentStatus::kFailed),
        Pay("review", PaymentStatus::kRiskReview),
        Pay("partial", PaymentStatus::kPartiallyRefunded),
        Pay("refunded", PaymentStatus::kRefunded, 500),
        Pay("canceled", PaymentStatus::kReversed),
        Pay("waiting", PaymentStatus::kAuthorized),
    };
    s.payments[4].awaiting_review = true;
    Payment& partial = s.payments[5];
    partial.capture_method = CaptureMethod::kManual;
    partial.capture_requested_minor = 600;
    partial.captured_minor = 600;
    partial.refunded_minor = 100;
    partial.refund_reserved_minor = 100;
    Payment& refunded = s.payments[6];
    refunded.refunded_minor = 500;
    refunded.refund_reserved_minor = 500;
    s.payments[7].capture_method = CaptureMethod::kManual;
    s.payments[8].capture_method = CaptureMethod::kManual;
    s.payments[8].awaiting_capture = true;
    s.refunds = {
        MakeRefund("r1", "partial", 100, RefundState::kSucceeded),
        MakeRefund("r2", "partial", 50, RefundState::kFailed),
        MakeRefund("r3", "refunded", 300, RefundState::kSucceeded),
        MakeRefund("r4", "refunded", 200, RefundState::kSucceeded),
    };
    for (const auto& p : s.payments) {
        s.accepted.push_back({p.idempotency_key, p.payment_id});
    }
    s.accepted.push_back({"key-settled", "settled"});  // a retried POST: the same answer
    s.psp = {
        {"settled", "psp-settled", PspState::kCaptured, 1, 1000, "USD"},
        {"failed", "psp-failed", PspState::kVoided, 0, 1000, "USD"},
        {"reversed", "psp-reversed", PspState::kRefunded, 1, 1000, "USD"},
        {"partial", "psp-partial", PspState::kCaptured, 1, 1000, "USD", 600, 100, {{"rf-r1", 100}}},
        {"refunded",
         "psp-refunded",
         PspState::kRefunded,
         1,
         500,
         "USD",
         500,
         500,
         {{"rf-r3", 300}, {"rf-r4", 200}}},
        {"canceled", "psp-canceled", PspState::kVoided, 0, 1000, "USD"},
        {"waiting", "psp-waiting", PspState::kAuthorized, 0, 1000, "USD"},
    };
    s.postings = {
        {"settled", PostingPurpose::kSettlement, 1000, "USD"},
        {"partial", PostingPurpose::kSettlement, 600, "USD"},
        {"partial", PostingPurpose::kRefund, 100, "USD", "r1"},
        {"refunded", PostingPurpose::kSettlement, 500, "USD"},
        {"refunded", PostingPurpose::kRefund, 300, "USD", "r3"},
        {"refunded", PostingPurpose::kRefund, 200, "USD", "R4"},  // ids match in any case
    };
    s.ledger_totals = {{"USD", 2700, 2700}};
    s.notices = {
        {"settled", NotifiedOutcome::kSettled},
        {"failed", NotifiedOutcome::kFailed},
        {"reversed", NotifiedOutcome::kFailed},
        {"reversed", NotifiedOutcome::kReversed},
        {"denied", NotifiedOutcome::kFailed},
        {"partial", NotifiedOutcome::kSettled},
        {"partial", NotifiedOutcome::kPartiallyRefunded, "r1"},
        {"partial", NotifiedOutcome::kRefundFailed, "r2"},
        {"refunded", NotifiedOutcome::kSettled},
        {"refunded", NotifiedOutcome::kPartiallyRefunded, "r3"},
        {"refunded", NotifiedOutcome::kRefunded, "r4"},
        {"canceled", NotifiedOutcome::kReversed},
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
    EXPECT_EQ(r.by_status.at(PaymentStatus::kPartiallyRefunded), 1);
    EXPECT_EQ(r.by_status.at(PaymentStatus::kRefunded), 1);
    EXPECT_EQ(r.awaiting_review, 1);
    EXPECT_EQ(r.awaiting_capture, 1);
    EXPECT_EQ(r.refunds_by_status.at(RefundState::kSucceeded), 3);
    EXPECT_EQ(r.refunds_by_status.at(RefundState::kFailed), 1);
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
            [](Snapshot& s) { s.postings.erase(s.postings.begin()); },
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
            Kind::kUnexplainedDeadLetter},
        // Manual capture.
        Breakage{
            "ThePspCapturedMoreThanItAuthorized",
            [](Snapshot& s) { PspOf(s, "partial")->amount_minor = 500; },
            Kind::kCaptureExceedsAuthorization},
        Breakage{
            "ACaptureAskedBeyondTheAuthorization",
            [](Snapshot& s) { Find(s, "waiting")->capture_requested_minor = 1001; },
            Kind::kCaptureExceedsAuthorization},
        Breakage{
            "ThePspCapturedTheWholeAuthorizationOfAPartialCapture",
            [](Snapshot& s) { PspOf(s, "partial")->captured_minor = 1000; },
            Kind::kCaptureAmountMismatch},
        Breakage{
            "CapturedOtherThanTheMerchantAsked",
            [](Snapshot& s) { Find(s, "partial")->capture_requested_minor = 700; },
            Kind::kCaptureAmountMismatch},
        Breakage{
            "APartialCaptureSettledItsAuthorization",
            [](Snapshot& s) { s.postings[1].amount_minor = 1000; },
            Kind::kSettlementMismatch},
        Breakage{
            "AManualCaptureForgottenPastTheWindow",
            [](Snapshot& s) { Find(s, "waiting")->updated_at = kT0 - std::chrono::hours(24 * 8); },
            Kind::kStuck},
        // Refunds.
        Breakage{
            "RefundsPendingAndSucceededBeyondTheCapture",
            [](Snapshot& s) {
                s.refunds.push_back(MakeRefund("r5", "partial", 600, RefundState::kPending));
                Find(s, "partial")->refund_reserved_minor = 700;
            },
            Kind::kRefundsExceedCapture},
        Breakage{
            "RefundedTotalNotTheSucceededRefunds",
            [](Snapshot& s) { Find(s, "partial")->refunded_minor = 150; },
            Kind::kRefundTotalMismatch},
        Breakage{
            "ReservedTotalNotThePendingAndSucceededRefunds",
            [](Snapshot& s) { Find(s, "refunded")->refund_reserved_minor = 450; },
            Kind::kRefundTotalMismatch},
        Breakage{
            "RefundedInPartButSaysRefunded",
            [](Snapshot& s) { Find(s, "partial")->status = PaymentStatus::kRefunded; },
            Kind::kRefundStatusMismatch},
        Breakage{
            "RefundedInPartButSaysSettled",
            [](Snapshot& s) { Find(s, "partial")->status = PaymentStatus::kSettled; },
            Kind::kRefundStatusMismatch},
        Breakage{
            "ARefundPendingPastTheBound",
            [](Snapshot& s) {
                Refund r = MakeRefund("r5", "partial", 50, RefundState::kPending);
                r.created_at = kT0 - seconds(60);
                s.refunds.push_back(r);
                Find(s, "partial")->refund_reserved_minor = 150;
            },
            Kind::kRefundStuck},
        Breakage{
            "ARefundOfNoPayment",
            [](Snapshot& s) {
                s.refunds.push_back(MakeRefund("r9", "ghost", 5, RefundState::kPending));
            },
            Kind::kRefundWithoutPayment},
        Breakage{
            "ARefundSucceededThePspNeverMade",
            [](Snapshot& s) {
                PspRecord& r = *PspOf(s, "refunded");
                r.refunds.erase(r.refunds.begin());
                r.refunded_minor = 200;
            },
            Kind::kPspRefundMismatch},
        Breakage{
            "ThePspRefundedAFailedRefund",
            [](Snapshot& s) {
                PspRecord& r = *PspOf(s, "partial");
                r.refunds.push_back({"rf-r2", 50});
                r.refunded_minor = 150;
            },
            Kind::kPspRefundMismatch},
        Breakage{
            "ThePspRefundedAnotherAmount",
            [](Snapshot& s) {
                PspRecord& r = *PspOf(s, "partial");
                r.refunds[0].amount_minor = 90;
                r.refunded_minor = 90;
            },
            Kind::kPspRefundMismatch},
        Breakage{
            "ThePspReleasedASettledPayment",
            [](Snapshot& s) {
                PspRecord& r = *PspOf(s, "settled");
                r.state = PspState::kRefunded;
                r.refunds = {{"refund-settled", 1000}};
                r.refunded_minor = 1000;
            },
            Kind::kPspRefundMismatch},
        Breakage{
            "AFailedRefundPosted",
            [](Snapshot& s) {
                s.postings.push_back({"partial", PostingPurpose::kRefund, 50, "USD", "r2"});
            },
            Kind::kRefundPostingMismatch},
        Breakage{
            "ASucceededRefundNotPosted",
            [](Snapshot& s) { s.postings.erase(s.postings.begin() + 2); },
            Kind::kRefundPostingMismatch},
        Breakage{
            "ARefundPostedTwice",
            [](Snapshot& s) { s.postings.push_back(s.postings[2]); },
            Kind::kRefundPostingMismatch},
        Breakage{
            "ARefundPostedOfAnotherAmount",
            [](Snapshot& s) { s.postings[2].amount_minor = 99; },
            Kind::kRefundPostingMismatch},
        Breakage{
            "ARefundPostedForNoRefund",
            [](Snapshot& s) {
                s.postings.push_back({"settled", PostingPurpose::kRefund, 10, "USD", "r7"});
            },
            Kind::kRefundPostingMismatch},
        Breakage{
            "ARefundPostingOfNoPayment",
            [](Snapshot& s) {
                s.postings.push_back({"ghost", PostingPurpose::kRefund, 10, "USD", "r8"});
            },
            Kind::kPostingWithoutPayment},
        Breakage{
            "ASucceededRefundNotNotified",
            [](Snapshot& s) { s.notices.erase(s.notices.begin() + 6); },
            Kind::kNotificationMissing},
        Breakage{
            "AFailedRefundNotNotified",
            [](Snapshot& s) { s.notices.erase(s.notices.begin() + 7); },
            Kind::kNotificationMissing},
        Breakage{
            "ASucceededRefundNotifiedAsFailed",
            [](Snapshot& s) {
                s.notices.push_back({"partial", NotifiedOutcome::kRefundFailed, "r1"});
            },
            Kind::kNotificationWrong},
        Breakage{
            "APartialRefundNotifiedAsTheLast",
            [](Snapshot& s) { s.notices[6].outcome = NotifiedOutcome::kRefunded; },
            Kind::kNotificationWrong},
        Breakage{
            "ARefundedPaymentNotNotifiedAsSettled",
            [](Snapshot& s) { s.notices.erase(s.notices.begin() + 8); },
            Kind::kNotificationMissing}
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
    EXPECT_EQ(r.settling, 7);  // all but the one under review and the one awaiting capture
    s.postings.clear();        // SETTLED payments without their settlement: never excused
    EXPECT_EQ(KindsOf(Check(s, o)), std::vector<Kind>(3, Kind::kSettlementMissing));
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
    o.checks.refunds = false;  // (else the refunds the PSP did not make are reported too)
    EXPECT_EQ(KindsOf(Check(s, o)), std::vector<Kind>(3, Kind::kSettledWithoutCapture));
}

TEST(Invariants, SucceededRefundsBeyondTheCaptureAreReported) {
    Snapshot s = Healthy();
    Payment& partial = *Find(s, "partial");
    partial.captured_minor = 80;  // the capture was 600; refunds of 100 SUCCEEDED
    const Report r = Check(s, At(kT0 + seconds(10)));
    EXPECT_THAT(KindsOf(r), ::testing::Contains(Kind::kRefundsExceedCapture));
    for (const auto& v : r.violations) {
        if (v.kind == Kind::kRefundsExceedCapture) {
            EXPECT_THAT(v.detail, ::testing::HasSubstr("SUCCEEDED total 100"));
        }
    }
}

TEST(Invariants, AnAutomaticCaptureTakesTheWholeAmount) {
    Snapshot s = Healthy();
    Find(s, "settled")->captured_minor = 400;
    PspOf(s, "settled")->captured_minor = 400;
    s.postings[0].amount_minor = 400;
    EXPECT_EQ(
        KindsOf(Check(s, At(kT0 + seconds(10)))), std::vector<Kind>{Kind::kCaptureAmountMismatch}
    );
}

TEST(Invariants, ARefundOfAPaymentThatNeverSettledIsReported) {
    Snapshot s = Healthy();
    s.refunds.push_back(MakeRefund("r6", "failed", 10, RefundState::kPending));
    Find(s, "failed")->refund_reserved_minor = 10;
    const auto kinds = KindsOf(Check(s, At(kT0 + seconds(10))));
    EXPECT_THAT(kinds, ::testing::Contains(Kind::kRefundStatusMismatch));
    EXPECT_THAT(kinds, ::testing::Contains(Kind::kRefundsExceedCapture));  // it captured nothing
}

TEST(Invariants, APendingRefundMayBeAheadAtThePspButNotAtRest) {
    Snapshot s = Healthy();
    s.refunds.push_back(MakeRefund("r5", "partial", 50, RefundState::kPending));
    Find(s, "partial")->refund_reserved_minor = 150;
    Options live = At(kT0 + seconds(10));
    EXPECT_TRUE(Check(s, live).Ok());  // not made at the PSP yet
    PspRecord& psp = *PspOf(s, "partial");
    psp.refunds.push_back({"rf-r5", 50});
    psp.refunded_minor = 150;
    EXPECT_TRUE(Check(s, live).Ok());  // made, the answer not recorded yet
    Options rest = live;
    rest.stuck_after = milliseconds(0);
    EXPECT_EQ(KindsOf(Check(s, rest)), std::vector<Kind>{Kind::kRefundStuck});
    psp.refunded_minor = 200;  // more than SUCCEEDED and PENDING together
    EXPECT_EQ(KindsOf(Check(s, live)), std::vector<Kind>{Kind::kPspRefundMismatch});
}

TEST(Invariants, WithinTheGraceASucceededRefundMayNotBePostedOrNotifiedYet) {
    Snapshot s = Healthy();
    s.postings.erase(s.postings.begin() + 2);  // r1's posting
    s.notices.erase(s.notices.begin() + 6);    // r1's notice
    Options o = At(kT0 + seconds(5));          // r1 ended 1 s ago
    o.grace = seconds(2);
    EXPECT_TRUE(Check(s, o).Ok()) << Describe(Check(s, o).violations.front());
    o.grace = milliseconds(0);
    EXPECT_EQ(
        KindsOf(Check(s, o)),
        (std::vector<Kind>{Kind::kRefundPostingMismatch, Kind::kNotificationMissing})
    );
}

TEST(Invariants, ARefundReadLateCountsOnlyAsInFlight) {
    Snapshot s = Healthy();
    // Made while the picture was taken: the payment read before it, the PSP, ledger and
    // notifications after.
    Refund late = MakeRefund("r5", "partial", 50, RefundState::kSucceeded);
    late.read_late = true;
    s.refunds.push_back(late);
    PspRecord& psp = *PspOf(s, "partial");
    psp.refunds.push_back({"rf-r5", 50});
    psp.refunded_minor = 150;
    s.postings.push_back({"partial", PostingPurpose::kRefund, 50, "USD", "r5"});
    s.notices.push_back({"partial", NotifiedOutcome::kPartiallyRefunded, "r5"});
    EXPECT_TRUE(Check(s, At(kT0 + seconds(10))).Ok());
    s.refunds.back().status = RefundState::kFailed;  // and FAILED: never made, never posted
    const auto kinds = KindsOf(Check(s, At(kT0 + seconds(10))));
    EXPECT_THAT(kinds, ::testing::Contains(Kind::kPspRefundMismatch));
    EXPECT_THAT(kinds, ::testing::Contains(Kind::kRefundPostingMismatch));
}

TEST(Invariants, WithoutTheRefundsPartAPictureOfTheSeedsColumnsStillChecks) {
    Snapshot s = Healthy();
    s.refunds.clear();
    for (auto& p : s.payments) {
        p.captured_minor.reset();
        p.refunded_minor = 0;
        p.refund_reserved_minor = 0;
    }
    Options o = At(kT0 + seconds(10));
    o.checks.refunds = false;
    // Without the captured column a capture is of the whole amount: the partial one disagrees.
    const auto kinds = KindsOf(Check(s, o));
    EXPECT_THAT(kinds, ::testing::Contains(Kind::kCaptureAmountMismatch));
    EXPECT_THAT(kinds, ::testing::Contains(Kind::kSettlementMismatch));
    // Nor is a capture refunded at the PSP one a settled payment may have (as before refunds):
    // the refunded payment's and the settled one's whose capture the PSP refunded.
    s = Healthy();
    PspOf(s, "settled")->state = PspState::kRefunded;
    EXPECT_EQ(KindsOf(Check(s, o)), std::vector<Kind>(2, Kind::kSettledWithoutCapture));
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
    for (const RefundState state :
         {RefundState::kPending, RefundState::kSucceeded, RefundState::kFailed}) {
        EXPECT_EQ(ParseRefundState(ToString(state)), state);
    }
    EXPECT_EQ(ParseRefundState("pending"), std::nullopt);
    EXPECT_EQ(ToString(Kind::kRefundsExceedCapture), "refunds_exceed_capture");
    EXPECT_EQ(ToString(Kind::kPspRefundMismatch), "psp_refund_mismatch");
    EXPECT_EQ(ToString(Kind::kRefundPostingMismatch), "refund_posting_mismatch");
    EXPECT_EQ(ToString(Kind::kCaptureExceedsAuthorization), "capture_exceeds_authorization");
}

}  // namespace
}  // namespace sagapay::invariants
