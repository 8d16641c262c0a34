#include "runtime/transaction_outbox.hpp"

#include <atomic>

#include "adapters/postgres/messaging.hpp"
#include "runtime/log.hpp"

namespace sagapay {

void TransactionOutbox::Append(Envelope envelope) {
    postgres::AppendOutbox(tx_, envelope);
}

void TransactionOutbox::AfterCommit(std::function<void()> fn) {
    // Transaction hooks are keyed (one per key); every call here is its own hook.
    static std::atomic<std::uint64_t> next_key{0};
    tx_.AfterCommit(
        "outbox.after_commit." + std::to_string(next_key.fetch_add(1)),
        [fn = std::move(fn)] {
            try {
                fn();
            } catch (const std::exception& e) {
                // The work is committed: a failing hook must not undo its acknowledgement.
                log::Error("after-commit hook failed", {{"error", e.what()}});
            }
        }
    );
}

}  // namespace sagapay
