#include "services/ledger/pg_ledger_book.hpp"

#include "core/error.hpp"

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

Currency CurrencyOf(const postgres::Rows& rows, int row, int column) {
    const auto currency = Currency::Parse(rows.Get(row, column));
    if (!currency) {
        // Only BuildJournalEntry's currencies are ever posted: an unknown one is a broken
        // invariant.
        throw Exception(
            ErrorCode::kInternal,
            "ledger_transactions holds unknown currency " + rows.GetString(row, column)
        );
    }
    return *currency;
}

Purpose PurposeOf(const std::string& text) {
    if (text == "SETTLEMENT") {
        return Purpose::kSettlement;
    }
    if (text == "REVERSAL") {
        return Purpose::kReversal;
    }
    if (text == "REFUND") {
        return Purpose::kRefund;
    }
    throw Exception(ErrorCode::kInternal, "ledger_transactions holds purpose " + text);
}

}  // namespace

bool PgLedgerBook::Post(
    const PaymentId& payment, const JournalEntry& entry, const EventId& source
) {
    const Posting& first = entry.postings.front();
    const std::int64_t amount = AmountOf(entry);
    const auto inserted = tx_.Exec(
        "INSERT INTO ledger_transactions (transaction_id, payment_id, purpose, currency, "
        "amount_minor, source_event_id) VALUES ($1, $2, $3, $4, $5, $6) "
        "ON CONFLICT DO NOTHING RETURNING transaction_id",
        {entry.transaction_id,
         payment.Value(),
         ToString(entry.purpose),
         first.currency,
         amount,
         source.Value()}
    );
    if (inserted.Empty()) {
        return false;
    }
    // One statement for the accounts and one for the entries, whatever the number of postings.
    std::vector<std::string> accounts;
    std::vector<std::string> codes;
    std::vector<std::string> types;
    std::vector<std::string> currencies;
    std::vector<std::string> directions;
    std::vector<std::string> amounts;
    for (const Posting& p : entry.postings) {
        accounts.push_back(p.account_code + ":" + p.currency);
        codes.push_back(p.account_code);
        types.emplace_back(AccountType(p.account_code));
        currencies.push_back(p.currency);
        directions.emplace_back(ToString(p.direction));
        amounts.push_back(std::to_string(p.amount_minor));
    }
    const std::string account_array = postgres::TextArray(accounts);
    const std::string currency_array = postgres::TextArray(currencies);
    // Both writes travel with the transaction's next statement or its COMMIT (one round trip);
    // a failure fails the transaction there, and the balance checks run at COMMIT anyway.
    tx_.ExecDeferred(
        "INSERT INTO ledger_accounts (account_id, account_code, account_type, currency) "
        "SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) ON CONFLICT DO "
        "NOTHING",
        {account_array, postgres::TextArray(codes), postgres::TextArray(types), currency_array}
    );
    tx_.ExecDeferred(
        "INSERT INTO ledger_entries (transaction_id, account_id, direction, amount_cents, "
        "currency) "
        "SELECT $1, a, d, m, c FROM unnest($2::text[], $3::text[], $4::bigint[], $5::text[]) AS "
        "u(a, d, m, c)",
        {entry.transaction_id,
         account_array,
         postgres::TextArray(directions),
         postgres::TextArray(amounts),
         currency_array}
    );
    return true;
}

std::optional<Money> PgLedgerBook::Settlement(const PaymentId& payment) {
    const auto rows = tx_.Exec(
        "SELECT amount_minor, currency FROM ledger_transactions WHERE payment_id = $1 AND purpose "
        "= 'SETTLEMENT'",
        {payment.Value()}
    );
    if (rows.Empty()) {
        return std::nullopt;
    }
    return Money{rows.GetInt(0, 0), CurrencyOf(rows, 0, 1)};
}

std::vector<PostedTransaction> PgLedgerBook::Transactions(const PaymentId& payment) {
    const auto rows = tx_.Exec(
        "SELECT transaction_id, purpose, amount_minor, currency FROM ledger_transactions "
        "WHERE payment_id = $1 ORDER BY transaction_id",
        {payment.Value()}
    );
    std::vector<PostedTransaction> found;
    found.reserve(static_cast<std::size_t>(rows.Size()));
    for (int i = 0; i < rows.Size(); ++i) {
        found.push_back(
            {rows.GetString(i, 0),
             PurposeOf(rows.GetString(i, 1)),
             Money{rows.GetInt(i, 2), CurrencyOf(rows, i, 3)}}
        );
    }
    return found;
}

}  // namespace sagapay::ledger
