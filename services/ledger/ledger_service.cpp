#include "services/ledger/ledger_service.hpp"

#include "core/messaging/topics.hpp"
#include "runtime/bootstrap.hpp"
#include "runtime/metrics.hpp"
#include "runtime/transaction_outbox.hpp"
#include "services/ledger/ledger_handler.hpp"
#include "services/ledger/ledger_store.hpp"
#include "services/ledger/pg_ledger_book.hpp"
#include "services/ledger/reconciliation_api.hpp"
#include "services/ledger/schema.hpp"

namespace sagapay::ledger {

namespace {

constexpr const char* kService = "ledger";
/// How often every ledger instance checks the whole book (one scan of the entries).
constexpr std::chrono::seconds kSelfCheckInterval(60);

}  // namespace

int RunLedger(const Config& config, const Clock& clock) {
    auto bus = PrepareService(config, kService, LedgerMigrations());
    postgres::Pool pool(config.DsnFor(kService), static_cast<std::size_t>(config.db_pool_size));
    LedgerHandler handler(clock);
    PgLedgerReports reports(pool);
    ReconciliationApi reconciliation(reports, config.ops_api_key);

    ServiceHost host(config, kService, config.PortFor(kService));
    AddStandardHealthChecks(host, config, &pool);
    reconciliation.AddRoutes(host.Routes());
    host.AddConsumer(
        *bus,
        {.topic = topics::kPaymentsCaptured,
         .group = "ledger-captured",
         .batch_mode = BatchMode::kOneTransaction,
         .order = HandlingOrder::kByPaymentId},
        [&handler](postgres::Transaction& tx, const Envelope& event) {
            PgLedgerBook book(tx);
            TransactionOutbox outbox(tx);
            handler.OnCaptured(book, outbox, event);
        }
    );
    host.AddConsumer(
        *bus,
        {.topic = topics::kPaymentsReversed,
         .group = "ledger-reversed",
         .batch_mode = BatchMode::kOneTransaction,
         .order = HandlingOrder::kByPaymentId},
        [&handler](postgres::Transaction& tx, const Envelope& event) {
            PgLedgerBook book(tx);
            handler.OnReversed(book, event);
        }
    );
    host.AddConsumer(
        *bus,
        {.topic = topics::kPaymentsRefunded,
         .group = "ledger-refunded",
         .batch_mode = BatchMode::kOneTransaction,
         .order = HandlingOrder::kByPaymentId},
        [&handler](postgres::Transaction& tx, const Envelope& event) {
            PgLedgerBook book(tx);
            handler.OnRefunded(book, event);
        }
    );
    host.AddOutboxRelay(*bus);
    host.AddWorker(
        "reconciliation self-check",
        [&reports, service = config.service_name](std::stop_token stop) {
            RunSelfCheck(
                std::move(stop),
                reports,
                kSelfCheckInterval,
                [&service](const auto& found) {
                    for (const auto& [check, count] : found) {
                        metrics::Get()
                            .reconciliation_mismatches.Add({{"service", service}, {"check", check}})
                            .Set(static_cast<double>(count));
                    }
                }
            );
        }
    );
    return host.Run();
}

}  // namespace sagapay::ledger
