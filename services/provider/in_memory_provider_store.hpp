#pragma once

#include <algorithm>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

#include "services/provider/provider_store.hpp"

namespace sagapay::provider {

/// ProviderStore in memory, for handler tests: the same rules as PgProviderStore without the
/// locks (one unit of work at a time). Copyable, so a test can undo a unit of work that threw by
/// restoring a copy taken before it.
class InMemoryProviderStore final : public ProviderStore {
public:
    // ProviderStore
    bool InsertAuthorizing(const NewAuthorization& payment, Clock::TimePoint due) override {
        if (payments_.contains(payment.payment_id)) {
            return false;
        }
        ProviderPayment row;
        row.payment_id = payment.payment_id;
        row.customer_id = payment.customer_id;
        row.amount = payment.amount;
        row.trace_id = payment.trace_id;
        row.authorization_key = payment.authorization_key;
        row.next_attempt_at = due;
        row.source_event = payment.source_event;
        payments_.emplace(payment.payment_id, std::move(row));
        return true;
    }

    std::optional<ProviderPayment> Lock(const PaymentId& payment_id) override {
        const auto it = payments_.find(payment_id);
        return it == payments_.end() ? std::nullopt : std::optional(it->second);
    }

    std::vector<ProviderPayment> ClaimDue(Clock::TimePoint now, int limit) override {
        std::vector<ProviderPayment> due;
        for (const auto& [id, row] : payments_) {
            if (row.next_attempt_at && *row.next_attempt_at <= now) {
                due.push_back(row);
            }
        }
        std::stable_sort(due.begin(), due.end(), [](const auto& a, const auto& b) {
            return std::tuple(a.attempts > 0, *a.next_attempt_at) <
                   std::tuple(b.attempts > 0, *b.next_attempt_at);
        });
        if (due.size() > static_cast<std::size_t>(limit)) {
            due.resize(static_cast<std::size_t>(limit));
        }
        return due;
    }

    std::optional<Clock::TimePoint> NextDue() override {
        std::optional<Clock::TimePoint> next;
        for (const auto& [id, row] : payments_) {
            if (row.next_attempt_at && (!next || *row.next_attempt_at < *next)) {
                next = row.next_attempt_at;
            }
        }
        return next;
    }

    void MarkAuthorized(
        const PaymentId& payment_id, const std::string& authorization_id, int attempts
    ) override {
        ProviderPayment& row = Row(payment_id);
        row.status = ProviderStatus::kAuthorized;
        row.authorization_id = authorization_id;
        row.attempts = attempts;
        row.next_attempt_at.reset();
    }

    void MarkDeclined(const PaymentId& payment_id, int attempts) override {
        ProviderPayment& row = Row(payment_id);
        row.status = ProviderStatus::kDeclined;
        row.attempts = attempts;
        row.next_attempt_at.reset();
    }

    void Reschedule(const PaymentId& payment_id, int attempts, Clock::TimePoint at) override {
        ProviderPayment& row = Row(payment_id);
        row.attempts = attempts;
        row.next_attempt_at = at;
    }

    void MarkTimedOut(const PaymentId& payment_id) override {
        ProviderPayment& row = Row(payment_id);
        row.status = ProviderStatus::kTimedOut;
        row.next_attempt_at.reset();
    }

    void MarkCaptured(const PaymentId& payment_id) override {
        Row(payment_id).status = ProviderStatus::kCaptured;
    }

    void ResetForReplay(const PaymentId& payment_id, Clock::TimePoint due) override {
        ProviderPayment& row = Row(payment_id);
        row.status = ProviderStatus::kAuthorizing;
        row.attempts = 0;
        row.next_attempt_at = due;
    }

    void RecordAttempt(const AttemptRecord& attempt) override { attempts_.push_back(attempt); }

    // For tests.
    [[nodiscard]] const ProviderPayment& Get(const PaymentId& payment_id) const {
        return payments_.at(payment_id);
    }
    [[nodiscard]] const std::vector<AttemptRecord>& Attempts() const noexcept { return attempts_; }
    /// Stores `payment` as it is (a state reached earlier, e.g. TIMED_OUT).
    void Put(ProviderPayment payment) {
        const PaymentId id = payment.payment_id;
        payments_.insert_or_assign(id, std::move(payment));
    }

private:
    ProviderPayment& Row(const PaymentId& payment_id) {
        const auto it = payments_.find(payment_id);
        if (it == payments_.end()) {
            // The SQL would update no row; a handler never updates a payment it did not read.
            throw std::logic_error("update of an unknown payment " + payment_id.Value());
        }
        return it->second;
    }

    std::map<PaymentId, ProviderPayment> payments_;
    std::vector<AttemptRecord> attempts_;
};

}  // namespace sagapay::provider
