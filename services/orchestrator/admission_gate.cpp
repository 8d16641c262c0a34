#include "services/orchestrator/admission_gate.hpp"

namespace sagapay::orchestrator {

AdmissionGate::AdmissionGate(Options options) noexcept : options_(options) {}

AdmissionGate::Verdict AdmissionGate::Enter() {
    std::unique_lock lock(mutex_);
    const auto has_room = [this] { return options_.limit <= 0 || estimate_ < options_.limit; };
    Verdict verdict = Verdict::kAdmitted;
    if (!has_room()) {
        if (waiting_ >= options_.max_waiting) {
            return Verdict::kRefused;
        }
        ++waiting_;
        const bool room = room_.wait_for(lock, options_.max_wait, has_room);
        --waiting_;
        if (!room) {
            return Verdict::kRefused;
        }
        verdict = Verdict::kAdmittedAfterWaiting;
    }
    ++estimate_;
    ++admitted_;
    return verdict;
}

std::int64_t AdmissionGate::BeginRefresh() const {
    const std::lock_guard lock(mutex_);
    return admitted_;
}

void AdmissionGate::Refresh(std::int64_t in_flight, std::int64_t begun) {
    {
        const std::lock_guard lock(mutex_);
        estimate_ = in_flight + (admitted_ - begun);
    }
    room_.notify_all();
}

std::int64_t AdmissionGate::Estimate() const {
    const std::lock_guard lock(mutex_);
    return estimate_;
}

std::int64_t AdmissionGate::Waiting() const {
    const std::lock_guard lock(mutex_);
    return waiting_;
}

}  // namespace sagapay::orchestrator
