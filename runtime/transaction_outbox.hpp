#pragma once

#include "adapters/postgres/connection.hpp"
#include "core/ports/outbox.hpp"

namespace sagapay {

/// The Outbox port over a PostgreSQL transaction: Append writes a PENDING outbox row in the
/// transaction (postgres::AppendOutbox), AfterCommit runs after its COMMIT (a throwing hook is
/// logged). Cheap to make: one per handler call.
class TransactionOutbox final : public Outbox {
public:
    explicit TransactionOutbox(postgres::Transaction& tx) noexcept : tx_(tx) {}

    // Outbox
    void Append(Envelope envelope) override;
    void AfterCommit(std::function<void()> fn) override;

private:
    postgres::Transaction& tx_;
};

}  // namespace sagapay
