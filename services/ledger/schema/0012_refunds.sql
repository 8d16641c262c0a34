-- Refunds (issue 18): one REFUND transaction per refund, 'refund:<payment_id>:<refund_id>',
-- DEBIT merchant_receivable, CREDIT customer_cash. A payment may have many; the database keeps
-- what they give back within what was settled.

-- One settlement and one reversal per payment, as before; any number of refunds (each unique
-- by its transaction id, the primary key).
ALTER TABLE ledger_transactions DROP CONSTRAINT uq_ledger_payment_purpose;
CREATE UNIQUE INDEX uq_ledger_payment_purpose ON ledger_transactions (payment_id, purpose)
    WHERE purpose <> 'REFUND';
-- A payment's transactions, refunds included (the refund checks below, the handlers' lookups).
CREATE INDEX ix_ledger_transactions_payment ON ledger_transactions (payment_id);

-- As 0003, with the id rule of refunds: 'refund:<payment_id>:<uuid in lower case>'.
CREATE OR REPLACE FUNCTION ledger_check_transaction() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    entries bigint;
    debits numeric;
    other_currency bigint;
BEGIN
    SELECT count(*),
           coalesce(sum(CASE WHEN direction = 'DEBIT' THEN amount_cents ELSE 0 END), 0),
           count(*) FILTER (WHERE currency <> NEW.currency)
      INTO entries, debits, other_currency
      FROM ledger_entries WHERE transaction_id = NEW.transaction_id;
    IF entries = 0 THEN
        RAISE EXCEPTION 'ledger transaction % has no entries', NEW.transaction_id
            USING ERRCODE = 'check_violation';
    END IF;
    IF other_currency > 0 OR debits <> NEW.amount_minor THEN
        RAISE EXCEPTION 'ledger transaction % says % %, its entries debit % (in % other-currency entries)',
            NEW.transaction_id, NEW.amount_minor, NEW.currency, debits, other_currency
            USING ERRCODE = 'check_violation';
    END IF;
    IF (NEW.purpose = 'REFUND' AND NEW.transaction_id !~ ('^refund:' || NEW.payment_id::text
            || ':[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'))
       OR (NEW.purpose <> 'REFUND'
           AND NEW.transaction_id <> lower(NEW.purpose) || ':' || NEW.payment_id::text) THEN
        RAISE EXCEPTION 'ledger transaction id % does not match purpose % and payment %',
            NEW.transaction_id, NEW.purpose, NEW.payment_id
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END;
$$;

-- What a payment's refunds and reversal give back never exceeds its settlement: checked at
-- COMMIT for each REFUND (and each REVERSAL of a payment that has refunds; a reversal alone keeps
-- 0002's rules). A refund needs a settlement, in the same currency. The settlement's row is
-- locked first, so two transactions refunding the same payment are checked one after the other
-- and the second sees the first's refund (READ COMMITTED: each statement a new snapshot).
CREATE FUNCTION ledger_check_refunds() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    settled record;
    refunds bigint;
    given_back numeric;
    other_currency bigint;
BEGIN
    IF NEW.purpose NOT IN ('REFUND', 'REVERSAL') THEN
        RETURN NULL;
    END IF;
    SELECT amount_minor, currency INTO settled FROM ledger_transactions
     WHERE payment_id = NEW.payment_id AND purpose = 'SETTLEMENT' FOR NO KEY UPDATE;
    IF NOT FOUND THEN
        IF NEW.purpose = 'REFUND' THEN
            RAISE EXCEPTION 'refund % of payment %, which has no settlement',
                NEW.transaction_id, NEW.payment_id USING ERRCODE = 'check_violation';
        END IF;
        RETURN NULL;
    END IF;
    SELECT count(*) FILTER (WHERE purpose = 'REFUND'), coalesce(sum(amount_minor), 0),
           count(*) FILTER (WHERE currency <> settled.currency)
      INTO refunds, given_back, other_currency
      FROM ledger_transactions
     WHERE payment_id = NEW.payment_id AND purpose IN ('REFUND', 'REVERSAL');
    IF refunds = 0 THEN
        RETURN NULL;
    END IF;
    IF other_currency > 0 THEN
        RAISE EXCEPTION 'payment % settled in % has % refunds or reversals in another currency',
            NEW.payment_id, settled.currency, other_currency USING ERRCODE = 'check_violation';
    END IF;
    IF given_back > settled.amount_minor THEN
        RAISE EXCEPTION 'payment %: refunds and reversal give back % %, more than its settlement of %',
            NEW.payment_id, given_back, settled.currency, settled.amount_minor
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END;
$$;

CREATE CONSTRAINT TRIGGER trg_ledger_refunds_within_settlement
    AFTER INSERT ON ledger_transactions
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION ledger_check_refunds();
