#include "services/ledger/ledger_store.hpp"

#include <algorithm>
#include <map>

namespace sagapay::ledger {

namespace {

const char* AccountType(const std::string& code) {
    if (code == "customer_cash") {
        return "CUSTOMER";
    }
    if (code == "merchant_receivable") {
        return "MERCHANT";
    }
    if (code == "platform_fee") {
        return "PLATFORM";
    }
    return "CLEARING";
}

}  // namespace

bool LedgerStore::Post(
    postgres::Transaction& tx,
    const std::string& payment_id,
    const JournalEntry& entry,
    const std::string& source_event_id
) {
    const Posting& first = entry.postings.front();
    std::int64_t amount = 0;
    for (const Posting& p : entry.postings) {
        if (p.direction == Direction::kDebit) {
            amount += p.amount_minor;
        }
    }
    const auto inserted = tx.Exec(
        "INSERT INTO ledger_transactions (transaction_id, payment_id, purpose, currency, "
        "amount_minor, "
        "source_event_id) VALUES ($1, $2, $3, $4, $5, $6) "
        "ON CONFLICT DO NOTHING RETURNING transaction_id",
        {entry.transaction_id,
         payment_id,
         ToString(entry.purpose),
         first.currency,
         amount,
         source_event_id}
    );
    if (inserted.Empty()) {
        return false;
    }
    // One statement for the accounts and one for the entries, whatever the number of postings.
    std::string accounts = "{";
    std::string codes = "{";
    std::string types = "{";
    std::string currencies = "{";
    std::string directions = "{";
    std::string amounts = "{";
    for (std::size_t i = 0; i < entry.postings.size(); ++i) {
        const Posting& p = entry.postings[i];
        const char* sep = i == 0 ? "" : ",";
        accounts += sep + p.account_code + ":" + p.currency;
        codes += sep + p.account_code;
        types += std::string(sep) + AccountType(p.account_code);
        currencies += sep + p.currency;
        directions += std::string(sep) + ToString(p.direction);
        amounts += sep + std::to_string(p.amount_minor);
    }
    for (std::string* s : {&accounts, &codes, &types, &currencies, &directions, &amounts}) {
        *s += "}";
    }
    // Both writes travel with the transaction's next statement or its COMMIT (one round trip);
    // a failure fails the transaction there, and the balance checks run at COMMIT anyway.
    tx.ExecDeferred(
        "INSERT INTO ledger_accounts (account_id, account_code, account_type, currency) "
        "SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) ON CONFLICT DO "
        "NOTHING",
        {accounts, codes, types, currencies}
    );
    tx.ExecDeferred(
        "INSERT INTO ledger_entries (transaction_id, account_id, direction, amount_cents, "
        "currency) "
        "SELECT $1, a, d, m, c FROM unnest($2::text[], $3::text[], $4::bigint[], $5::text[]) AS "
        "u(a, d, m, c)",
        {entry.transaction_id, accounts, directions, amounts, currencies}
    );
    return true;
}

std::optional<std::pair<std::int64_t, std::string>> LedgerStore::Settlement(
    postgres::Transaction& tx, const std::string& payment_id
) {
    const auto rows = tx.Exec(
        "SELECT amount_minor, currency FROM ledger_transactions WHERE payment_id = $1 AND purpose "
        "= 'SETTLEMENT'",
        {payment_id}
    );
    if (rows.Empty()) {
        return std::nullopt;
    }
    return std::make_pair(rows.GetInt(0, 0), rows.GetString(0, 1));
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

}  // namespace sagapay::ledger
