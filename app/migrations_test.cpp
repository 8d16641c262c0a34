// Every service database carries the shared outbox/inbox schema: each service embeds its own list
// of migrations (services/<svc>/CMakeLists.txt), which must name every shared file.
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include <gtest/gtest.h>

#include "adapters/postgres/messaging_schema.hpp"
#include "services/ledger/schema.hpp"
#include "services/notification/schema.hpp"
#include "services/orchestrator/schema.hpp"
#include "services/provider/schema.hpp"
#include "services/risk/schema.hpp"

namespace sagapay {
namespace {

const postgres::Migration* Find(
    std::span<const postgres::Migration> migrations, std::string_view version
) {
    for (const postgres::Migration& migration : migrations) {
        if (version == migration.version) {
            return &migration;
        }
    }
    return nullptr;
}

TEST(ServiceMigrations, EveryServiceAppliesEveryMessagingMigration) {
    const std::pair<const char*, std::span<const postgres::Migration>> services[] = {
        {"orchestrator", OrchestratorMigrations()},
        {"risk", RiskMigrations()},
        {"provider", ProviderMigrations()},
        {"ledger", LedgerMigrations()},
        {"notification", NotificationMigrations()},
    };
    for (const auto& [service, migrations] : services) {
        for (const postgres::Migration& shared : MessagingMigrations()) {
            const postgres::Migration* found = Find(migrations, shared.version);
            ASSERT_NE(found, nullptr)
                << service << " lacks migration " << shared.version << "_" << shared.name;
            EXPECT_STREQ(found->name, shared.name) << service;
            EXPECT_EQ(std::string(found->sql), std::string(shared.sql)) << service;
        }
    }
}

}  // namespace
}  // namespace sagapay
