#pragma once

#include <span>

#include "adapters/postgres/migrator.hpp"

namespace sagapay {

/// The orchestrator database's migrations, embedded from schema/*.sql.
std::span<const postgres::Migration> OrchestratorMigrations();

}  // namespace sagapay
