-- Double-entry ledger. Amounts are bigint minor units with the currency on every entry; accounts
-- are per currency. The database itself refuses an unbalanced transaction (deferred constraint
-- trigger), a second posting for the same (payment, purpose), and any UPDATE, DELETE or TRUNCATE.
CREATE TABLE ledger_accounts (
    account_id   text PRIMARY KEY,            -- '<code>:<currency>', e.g. 'customer_cash:USD'
    account_code text NOT NULL,
    account_type text NOT NULL CHECK (account_type IN ('CUSTOMER', 'MERCHANT', 'PLATFORM', 'CLEARING')),
    currency     char(3) NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (account_code, currency)
);

CREATE TABLE ledger_transactions (
    transaction_id  text PRIMARY KEY,          -- 'settlement:<payment_id>', 'reversal:<payment_id>'
    payment_id      uuid NOT NULL,
    purpose         text NOT NULL CHECK (purpose IN ('SETTLEMENT', 'REVERSAL', 'REFUND', 'FEE')),
    currency        char(3) NOT NULL,
    amount_minor    bigint NOT NULL CHECK (amount_minor > 0),
    source_event_id text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT uq_ledger_payment_purpose UNIQUE (payment_id, purpose)
);

CREATE TABLE ledger_entries (
    entry_id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    transaction_id text NOT NULL REFERENCES ledger_transactions (transaction_id),
    account_id     text NOT NULL REFERENCES ledger_accounts (account_id),
    direction      text NOT NULL CHECK (direction IN ('DEBIT', 'CREDIT')),
    amount_cents   bigint NOT NULL CHECK (amount_cents > 0),
    currency       char(3) NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ix_ledger_entries_transaction ON ledger_entries (transaction_id);
CREATE INDEX ix_ledger_entries_account ON ledger_entries (account_id);

-- Balance per currency, checked at COMMIT once every entry of the transaction is in.
CREATE FUNCTION ledger_check_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    bad record;
BEGIN
    SELECT e.currency,
           sum(CASE WHEN e.direction = 'DEBIT' THEN e.amount_cents ELSE 0 END) AS debits,
           sum(CASE WHEN e.direction = 'CREDIT' THEN e.amount_cents ELSE 0 END) AS credits
      INTO bad
      FROM ledger_entries e
     WHERE e.transaction_id = NEW.transaction_id
     GROUP BY e.currency
    HAVING sum(CASE WHEN e.direction = 'DEBIT' THEN e.amount_cents ELSE -e.amount_cents END) <> 0
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'ledger transaction % does not balance in %: debits % <> credits %',
            NEW.transaction_id, bad.currency, bad.debits, bad.credits
            USING ERRCODE = 'check_violation';
    END IF;
    IF EXISTS (SELECT 1 FROM ledger_accounts a WHERE a.account_id = NEW.account_id
               AND a.currency <> NEW.currency) THEN
        RAISE EXCEPTION 'entry currency % differs from account %', NEW.currency, NEW.account_id
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END;
$$;

CREATE CONSTRAINT TRIGGER trg_ledger_entries_balanced
    AFTER INSERT ON ledger_entries
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION ledger_check_balanced();

CREATE FUNCTION ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only; % is not allowed (post a reversing transaction instead)',
        TG_TABLE_NAME, TG_OP USING ERRCODE = 'insufficient_privilege';
END;
$$;

CREATE TRIGGER trg_ledger_entries_immutable BEFORE UPDATE OR DELETE ON ledger_entries
    FOR EACH ROW EXECUTE FUNCTION ledger_append_only();
CREATE TRIGGER trg_ledger_entries_no_truncate BEFORE TRUNCATE ON ledger_entries
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only();
CREATE TRIGGER trg_ledger_transactions_immutable BEFORE UPDATE OR DELETE ON ledger_transactions
    FOR EACH ROW EXECUTE FUNCTION ledger_append_only();
CREATE TRIGGER trg_ledger_transactions_no_truncate BEFORE TRUNCATE ON ledger_transactions
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only();
CREATE TRIGGER trg_ledger_accounts_immutable BEFORE UPDATE OR DELETE ON ledger_accounts
    FOR EACH ROW EXECUTE FUNCTION ledger_append_only();
CREATE TRIGGER trg_ledger_accounts_no_truncate BEFORE TRUNCATE ON ledger_accounts
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only();
