#pragma once

#include <algorithm>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

#include "core/error.hpp"
#include "core/ids.hpp"
#include "services/provider/provider_store.hpp"
#include "testing/recording_outbox.hpp"

namespace sagapay::provider {

/// ProviderStore in memory, for handler tests and the simulation: the same rules as
/// PgProviderStore (provider_store_contract.hpp) without the locks (one unit of work at a time):
/// times kept to the microsecond as timestamptz keeps them, ids that are not UUIDs and negative
/// limits refused with kInvalidArgument. Copyable, so a test can undo a unit of work that threw by
/// restoring a copy taken before it.
class InMemoryProviderStore final : public ProviderStore {
public:
    // ProviderStore
    bool InsertAuthorizing(const NewAuthorization& payment, Clock::TimePoint due) override {
        RequireUuid(payment.payment_id);
        if (payments_.contains(payment.payment_id)) {
            return false;
        }
        ProviderPayment row;
        row.payment_id = payment.payment_id;
        row.customer_id = payment.customer_id;
        row.amount = payment.amount;
        row.trace_id = payment.trace_id;
        row.authorization_key = payment.authorization_key;
        row.next_attempt_at = Micros(due);
        row.source_event = payment.source_event;
        row.capture_on_authorize = payment.capture_on_authorize;
        payments_.emplace(payment.payment_id, std::move(row));
        return true;
    }

    std::optional<ProviderPayment> Lock(const PaymentId& payment_id) override {
        RequireUuid(payment_id);
        const auto it = payments_.find(payment_id);
        return it == payments_.end() ? std::nullopt : std::optional(it->second);
    }

    std::vector<ProviderPayment> ClaimDue(
        Clock::TimePoint now, int limit, std::chrono::milliseconds lease
    ) override {
        if (limit < 0) {
            throw Exception(ErrorCode::kInvalidArgument, "LIMIT must not be negative");
        }
        now = Micros(now);
        std::vector<ProviderPayment> due;
        for (const auto& [id, row] : payments_) {
            if (row.next_attempt_at && *row.next_attempt_at <= now) {
                due.push_back(row);
            }
        }
        std::stable_sort(due.begin(), due.end(), [](const auto& a, const auto& b) {
            return std::tuple(!a.fresh, *a.next_attempt_at) <
                   std::tuple(!b.fresh, *b.next_attempt_at);
        });
        if (due.size() > static_cast<std::size_t>(limit)) {
            due.resize(static_cast<std::size_t>(limit));
        }
        int rank = 0;
        for (ProviderPayment& claimed : due) {
            ProviderPayment& row = Row(claimed.payment_id);
            row.next_attempt_at = now + lease * ++rank;
            row.claim += 1;
            // Returned as claimed (RETURNING p.*): bumped and due again at the end of its lease.
            claimed.claim = row.claim;
            claimed.next_attempt_at = row.next_attempt_at;
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
        for (const auto& [id, refund] : refunds_) {
            if (refund.next_attempt_at && (!next || *refund.next_attempt_at < *next)) {
                next = refund.next_attempt_at;
            }
        }
        return next;
    }

    bool InsertRefund(const ProviderRefund& refund, Clock::TimePoint due) override {
        RequireUuid(refund.payment_id);
        RequireUuid(PaymentId(refund.refund_id));
        if (refunds_.contains(refund.refund_id)) {
            return false;
        }
        ProviderRefund row = refund;
        row.status = RefundState::kRefunding;
        row.attempts = 0;
        row.retries = 0;
        row.claim = 0;
        row.next_attempt_at = Micros(due);
        refunds_.emplace(refund.refund_id, std::move(row));
        return true;
    }

    std::optional<ProviderRefund> LockRefund(const std::string& refund_id) override {
        RequireUuid(PaymentId(refund_id));
        const auto it = refunds_.find(refund_id);
        return it == refunds_.end() ? std::nullopt : std::optional(it->second);
    }

    std::vector<ProviderRefund> ClaimDueRefunds(
        Clock::TimePoint now, int limit, std::chrono::milliseconds lease
    ) override {
        if (limit < 0) {
            throw Exception(ErrorCode::kInvalidArgument, "LIMIT must not be negative");
        }
        now = Micros(now);
        std::vector<ProviderRefund*> due;
        for (auto& [id, refund] : refunds_) {
            if (refund.next_attempt_at && *refund.next_attempt_at <= now) {
                due.push_back(&refund);
            }
        }
        std::stable_sort(due.begin(), due.end(), [](const auto* a, const auto* b) {
            return *a->next_attempt_at < *b->next_attempt_at;
        });
        if (due.size() > static_cast<std::size_t>(limit)) {
            due.resize(static_cast<std::size_t>(limit));
        }
        std::vector<ProviderRefund> claimed;
        int rank = 0;
        for (ProviderRefund* refund : due) {
            refund->next_attempt_at = now + lease * ++rank;
            refund->claim += 1;
            claimed.push_back(*refund);
        }
        return claimed;
    }

    bool SaveRefund(const ProviderRefund& before, const ProviderRefund& after) override {
        const auto found = refunds_.find(before.refund_id);
        if (found == refunds_.end()) {
            return false;
        }
        ProviderRefund& row = found->second;
        if (row.status != before.status || row.claim != before.claim) {
            return false;
        }
        row.status = after.status;
        row.attempts = after.attempts;
        row.retries = after.retries;
        row.failure_reason = after.failure_reason;
        row.next_attempt_at =
            after.next_attempt_at ? std::optional(Micros(*after.next_attempt_at)) : std::nullopt;
        row.claim = before.claim + 1;
        return true;
    }

    bool Save(const ProviderPayment& before, const ProviderPayment& after) override {
        if (before.payment_id == failing_) {
            throw std::runtime_error("injected failure saving " + failing_.Value());
        }
        RequireUuid(before.payment_id);
        const auto found = payments_.find(before.payment_id);
        if (found == payments_.end()) {
            return false;  // the UPDATE finds no row
        }
        ProviderPayment& row = found->second;
        if (row.status != before.status || row.claim != before.claim) {
            return false;
        }
        row.status = after.status;
        row.authorization_id = after.authorization_id;
        row.attempts = after.attempts;
        row.next_attempt_at =
            after.next_attempt_at ? std::optional(Micros(*after.next_attempt_at)) : std::nullopt;
        row.fresh = after.fresh;
        row.retries = after.retries;
        row.checks = after.checks;
        row.capture_amount_minor = after.capture_amount_minor;
        row.claim = before.claim + 1;
        return true;
    }

    void RecordAttempt(const AttemptRecord& attempt) override {
        RequireUuid(attempt.payment_id);
        attempts_.push_back(attempt);
    }

    // For tests.
    [[nodiscard]] const ProviderPayment& Get(const PaymentId& payment_id) const {
        return payments_.at(payment_id);
    }
    [[nodiscard]] const std::vector<AttemptRecord>& Attempts() const noexcept { return attempts_; }
    [[nodiscard]] const ProviderRefund& GetRefund(const std::string& refund_id) const {
        return refunds_.at(refund_id);
    }
    /// Every Save of `payment_id` throws from now on (an empty id: none does).
    void FailSavesOf(const PaymentId& payment_id) { failing_ = payment_id; }
    /// Stores `payment` as it is (a state reached earlier, e.g. TIMED_OUT).
    void Put(ProviderPayment payment) {
        const PaymentId id = payment.payment_id;
        payments_.insert_or_assign(id, std::move(payment));
    }

private:
    /// What a uuid column refuses (SQLSTATE 22P02, mapped to kInvalidArgument).
    static void RequireUuid(const PaymentId& id) {
        if (!IsUuid(id.Value())) {
            throw Exception(
                ErrorCode::kInvalidArgument, "invalid input syntax for type uuid: " + id.Value()
            );
        }
    }
    /// A time as timestamptz keeps it: whole microseconds.
    static Clock::TimePoint Micros(Clock::TimePoint t) {
        return Clock::TimePoint(std::chrono::duration_cast<Clock::TimePoint::duration>(
            std::chrono::floor<std::chrono::microseconds>(t.time_since_epoch())
        ));
    }

    ProviderPayment& Row(const PaymentId& payment_id) {
        const auto it = payments_.find(payment_id);
        if (it == payments_.end()) {
            // The SQL would update no row; a handler never updates a payment it did not read.
            throw std::logic_error("update of an unknown payment " + payment_id.Value());
        }
        return it->second;
    }

    std::map<PaymentId, ProviderPayment> payments_;
    std::map<std::string, ProviderRefund> refunds_;
    std::vector<AttemptRecord> attempts_;
    PaymentId failing_;
};

/// ProviderUnitsOfWork over one InMemoryProviderStore and one RecordingOutbox: a unit of work
/// that throws leaves the store as it was and its events unpublished, as a rolled-back transaction
/// would. Tracks whether a unit of work is open, so a test can prove no PSP call happens inside
/// one.
class InMemoryProviderUnitsOfWork final : public ProviderUnitsOfWork {
public:
    // ProviderUnitsOfWork
    void Run(const Work& work) override {
        ++runs_;
        const InMemoryProviderStore before = store_;
        open_ = true;
        try {
            work(store_, outbox_);
        } catch (...) {
            open_ = false;
            store_ = before;
            outbox_.Rollback();
            throw;
        }
        open_ = false;
        outbox_.Commit();
    }

    [[nodiscard]] InMemoryProviderStore& Store() noexcept { return store_; }
    [[nodiscard]] testing::RecordingOutbox& Events() noexcept { return outbox_; }
    [[nodiscard]] bool Open() const noexcept { return open_; }
    [[nodiscard]] int Runs() const noexcept { return runs_; }

private:
    InMemoryProviderStore store_;
    testing::RecordingOutbox outbox_;
    bool open_ = false;
    int runs_ = 0;
};

}  // namespace sagapay::provider
