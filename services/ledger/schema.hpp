#pragma once

#include <span>

#include "adapters/postgres/migrator.hpp"

namespace sagapay {

/// The ledger database's migrations, embedded from schema/*.sql.
std::span<const postgres::Migration> LedgerMigrations();

}  // namespace sagapay
