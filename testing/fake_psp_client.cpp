#include "testing/fake_psp_client.hpp"

#include <algorithm>
#include <iterator>
#include <utility>

namespace sagapay::testing {

PspAnswer FakePspClient::Authorized(
    std::string authorization_id, std::chrono::milliseconds latency
) {
    return {PspOutcome::kAuthorized, std::move(authorization_id), "http 200", latency};
}

PspAnswer FakePspClient::Declined(std::chrono::milliseconds latency) {
    return {PspOutcome::kDeclined, "", "http 402", latency};
}

PspAnswer FakePspClient::NoAnswer(std::chrono::milliseconds latency) {
    return {PspOutcome::kUnknown, "", "timeout", latency};
}

PspAnswer FakePspClient::NotFound() {
    return {PspOutcome::kNotFound, "", "http 404", std::chrono::milliseconds(0)};
}

PspAnswer FakePspClient::Slow(std::chrono::milliseconds latency) {
    return Authorized("psp-auth-1", latency);
}

PspAnswer FakePspClient::VoidedAtPsp(std::string authorization_id) {
    return {PspOutcome::kVoided, std::move(authorization_id), "http 200 VOIDED", {}};
}

CaptureAnswer FakePspClient::Captured(std::int64_t captured_minor) {
    return {CaptureOutcome::kCaptured, std::chrono::milliseconds(0), captured_minor};
}

CaptureAnswer FakePspClient::CaptureRefused() {
    return {CaptureOutcome::kRefused, std::chrono::milliseconds(0)};
}

CaptureAnswer FakePspClient::CaptureUnanswered() {
    return {CaptureOutcome::kUnknown, std::chrono::milliseconds(0)};
}

VoidAnswer FakePspClient::Released() {
    return {VoidOutcome::kReleased, std::chrono::milliseconds(0)};
}

VoidAnswer FakePspClient::VoidUnanswered() {
    return {VoidOutcome::kUnknown, std::chrono::milliseconds(0)};
}

RefundAnswer FakePspClient::Refunded() {
    return {RefundOutcome::kRefunded, std::chrono::milliseconds(0)};
}

RefundAnswer FakePspClient::RefundRefused() {
    return {RefundOutcome::kRefused, std::chrono::milliseconds(0)};
}

RefundAnswer FakePspClient::RefundUnanswered() {
    return {RefundOutcome::kUnknown, std::chrono::milliseconds(0)};
}

RefundAnswer FakePspClient::RefundNotFound() {
    return {RefundOutcome::kNotFound, std::chrono::milliseconds(0)};
}

std::optional<PspAnswer> FakePspClient::ProcessedBy(const PspAnswer& answer) {
    if (answer.outcome == PspOutcome::kAuthorized || answer.outcome == PspOutcome::kDeclined) {
        return answer;
    }
    return std::nullopt;
}

void FakePspClient::ScriptAuthorize(PspAnswer answer) {
    const std::lock_guard lock(mutex_);
    auto processed = ProcessedBy(answer);
    authorize_.push_back({std::move(answer), std::move(processed)});
}

void FakePspClient::ScriptLostResponse(std::string authorization_id) {
    const std::lock_guard lock(mutex_);
    authorize_.push_back({NoAnswer(), Authorized(std::move(authorization_id))});
}

void FakePspClient::ProcessLate(const std::string& key, std::string authorization_id) {
    const std::lock_guard lock(mutex_);
    processed_[key] = Authorized(std::move(authorization_id));
}

void FakePspClient::ScriptInquire(PspAnswer answer) {
    const std::lock_guard lock(mutex_);
    inquire_.push_back(std::move(answer));
}

void FakePspClient::ScriptCapture(CaptureAnswer answer) {
    const std::lock_guard lock(mutex_);
    capture_.push_back(answer);
}

void FakePspClient::ScriptVoid(VoidAnswer answer) {
    const std::lock_guard lock(mutex_);
    void_.push_back(answer);
}

void FakePspClient::ScriptRefund(RefundAnswer answer) {
    const std::lock_guard lock(mutex_);
    refund_.push_back(answer);
}

void FakePspClient::ScriptInquireRefund(RefundAnswer answer) {
    const std::lock_guard lock(mutex_);
    inquire_refund_.push_back(answer);
}

void FakePspClient::SetDefaultAuthorize(PspAnswer answer) {
    const std::lock_guard lock(mutex_);
    default_authorize_ = std::move(answer);
}

void FakePspClient::SetDefaultInquire(PspAnswer answer) {
    const std::lock_guard lock(mutex_);
    default_inquire_ = std::move(answer);
}

void FakePspClient::SetDefaultCapture(CaptureAnswer answer) {
    const std::lock_guard lock(mutex_);
    default_capture_ = answer;
}

void FakePspClient::SetDefaultVoid(VoidAnswer answer) {
    const std::lock_guard lock(mutex_);
    default_void_ = answer;
}

void FakePspClient::SetDefaultRefund(RefundAnswer answer) {
    const std::lock_guard lock(mutex_);
    default_refund_ = answer;
}

std::int64_t FakePspClient::CapturedMinor(const std::string& key) const {
    const std::lock_guard lock(mutex_);
    const auto it = books_.find(key);
    return it != books_.end() ? it->second.captured_minor.value_or(0) : 0;
}

std::int64_t FakePspClient::RefundedMinor(const std::string& key) const {
    const std::lock_guard lock(mutex_);
    const auto it = books_.find(key);
    return it != books_.end() ? it->second.refunded_minor : 0;
}

std::vector<FakePspClient::Call> FakePspClient::Calls() const {
    const std::lock_guard lock(mutex_);
    return calls_;
}

std::vector<FakePspClient::Call> FakePspClient::CallsOf(PspOperation operation) const {
    const std::lock_guard lock(mutex_);
    std::vector<Call> out;
    std::copy_if(calls_.begin(), calls_.end(), std::back_inserter(out), [&](const Call& call) {
        return call.operation == operation;
    });
    return out;
}

std::size_t FakePspClient::Count(PspOperation operation) const {
    return CallsOf(operation).size();
}

PspAnswer FakePspClient::Authorize(const AuthorizeCall& call) {
    const std::lock_guard lock(mutex_);
    calls_.push_back({PspOperation::kAuthorize, call.key, "", call.amount});
    ScriptedAuthorize next{default_authorize_, ProcessedBy(default_authorize_)};
    if (!authorize_.empty()) {
        next = std::move(authorize_.front());
        authorize_.pop_front();
    }
    if (next.processed) {
        processed_[call.key] = *next.processed;
        if (next.processed->outcome == PspOutcome::kAuthorized) {
            books_[call.key].authorized_minor = call.amount.amount_minor;
        }
    }
    return next.seen;
}

PspAnswer FakePspClient::Inquire(const std::string& key) {
    const std::lock_guard lock(mutex_);
    calls_.push_back({PspOperation::kInquire, key, "", std::nullopt});
    if (!inquire_.empty()) {
        PspAnswer next = std::move(inquire_.front());
        inquire_.pop_front();
        return next;
    }
    if (default_inquire_) {
        return *default_inquire_;
    }
    const auto it = processed_.find(key);
    return it != processed_.end() ? it->second : NotFound();
}

CaptureAnswer FakePspClient::DefaultCapture(
    const Books& books, const std::string& capture_key, std::int64_t amount_minor
) const {
    const CaptureAnswer answer = default_capture_;
    if (answer.outcome != CaptureOutcome::kCaptured) {
        return answer;
    }
    if (books.captured) {  // one capture per authorization: replayed under its key only
        // 0 asks for the whole authorized amount: after a partial capture, another amount.
        const std::optional<std::int64_t> asked =
            amount_minor > 0 ? std::optional<std::int64_t>(amount_minor) : books.authorized_minor;
        const bool same_amount = !asked || !books.captured_minor || *asked == *books.captured_minor;
        return books.capture_key == capture_key && same_amount ? answer : CaptureRefused();
    }
    if (amount_minor < 0 || (books.authorized_minor && amount_minor > *books.authorized_minor)) {
        return CaptureRefused();
    }
    return answer;
}

CaptureAnswer FakePspClient::Capture(
    const std::string& authorization_key, const std::string& capture_key, std::int64_t amount_minor
) {
    const std::lock_guard lock(mutex_);
    calls_.push_back(
        {PspOperation::kCapture, authorization_key, capture_key, std::nullopt, amount_minor}
    );
    Books& books = books_[authorization_key];
    CaptureAnswer next = DefaultCapture(books, capture_key, amount_minor);
    if (!capture_.empty()) {
        next = capture_.front();
        capture_.pop_front();
    }
    if (next.outcome == CaptureOutcome::kCaptured) {
        if (!books.captured) {
            books.captured = true;
            books.capture_key = capture_key;
            books.captured_minor = amount_minor > 0 ? std::optional<std::int64_t>(amount_minor)
                                                    : books.authorized_minor;
        }
        if (next.captured_minor == 0) {
            next.captured_minor = books.captured_minor.value_or(0);
        }
    }
    Remember(authorization_key, next.outcome == CaptureOutcome::kCaptured, PspOutcome::kCaptured);
    return next;
}

VoidAnswer FakePspClient::Void(const std::string& authorization_key) {
    const std::lock_guard lock(mutex_);
    calls_.push_back({PspOperation::kVoid, authorization_key, "", std::nullopt});
    VoidAnswer next = default_void_;
    if (!void_.empty()) {
        next = void_.front();
        void_.pop_front();
    }
    const auto it = processed_.find(authorization_key);
    if (next.outcome == VoidOutcome::kReleased && it != processed_.end() &&
        it->second.outcome == PspOutcome::kAuthorized) {
        it->second.outcome = PspOutcome::kVoided;
    }
    return next;
}

RefundAnswer FakePspClient::DefaultRefund(
    const Books& books, const std::string& refund_key, std::int64_t amount_minor
) const {
    const RefundAnswer answer = default_refund_;
    if (answer.outcome != RefundOutcome::kRefunded) {
        return answer;
    }
    if (const auto made = books.refunds.find(refund_key); made != books.refunds.end()) {
        // The same refund again; the same key for another amount is refused.
        return amount_minor == 0 || made->second == 0 || made->second == amount_minor
                   ? answer
                   : RefundRefused();
    }
    if (amount_minor < 0) {
        return RefundRefused();
    }
    if (books.captured_minor) {
        const std::int64_t left = *books.captured_minor - books.refunded_minor;
        const std::int64_t wanted = amount_minor == 0 ? left : amount_minor;
        if (wanted <= 0 || wanted > left) {
            return RefundRefused();  // refunded in full already, or more than is left
        }
    }
    return answer;
}

RefundAnswer FakePspClient::Refund(
    const std::string& authorization_key, const std::string& refund_key, std::int64_t amount_minor
) {
    const std::lock_guard lock(mutex_);
    calls_.push_back(
        {PspOperation::kRefund, authorization_key, refund_key, std::nullopt, amount_minor}
    );
    Books& books = books_[authorization_key];
    RefundAnswer next = DefaultRefund(books, refund_key, amount_minor);
    if (!refund_.empty()) {
        next = refund_.front();
        refund_.pop_front();
    }
    if (next.outcome != RefundOutcome::kRefunded) {
        return next;
    }
    if (!books.refunds.contains(refund_key)) {
        std::int64_t refunded = amount_minor;
        if (amount_minor == 0 && books.captured_minor) {
            refunded = *books.captured_minor - books.refunded_minor;  // the rest
        }
        books.refunds.emplace(refund_key, refunded);
        books.refunded_minor += refunded;
    }
    // In full: all that was captured is back (or, the amount unknown, this refund was "all").
    const bool in_full = books.captured_minor ? books.refunded_minor >= *books.captured_minor
                                              : books.refunds.at(refund_key) == 0;
    const auto it = processed_.find(authorization_key);
    if (in_full && it != processed_.end() && it->second.outcome == PspOutcome::kCaptured) {
        it->second.outcome = PspOutcome::kRefunded;
    }
    return next;
}

RefundAnswer FakePspClient::InquireRefund(
    const std::string& authorization_key, const std::string& refund_key
) {
    const std::lock_guard lock(mutex_);
    calls_.push_back({PspOperation::kInquireRefund, authorization_key, refund_key, std::nullopt});
    if (!inquire_refund_.empty()) {
        const RefundAnswer next = inquire_refund_.front();
        inquire_refund_.pop_front();
        return next;
    }
    const auto it = books_.find(authorization_key);
    return it != books_.end() && it->second.refunds.contains(refund_key) ? Refunded()
                                                                         : RefundNotFound();
}

void FakePspClient::Remember(const std::string& key, bool happened, PspOutcome outcome) {
    const auto it = processed_.find(key);
    if (happened && it != processed_.end() && it->second.outcome == PspOutcome::kAuthorized) {
        it->second.outcome = outcome;
    }
}

}  // namespace sagapay::testing
