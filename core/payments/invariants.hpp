#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"
#include "core/payments/payment_request.hpp"
#include "core/payments/payment_status.hpp"

namespace sagapay::invariants {

/// SagaPay's promises about money, checked over one picture of the whole system: the
/// orchestrator's payments and refunds, what the gateway accepted, the PSP's books, the ledger,
/// the notifications, the outboxes and the dead letters. One checker for the deterministic
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
    CaptureMethod capture_method = CaptureMethod::kAutomatic;
    /// Manual capture, AUTHORIZED, neither captured nor canceled yet: waiting on the merchant,
    /// not stuck within Options::capture_window (the sweeper voids it then).
    bool awaiting_capture = false;
    /// What the merchant asked to capture (`capture_amount_cents`); 0: not asked.
    std::int64_t capture_requested_minor = 0;
    /// What the PSP captured, as the orchestrator recorded it (`captured_cents`); the settlement
    /// and the refunds are bounded by it. Nullopt: not recorded (nothing captured yet, or a
    /// picture without the column, where a capture is of the whole amount).
    std::optional<std::int64_t> captured_minor{};
    /// The payment's own refund totals (`refunded_cents`, `refund_reserved_cents`, kept by the
    /// database's triggers): SUCCEEDED refunds, and PENDING plus SUCCEEDED ones.
    std::int64_t refunded_minor = 0;
    std::int64_t refund_reserved_minor = 0;
};

/// Where a refund stands in the orchestrator (`refunds.status`).
enum class RefundState { kPending, kSucceeded, kFailed };
[[nodiscard]] std::string_view ToString(RefundState state
) noexcept;  ///< PENDING, SUCCEEDED, FAILED
[[nodiscard]] std::optional<RefundState> ParseRefundState(std::string_view text) noexcept;

/// A refund of a payment, as the orchestrator holds it.
struct Refund {
    std::string refund_id;
    std::string payment_id;
    std::int64_t amount_minor = 0;
    std::string currency;
    RefundState status = RefundState::kPending;
    Clock::TimePoint created_at{};
    Clock::TimePoint updated_at{};  ///< When it last changed (for an ended one: when it ended).
    /// Read after the other parts because one of them named it (a refund made while the picture
    /// was taken): its payment's totals as read do not count it, so it is only checked for
    /// what cannot be (a FAILED refund made at the PSP or posted, another amount), as in flight.
    bool read_late = false;
};

/// The PSP key a refund the saga asked for is made under: `rf-<refund_id>` (the provider's
/// OnRefundRequested). The provider's other refunds (a release of what an unpaid payment's late
/// capture took) use other keys.
inline constexpr std::string_view kRefundKeyPrefix = "rf-";

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

/// One refund the PSP made under an authorization.
struct PspRefund {
    std::string key;  ///< The refund's idempotency key (kRefundKeyPrefix + refund id, or another).
    std::int64_t amount_minor = 0;
};

struct PspRecord {
    std::string payment_id;
    std::string key;  ///< The authorization's idempotency key.
    PspState state = PspState::kAuthorized;
    int captures = 0;  ///< Captures the PSP made under the key (a refund does not undo the count).
    std::int64_t amount_minor = 0;  ///< What was authorized.
    std::string currency;
    /// What the capture took (`captured_amount_cents`, less than authorized for a partial
    /// capture); nullopt when the PSP does not say: the whole amount once captured.
    std::optional<std::int64_t> captured_minor{};
    std::int64_t refunded_minor = 0;  ///< `refunded_amount_cents`: the sum of `refunds`.
    std::vector<PspRefund> refunds{};
};

/// A ledger posting of one payment: its settlement, its reversal, or one of its refunds.
enum class PostingPurpose { kSettlement, kReversal, kRefund };

struct Posting {
    std::string payment_id;
    PostingPurpose purpose = PostingPurpose::kSettlement;
    std::int64_t amount_minor = 0;
    std::string currency;
    /// A refund's: the refund it posts (`refund:<payment_id>:<refund_id>`; empty when the
    /// transaction id names none).
    std::string refund_id{};
};

/// The sum of all debit and all credit lines of the ledger in one currency.
struct CurrencyTotals {
    std::string currency;
    std::int64_t debits_minor = 0;
    std::int64_t credits_minor = 0;
};

/// The outcome a notification announced: a payment's, or a refund's (it succeeded and left part
/// or none of the capture, or the PSP refused it).
enum class NotifiedOutcome {
    kSettled,
    kFailed,
    kReversed,
    kPartiallyRefunded,
    kRefunded,
    kRefundFailed
};

struct Notice {
    std::string payment_id;
    NotifiedOutcome outcome = NotifiedOutcome::kSettled;
    std::string refund_id{};  ///< A refund's outcome: the refund it announces.
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
    std::vector<Refund> refunds;
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
    /// The orchestrator's refunds and the payments' capture and refund columns (captured and
    /// refunded amounts): without them a capture is expected of the whole amount and no refund
    /// is checked.
    bool refunds = true;
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
    /// A manual-capture payment awaiting its capture longer than this is stuck: the sweeper
    /// should have voided it (CAPTURE_WINDOW_SECONDS). Within it, it waits on the merchant.
    std::chrono::milliseconds capture_window{std::chrono::hours(24 * 7)};
    Parts checks;
};

/// The kinds of broken promise, with stable names (Describe, `sagapay verify --json`).
enum class Kind {
    kAcceptedMissing,          ///< The gateway accepted it; the orchestrator has no such payment.
    kAcceptedOtherPayment,     ///< One key, two payment ids told to callers.
    kDuplicateIdempotencyKey,  ///< Two payments share an idempotency key.
    kStuck,                    ///< Not final past `stuck_after`.
    kDoubleCapture,            ///< The PSP captured more than once for one payment.
    kSettledWithoutCapture,    ///< SETTLED (or refunded since), but no capture at the PSP.
    /// The PSP's capture is not what the payment captured (its whole amount unless a manual
    /// partial capture), or an automatic capture took less, or a manual one other than asked.
    kCaptureAmountMismatch,
    /// More captured (or asked to capture) than authorized, at the PSP or in the orchestrator.
    kCaptureExceedsAuthorization,
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
    /// A payment's SUCCEEDED refunds, or its PENDING and SUCCEEDED ones, total more than it
    /// captured (or it captured nothing).
    kRefundsExceedCapture,
    /// The payment's refunded (reserved) total is not the sum of its SUCCEEDED (and PENDING)
    /// refunds, or a refund is in another currency.
    kRefundTotalMismatch,
    /// REFUNDED but not refunded in full, PARTIALLY_REFUNDED but refunded in full or not at all,
    /// SETTLED with a refund SUCCEEDED, or a refund of a payment that never settled.
    kRefundStatusMismatch,
    kRefundStuck,           ///< A refund PENDING past `stuck_after` (zero: any PENDING).
    kRefundWithoutPayment,  ///< A refund of an unknown payment.
    /// The PSP's refunds disagree with the saga's: a SUCCEEDED refund the PSP did not make (or of
    /// another amount), a refund made for a FAILED or unknown refund, a refunded total outside
    /// [SUCCEEDED, SUCCEEDED + PENDING] (at rest: exactly SUCCEEDED), more refunded than captured.
    kPspRefundMismatch,
    /// A REFUND posting of a FAILED or unknown refund, of another amount, twice, beyond the
    /// settlement or without one; a SUCCEEDED refund not posted.
    kRefundPostingMismatch,
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
    std::int64_t awaiting_capture = 0;  ///< Manual captures waiting on the merchant.
    std::map<RefundState, std::int64_t> refunds_by_status;
    /// Of the final payments: the longest time from creation to the final state (the bound the
    /// issue asks the checker to report), and the 99th percentile. A refunded payment's last
    /// change is its refund's, not its settlement: it is left out.
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
