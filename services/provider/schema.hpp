#pragma once

#include <span>

#include "adapters/postgres/migrator.hpp"

namespace sagapay {

/// The provider database's migrations, embedded from schema/*.sql.
std::span<const postgres::Migration> ProviderMigrations();

}  // namespace sagapay
