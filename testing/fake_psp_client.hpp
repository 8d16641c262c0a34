#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/money.hpp"
#include "core/ports/psp_client.hpp"

namespace sagapay::testing {

/// A PspClient scripted per call, for tests. Each operation answers from its queue of scripted
/// answers, first in first out, and with its default once the queue is empty. Like the real PSP it
/// remembers what it processed per key: an inquiry with nothing scripted answers what the
/// authorizations under that key did (kNotFound when nothing was processed), and it keeps each
/// key's books as the sandbox does: the amount authorized, captured (whole or partial) and
/// refunded, refund by refund. Unscripted captures and refunds follow those books (the default
/// answer unless the sandbox would refuse); scripted answers are what the test says, and what
/// they say happened is booked. Every call is recorded. Thread-safe.
///
///   FakePspClient psp;
///   psp.ScriptAuthorize(FakePspClient::NoAnswer());
///   psp.ScriptLostResponse("psp-auth-7");   // processed, but the caller sees kUnknown
///   … run the code under test …
///   EXPECT_EQ(psp.Count(PspOperation::kAuthorize), 2);
class FakePspClient final : public PspClient {
public:
    struct Call {
        PspOperation operation = PspOperation::kAuthorize;
        std::string key;  ///< The authorization key (every operation has one).
        /// kCapture, kRefund and kInquireRefund: the capture or refund key.
        std::string capture_key;
        std::optional<Money> amount;    ///< kAuthorize only.
        std::int64_t amount_minor = 0;  ///< kCapture and kRefund: the amount asked (0: all).
    };

    // Answers for the behaviours tests need; `latency` is what the answer reports (nothing sleeps).
    [[nodiscard]] static PspAnswer Authorized(
        std::string authorization_id = "psp-auth-1",
        std::chrono::milliseconds latency = std::chrono::milliseconds(0)
    );
    [[nodiscard]] static PspAnswer Declined(
        std::chrono::milliseconds latency = std::chrono::milliseconds(0)
    );
    /// Timed out, never processed (the sandbox's force-timeout): an inquiry finds nothing.
    [[nodiscard]] static PspAnswer NoAnswer(
        std::chrono::milliseconds latency = std::chrono::milliseconds(0)
    );
    [[nodiscard]] static PspAnswer NotFound();
    /// Authorized after `latency` (the sandbox's force-slow).
    [[nodiscard]] static PspAnswer Slow(std::chrono::milliseconds latency);
    /// What an inquiry reports for an authorization the PSP has voided (a 200 with status
    /// VOIDED): released, never read as authorized.
    [[nodiscard]] static PspAnswer VoidedAtPsp(std::string authorization_id = "psp-auth-1");
    /// Captured; `captured_minor` 0 is filled from the key's books.
    [[nodiscard]] static CaptureAnswer Captured(std::int64_t captured_minor = 0);
    /// The PSP answered and will not capture (HTTP 409).
    [[nodiscard]] static CaptureAnswer CaptureRefused();
    [[nodiscard]] static CaptureAnswer CaptureUnanswered();
    [[nodiscard]] static VoidAnswer Released();
    [[nodiscard]] static VoidAnswer VoidUnanswered();
    [[nodiscard]] static RefundAnswer Refunded();
    /// The PSP answered and will not refund (HTTP 409 or 422).
    [[nodiscard]] static RefundAnswer RefundRefused();
    [[nodiscard]] static RefundAnswer RefundUnanswered();
    /// A refund inquiry for a refund key the PSP never processed.
    [[nodiscard]] static RefundAnswer RefundNotFound();

    /// The next authorization answers `answer`; kAuthorized and kDeclined are remembered for the
    /// key (the PSP processed them).
    void ScriptAuthorize(PspAnswer answer);
    /// The next authorization is processed (authorized as `authorization_id`) but its response
    /// is lost: the caller sees kUnknown, and a later inquiry answers authorized.
    void ScriptLostResponse(std::string authorization_id = "psp-auth-1");
    /// The PSP processes the authorization sent under `key` late (after answering a timeout and
    /// a NOT_FOUND inquiry): from now on it holds it as authorized.
    void ProcessLate(const std::string& key, std::string authorization_id = "psp-auth-late");
    void ScriptInquire(PspAnswer answer);
    void ScriptCapture(CaptureAnswer answer);
    void ScriptVoid(VoidAnswer answer);
    void ScriptRefund(RefundAnswer answer);
    void ScriptInquireRefund(RefundAnswer answer);

    /// What each operation answers once its queue is empty. By default: authorized as
    /// "psp-auth-1", the remembered state (else kNotFound), captured, released, refunded, and a
    /// refund inquiry from the books (kRefunded when made under that refund key, else
    /// kNotFound). A default kCaptured or kRefunded turns into a refusal where the sandbox would
    /// refuse by the key's books: a capture above the authorized amount or under a second
    /// capture key (or the same key for another amount), a refund above what is left of the
    /// capture, a refund key again for another amount. What a capture, void or refund did is
    /// remembered for the key's inquiries (a key reads kRefunded once refunded in full).
    void SetDefaultAuthorize(PspAnswer answer);
    void SetDefaultInquire(PspAnswer answer);
    void SetDefaultCapture(CaptureAnswer answer);
    void SetDefaultVoid(VoidAnswer answer);
    void SetDefaultRefund(RefundAnswer answer);

    /// What the books say was captured under the authorization `key` (0: nothing, or an amount
    /// the fake never learnt) and refunded in all.
    [[nodiscard]] std::int64_t CapturedMinor(const std::string& key) const;
    [[nodiscard]] std::int64_t RefundedMinor(const std::string& key) const;

    [[nodiscard]] std::vector<Call> Calls() const;
    [[nodiscard]] std::vector<Call> CallsOf(PspOperation operation) const;
    [[nodiscard]] std::size_t Count(PspOperation operation) const;

    // PspClient
    PspAnswer Authorize(const AuthorizeCall& call) override;
    PspAnswer Inquire(const std::string& key) override;
    CaptureAnswer Capture(
        const std::string& authorization_key,
        const std::string& capture_key,
        std::int64_t amount_minor
    ) override;
    VoidAnswer Void(const std::string& authorization_key) override;
    RefundAnswer Refund(
        const std::string& authorization_key,
        const std::string& refund_key,
        std::int64_t amount_minor
    ) override;
    RefundAnswer InquireRefund(const std::string& authorization_key, const std::string& refund_key)
        override;

private:
    /// One authorization key's money, as the PSP books it.
    struct Books {
        std::optional<std::int64_t> authorized_minor;  ///< Unset: authorized elsewhere, or not.
        bool captured = false;
        std::string capture_key;
        std::optional<std::int64_t> captured_minor;   ///< Unset: captured for an unknown amount.
        std::map<std::string, std::int64_t> refunds;  ///< Refund key → amount (0: unknown).
        std::int64_t refunded_minor = 0;
    };

    struct ScriptedAuthorize {
        PspAnswer seen;                      ///< What the caller gets.
        std::optional<PspAnswer> processed;  ///< What an inquiry later finds, if anything.
    };

    [[nodiscard]] static std::optional<PspAnswer> ProcessedBy(const PspAnswer& answer);
    /// The default capture or refund answer, or a refusal where the books say the PSP refuses.
    [[nodiscard]] CaptureAnswer DefaultCapture(
        const Books& books, const std::string& capture_key, std::int64_t amount_minor
    ) const;
    [[nodiscard]] RefundAnswer DefaultRefund(
        const Books& books, const std::string& refund_key, std::int64_t amount_minor
    ) const;
    /// An authorized key captured (or voided, refunded) for good: its inquiries say so.
    void Remember(const std::string& key, bool happened, PspOutcome outcome);

    mutable std::mutex mutex_;
    std::deque<ScriptedAuthorize> authorize_;
    std::deque<PspAnswer> inquire_;
    std::deque<CaptureAnswer> capture_;
    std::deque<VoidAnswer> void_;
    std::deque<RefundAnswer> refund_;
    std::deque<RefundAnswer> inquire_refund_;
    PspAnswer default_authorize_ = Authorized();
    std::optional<PspAnswer> default_inquire_;  ///< Unset: the remembered state, else kNotFound.
    CaptureAnswer default_capture_ = Captured();
    VoidAnswer default_void_ = Released();
    RefundAnswer default_refund_ = Refunded();
    std::map<std::string, PspAnswer> processed_;  ///< Key → what the PSP did under it.
    std::map<std::string, Books> books_;          ///< Authorization key → its money.
    std::vector<Call> calls_;
};

}  // namespace sagapay::testing
