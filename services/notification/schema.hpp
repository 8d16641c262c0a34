#pragma once

#include <span>

#include "adapters/postgres/migrator.hpp"

namespace sagapay {

/// The notification database's migrations, embedded from schema/*.sql.
std::span<const postgres::Migration> NotificationMigrations();

}  // namespace sagapay
