#pragma once

#include <span>

#include "adapters/postgres/migrator.hpp"

namespace sagapay {

/// The risk database's migrations, embedded from schema/*.sql.
std::span<const postgres::Migration> RiskMigrations();

}  // namespace sagapay
