#include "services/ledger/ledger_service.hpp"

#include "adapters/postgres/messaging.hpp"
#include "core/ids.hpp"
#include "core/messaging/topics.hpp"
#include "runtime/bootstrap.hpp"
#include "runtime/log.hpp"
#include "services/ledger/ledger_store.hpp"
#include "services/ledger/schema.hpp"

namespace sagapay::ledger {

namespace {

constexpr const char* kService = "ledger";

class Ledger {
public:
    explicit Ledger(const Config& config)
        : config_(config),
          pool_(config.DsnFor(kService), static_cast<std::size_t>(config.db_pool_size)) {}

    void OnCaptured(postgres::Transaction& tx, const Envelope& event) {
        const auto amount = event.payload.find("amount_cents");
        const auto currency = event.payload.find("currency");
        if (amount == event.payload.end() || !amount->is_number_integer() ||
            currency == event.payload.end() || !currency->is_string() ||
            !IsUuid(event.aggregate_id)) {
            throw PermanentEventError(
                "payments.captured needs amount_cents, currency and a payment id"
            );
        }
        auto entry = BuildJournalEntry(
            Purpose::kSettlement,
            event.aggregate_id,
            amount->get<std::int64_t>(),
            currency->get<std::string>()
        );
        if (!entry) {
            throw PermanentEventError(entry.error().message);
        }
        std::int64_t amount_posted = entry->postings.front().amount_minor;
        std::string currency_posted = entry->postings.front().currency;
        if (!LedgerStore::Post(tx, event.aggregate_id, *entry, event.event_id)) {
            // Posted before (a redelivery or a re-request): confirm what was posted then.
            log::Info("settlement already posted; confirming it again");
            const auto posted = LedgerStore::Settlement(tx, event.aggregate_id);
            amount_posted = posted->first;
            currency_posted = posted->second;
        }
        postgres::AppendOutbox(
            tx,
            MakeEnvelope(
                std::string(topics::kPaymentsSettled),
                event.aggregate_id,
                event.trace_id,
                {{"transaction_id", entry->transaction_id},
                 {"amount_cents", amount_posted},
                 {"currency", currency_posted}},
                clock_
            )
        );
    }

    void OnReversed(postgres::Transaction& tx, const Envelope& event) {
        const auto settled = LedgerStore::Settlement(tx, event.aggregate_id);
        if (!settled) {
            log::Info("reversal of a payment that never settled: nothing to post");
            return;
        }
        auto entry = BuildJournalEntry(
            Purpose::kReversal, event.aggregate_id, settled->first, settled->second
        );
        if (!entry) {
            throw PermanentEventError(entry.error().message);
        }
        LedgerStore::Post(tx, event.aggregate_id, *entry, event.event_id);
    }

    http::Response One(http::Request& request) {
        auto lease = pool_.Acquire();
        return http::JsonResponse(
            200, LedgerStore::ReconcileTransaction(*lease, request.path_params.at(0)).dump()
        );
    }

    http::Response All(http::Request& request) {
        std::int64_t limit = 1000;
        if (const auto text = request.QueryParam("limit")) {
            char* end = nullptr;
            limit = std::strtoll(text->c_str(), &end, 10);
            if (text->empty() || end == nullptr || *end != '\0' || limit < 1 || limit > 1'000'000) {
                return http::ErrorResponse(
                    422, "validation_error", "limit must be from 1 to 1000000", "limit"
                );
            }
        }
        auto lease = pool_.Acquire();
        return http::JsonResponse(200, LedgerStore::ReconcileAll(*lease, limit).dump());
    }

    postgres::Pool& Pool() { return pool_; }

private:
    const Config& config_;
    postgres::Pool pool_;
    SystemClock clock_;
};

}  // namespace

int RunLedger(const Config& config) {
    auto bus = PrepareService(config, kService, LedgerMigrations());
    Ledger ledger(config);
    ServiceHost host(config, kService, config.PortFor(kService));
    AddStandardHealthChecks(host, config, &ledger.Pool());
    host.Routes().Add("GET", "/reconciliation", WithDatabaseErrors([&](http::Request& r) {
                          if (!ApiKeyMatches(r, config.ops_api_key)) {
                              return http::ErrorResponse(401, "unauthorized", "invalid API key");
                          }
                          return ledger.All(r);
                      }));
    host.Routes().Add(
        "GET", "/reconciliation/{transaction_id}", WithDatabaseErrors([&](http::Request& r) {
            if (!ApiKeyMatches(r, config.ops_api_key)) {
                return http::ErrorResponse(401, "unauthorized", "invalid API key");
            }
            return ledger.One(r);
        })
    );
    host.AddConsumer(
        *bus,
        std::string(topics::kPaymentsCaptured),
        "ledger-captured",
        [&ledger](postgres::Transaction& tx, const Envelope& e) { ledger.OnCaptured(tx, e); }
    );
    host.AddConsumer(
        *bus,
        std::string(topics::kPaymentsReversed),
        "ledger-reversed",
        [&ledger](postgres::Transaction& tx, const Envelope& e) { ledger.OnReversed(tx, e); }
    );
    host.AddOutboxRelay(*bus);
    return host.Run();
}

}  // namespace sagapay::ledger
