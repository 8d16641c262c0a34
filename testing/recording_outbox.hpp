#pragma once

#include <functional>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "core/messaging/events.hpp"
#include "core/ports/outbox.hpp"

namespace sagapay::testing {

/// An Outbox that keeps what a handler appended, for tests. Commit() runs the after-commit hooks
/// (as a committed transaction would); Rollback() drops everything (as a rolled-back one would).
class RecordingOutbox final : public Outbox {
public:
    // Outbox
    void Append(Envelope envelope) override { pending_.push_back(std::move(envelope)); }
    void AfterCommit(std::function<void()> fn) override { hooks_.push_back(std::move(fn)); }

    /// The unit of work committed: its events are published and its hooks run.
    void Commit() {
        for (auto& envelope : pending_) {
            published_.push_back(std::move(envelope));
        }
        pending_.clear();
        auto hooks = std::move(hooks_);
        hooks_.clear();
        for (auto& hook : hooks) {
            hook();
        }
    }
    /// The unit of work rolled back: nothing it appended leaves.
    void Rollback() {
        pending_.clear();
        hooks_.clear();
    }

    /// Appended and not yet committed or rolled back.
    [[nodiscard]] const std::vector<Envelope>& Pending() const noexcept { return pending_; }
    /// Committed.
    [[nodiscard]] const std::vector<Envelope>& Published() const noexcept { return published_; }

    /// Every appended envelope (committed first, then pending) on `topic`.
    [[nodiscard]] std::vector<Envelope> On(std::string_view topic) const {
        std::vector<Envelope> out;
        for (const auto* list : {&published_, &pending_}) {
            for (const auto& envelope : *list) {
                if (envelope.event_type == topic) {
                    out.push_back(envelope);
                }
            }
        }
        return out;
    }

    /// The only event of type T appended (committed or pending), decoded; fails the test when
    /// there is not exactly one or it does not decode.
    template <class T>
    [[nodiscard]] T Only() const {
        const auto found = On(T::kTopic);
        EXPECT_EQ(found.size(), 1U) << "events on " << T::kTopic;
        if (found.empty()) {
            return T{};
        }
        auto decoded = DecodeEvent<T>(found.front());
        EXPECT_TRUE(decoded.has_value()) << (decoded ? "" : decoded.error().message);
        return decoded ? *decoded : T{};
    }

    [[nodiscard]] std::size_t Size() const noexcept { return pending_.size() + published_.size(); }

private:
    std::vector<Envelope> pending_;
    std::vector<Envelope> published_;
    std::vector<std::function<void()>> hooks_;
};

}  // namespace sagapay::testing
