#include "services/ledger/ledger_store.hpp"

#include <algorithm>
#include <map>

#include "services/ledger/pg_ledger_book.hpp"

namespace sagapay::ledger {

bool LedgerStore::Post(
    postgres::Transaction& tx,
    const std::string& payment_id,
    const JournalEntry& entry,
    const std::string& source_event_id
) {
    return PgLedgerBook(tx).Post(PaymentId(payment_id), entry, EventId(source_event_id));
}

nlohmann::json LedgerStore::ReconcileTransaction(
    postgres::Connection& conn, const std::string& transaction_id
) {
    const auto rows = conn.Exec(
        "SELECT entry_id, account_id, direction, amount_cents, currency FROM ledger_entries "
        "WHERE transaction_id = $1 ORDER BY entry_id",
        {transaction_id}
    );
    std::int64_t debits = 0;
    std::int64_t credits = 0;
    std::map<std::string, std::int64_t> net_by_currency;  // balanced means per currency
    nlohmann::json entries = nlohmann::json::array();
    for (int i = 0; i < rows.Size(); ++i) {
        const std::int64_t amount = rows.GetInt(i, 3);
        const bool debit = rows.Get(i, 2) == "DEBIT";
        (debit ? debits : credits) += amount;
        net_by_currency[rows.GetString(i, 4)] += debit ? amount : -amount;
        entries.push_back({
            {"entry_id", rows.GetString(i, 0)},
            {"account_id", rows.GetString(i, 1)},
            {"direction", rows.GetString(i, 2)},
            {"amount_cents", amount},
            {"currency", rows.GetString(i, 4)},
        });
    }
    return {
        {"transaction_id", transaction_id},
        {"balanced",
         std::all_of(
             net_by_currency.begin(),
             net_by_currency.end(),
             [](const auto& net) { return net.second == 0; }
         )},
        {"debits", debits},
        {"credits", credits},
        {"entries", std::move(entries)},
    };
}

nlohmann::json LedgerStore::ReconcileAll(postgres::Connection& conn, std::int64_t limit) {
    // One pass over every entry: sums are numeric, so no sum can overflow.
    const auto totals = conn.Exec("SELECT count(*) FROM ledger_transactions");
    const auto imbalanced = conn.Exec(
        "SELECT transaction_id, sum(CASE WHEN direction = 'DEBIT' THEN amount_cents ELSE 0 "
        "END)::text, "
        "sum(CASE WHEN direction = 'CREDIT' THEN amount_cents ELSE 0 END)::text, count(*) "
        "FROM ledger_entries GROUP BY transaction_id, currency "
        "HAVING sum(CASE WHEN direction = 'DEBIT' THEN amount_cents ELSE -amount_cents END) <> 0 "
        "ORDER BY transaction_id"
    );
    const auto empty_transactions = conn.Exec(
        "SELECT count(*) FROM ledger_transactions t WHERE NOT EXISTS "
        "(SELECT 1 FROM ledger_entries e WHERE e.transaction_id = t.transaction_id)"
    );
    const auto balances = conn.Exec(
        "SELECT a.account_id, a.currency, coalesce(sum(CASE WHEN e.direction = 'DEBIT' THEN "
        "e.amount_cents "
        "ELSE -e.amount_cents END), 0)::text FROM ledger_accounts a LEFT JOIN ledger_entries e "
        "ON e.account_id = a.account_id GROUP BY a.account_id, a.currency ORDER BY a.account_id"
    );
    const auto per_currency = conn.Exec(
        "SELECT currency, sum(CASE WHEN direction = 'DEBIT' THEN amount_cents ELSE -amount_cents "
        "END)::text "
        "FROM ledger_entries GROUP BY currency ORDER BY currency"
    );
    nlohmann::json list = nlohmann::json::array();
    for (int i = 0; i < imbalanced.Size() && i < limit; ++i) {
        list.push_back({
            {"transaction_id", imbalanced.GetString(i, 0)},
            {"debits", nlohmann::json::parse(imbalanced.GetString(i, 1))},
            {"credits", nlohmann::json::parse(imbalanced.GetString(i, 2))},
            {"entry_count", imbalanced.GetInt(i, 3)},
        });
    }
    nlohmann::json accounts = nlohmann::json::array();
    for (int i = 0; i < balances.Size(); ++i) {
        accounts.push_back({
            {"account_id", balances.GetString(i, 0)},
            {"currency", balances.GetString(i, 1)},
            {"balance_cents", nlohmann::json::parse(balances.GetString(i, 2))},
        });
    }
    nlohmann::json currency_totals = nlohmann::json::object();
    bool totals_zero = true;
    for (int i = 0; i < per_currency.Size(); ++i) {
        const std::string net = per_currency.GetString(i, 1);
        currency_totals[per_currency.GetString(i, 0)] = nlohmann::json::parse(net);
        totals_zero = totals_zero && net == "0";
    }
    const std::int64_t empty = empty_transactions.GetInt(0, 0);
    return {
        {"transactions_checked", totals.GetInt(0, 0)},
        {"imbalanced_count", static_cast<std::int64_t>(imbalanced.Size()) + empty},
        {"imbalanced_transactions", std::move(list)},
        {"transactions_without_entries", empty},
        {"balances", std::move(accounts)},
        {"totals_by_currency", std::move(currency_totals)},
        {"balanced", imbalanced.Size() == 0 && empty == 0 && totals_zero},
    };
}

nlohmann::json PgLedgerReports::Transaction(const std::string& transaction_id) {
    auto lease = pool_.Acquire();
    return LedgerStore::ReconcileTransaction(*lease, transaction_id);
}

nlohmann::json PgLedgerReports::All(std::int64_t limit) {
    auto lease = pool_.Acquire();
    return LedgerStore::ReconcileAll(*lease, limit);
}

}  // namespace sagapay::ledger
