-- A transaction row must agree with its entries: at COMMIT it has entries, all in its currency,
-- whose debits (and so credits) add up to its amount, and its id names its purpose and payment.
CREATE FUNCTION ledger_check_transaction() RETURNS trigger LANGUAGE plpgsql AS $$
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
    IF NEW.transaction_id <> lower(NEW.purpose) || ':' || NEW.payment_id::text THEN
        RAISE EXCEPTION 'ledger transaction id % does not match purpose % and payment %',
            NEW.transaction_id, NEW.purpose, NEW.payment_id
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END;
$$;

CREATE CONSTRAINT TRIGGER trg_ledger_transactions_consistent
    AFTER INSERT ON ledger_transactions
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION ledger_check_transaction();
