#pragma once

#include <span>

#include "adapters/postgres/migrator.hpp"

namespace sagapay {

/// The shared outbox/inbox schema (adapters/postgres/schema/0001_messaging.sql), embedded by
/// sagapay_embed_migrations(). Every service lists it first, before its own migrations, which
/// therefore start at 0002:
///   std::vector<postgres::Migration> all(MessagingMigrations().begin(), ...end());
[[nodiscard]] std::span<const postgres::Migration> MessagingMigrations();

}  // namespace sagapay
