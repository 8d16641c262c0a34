#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"
#include "core/payments/payment_status.hpp"

namespace sagapay::invariants {

/// SagaPay's promises about money, checked over one picture of the whole system: the
/// orchestrator's payments, what the gateway accepted, the PSP's books, the ledger, the
/// notifications, the outboxes and the dead letters. One checker for the deterministic
/// simulation (which builds the picture from its in-memory stores) and `sagapay verify` (which
/// reads it from a live system). Pure: no I/O, no clock.
///
///   Snapshot s = ReadFromSomewhere();
///   Report r = Check(s, Options{.now = clock.Now()});
///   for (const auto& v : r.violations) std::cout << Describe(v) << '\n';

/// A payment as the orchestrator holds it.
struct Payment {
    std::string payment_id;
    std::string idempotency_key;
    PaymentStatus status = PaymentStatus::kCreated;
    std::int64_t amount_minor = 0;
    std::string currency;
    Clock::TimePoint created_at;
    Clock::TimePoint updated_at;  ///< When it last changed state (for a final one: when it ended).
    /// Waiting on a person (a pending manual review): not stuck, however old.
    bool awaiting_review = false;
};

/// A POST /payments the gateway answered with success: the caller was told this payment exists.
struct Accepted {
    std::string idempotency_key;
    std::string payment_id;
};

/// What the PSP did under one authorization key.
enum class PspState { kAuthorized, kDeclined, kCaptured, kVoided, kRefunded };
[[nodiscard]] std::string_view ToString(PspState state) noexcept;
/// AUTHORIZED, DECLINED, CAPTURED, VOIDED, REFUNDED (the sandbox's `status`).
[[nodiscard]] std::optional<PspState> ParsePspState(std::string_view text) noexcept;

struct PspRecord {
    std::string payment_id;
    std::string key;  ///< The authorization's idempotency key.
    PspState state = PspState::kAuthorized;
    int captures = 0;  ///< Captures the PSP made under the key (a refund does not undo the count).
    std::int64_t amount_minor = 0;
    std::string currency;
};

/// A ledger posting of one payment: a settlement or its reversal.
enum class PostingPurpose { kSettlement, kReversal };

struct Posting {
    std::string payment_id;
    PostingPurpose purpose = PostingPurpose::kSettlement;
    std::int64_t amount_minor = 0;
    std::string currency;
};

/// The sum of all debit and all credit lines of the ledger in one currency.
struct CurrencyTotals {
    std::string currency;
    std::int64_t debits_minor = 0;
    std::int64_t credits_minor = 0;
};

/// The outcome a notification announced.
enum class NotifiedOutcome { kSettled, kFailed, kReversed };

struct Notice {
    std::string payment_id;
    NotifiedOutcome outcome = NotifiedOutcome::kSettled;
};

/// Outbox rows of one service not yet handed to the bus.
struct UnsentOutbox {
    std::string service;
    std::int64_t rows = 0;
    Clock::TimePoint oldest;
};

/// A parked message.
struct DeadLetter {
    std::string topic;
    std::string reason;      ///< error_type (RETRY_EXHAUSTED, NON_RETRYABLE) or the park reason.
    std::string payment_id;  ///< Empty when the message named no payment.
};

/// Everything the checker reads. A part left empty is not checked (say so in `Options::checks`).
struct Snapshot {
    std::vector<Payment> payments;
    std::vector<Accepted> accepted;
    std::vector<PspRecord> psp;
    std::vector<Posting> postings;
    std::vector<CurrencyTotals> ledger_totals;
    std::vector<Notice> notices;
    std::vector<UnsentOutbox> outbox;
    std::vector<DeadLetter> dead_letters;
};

/// Which parts of the picture were read (a live verify may lack access to one of them).
struct Parts {
    bool accepted = true;
    bool psp = true;
    bool ledger = true;
    bool notices = true;
    bool outbox = true;
    bool dead_letters = true;
};

struct Options {
    Clock::TimePoint now;
    /// A payment not final this long after its last change is stuck (one awaiting a person's
    /// review excepted). Zero: every payment must be final (the simulation's end, a quiesced
    /// chaos run).
    std::chrono::milliseconds stuck_after{std::chrono::minutes(5)};
    /// An unsent outbox row older than this is a violation.
    std::chrono::milliseconds outbox_after{std::chrono::minutes(1)};
    /// A payment that became final less than this ago may still be on its way downstream: its
    /// notification and the release of what the PSP holds for it are not checked yet (a live
    /// system; zero once everything rests). Its capture, settlement and postings always are.
    std::chrono::milliseconds grace{0};
    Parts checks;
};

/// The kinds of broken promise, with stable names (Describe, `sagapay verify --json`).
enum class Kind {
    kAcceptedMissing,            ///< The gateway accepted it; the orchestrator has no such payment.
    kAcceptedOtherPayment,       ///< One key, two payment ids told to callers.
    kDuplicateIdempotencyKey,    ///< Two payments share an idempotency key.
    kStuck,                      ///< Not final past `stuck_after`.
    kDoubleCapture,              ///< The PSP captured more than once for one payment.
    kSettledWithoutCapture,      ///< SETTLED, but no capture stands at the PSP.
    kCaptureAmountMismatch,      ///< The standing capture is not the payment's amount.
    kCaptureStanding,            ///< FAILED or REVERSED, and a capture stands at the PSP.
    kHoldStanding,               ///< FAILED or REVERSED, and an authorization hold stands.
    kPspWithoutPayment,          ///< The PSP holds or took money for an unknown payment.
    kLedgerUnbalanced,           ///< Debits differ from credits in a currency.
    kSettlementMissing,          ///< SETTLED without its settlement posting.
    kSettlementMismatch,         ///< The settlement is not the payment's amount and currency.
    kSettlementTwice,            ///< More than one settlement (or reversal) of a payment.
    kPostedWithoutSettling,      ///< A settlement stands for a payment that did not settle.
    kReversalWithoutSettlement,  ///< A reversal of nothing, or of another amount.
    kPostingWithoutPayment,      ///< A posting for an unknown payment.
    kNotificationMissing,        ///< A final payment whose outcome was not notified.
    kNotificationWrong,          ///< A notification of an outcome the payment never reached.
    kOutboxBehind,               ///< An outbox row left unsent past `outbox_after`.
    kUnexplainedDeadLetter,      ///< A dead letter whose payment's final state does not explain it.
};
[[nodiscard]] std::string_view ToString(Kind kind) noexcept;

struct Violation {
    Kind kind = Kind::kStuck;
    std::string payment_id;  ///< Empty for a violation of no one payment.
    std::string detail;
};

/// "kind payment: detail".
[[nodiscard]] std::string Describe(const Violation& violation);

struct Report {
    std::vector<Violation> violations;
    std::map<PaymentStatus, std::int64_t> by_status;
    std::int64_t awaiting_review = 0;
    /// Of the final payments: the longest time from creation to the final state (the bound the
    /// issue asks the checker to report), and the 99th percentile.
    std::chrono::milliseconds longest_to_final{0};
    std::chrono::milliseconds p99_to_final{0};
    /// Of the payments not final: the oldest's age since its last change.
    std::chrono::milliseconds oldest_in_flight{0};
    /// Final payments within `Options::grace` of ending, whose downstream checks were deferred.
    std::int64_t settling = 0;

    [[nodiscard]] bool Ok() const noexcept { return violations.empty(); }
};

[[nodiscard]] Report Check(const Snapshot& snapshot, const Options& options);

}  // namespace sagapay::invariants
