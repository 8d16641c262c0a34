-- Manual capture and refunds (issue 18).
--
-- capture_method: 'automatic' captures right after the authorization (the seed's flow); 'manual'
-- stops at AUTHORIZED until POST /payments/{id}/capture (capture_amount_cents, at most the
-- authorized amount) or /cancel, or until the capture window ends and the sweeper voids it.
-- captured_cents is what the PSP captured (and the ledger settles); refunds are bounded by it.
ALTER TABLE payments
    ADD COLUMN capture_method        text   NOT NULL DEFAULT 'automatic'
        CHECK (capture_method IN ('automatic', 'manual')),
    ADD COLUMN capture_amount_cents  bigint,
    ADD COLUMN captured_cents        bigint,
    -- Maintained by the refunds triggers below, never by the application: the sum of the
    -- payment's refunds that are PENDING or SUCCEEDED, and of those SUCCEEDED.
    ADD COLUMN refund_reserved_cents bigint NOT NULL DEFAULT 0,
    ADD COLUMN refunded_cents        bigint NOT NULL DEFAULT 0;

-- Payments captured before this migration captured their whole amount.
UPDATE payments SET captured_cents = amount_cents WHERE status IN ('CAPTURED', 'SETTLED');

ALTER TABLE payments
    ADD CONSTRAINT payments_capture_within_authorization CHECK (
        (capture_amount_cents IS NULL OR (capture_amount_cents > 0
                                          AND capture_amount_cents <= amount_cents))
        AND (captured_cents IS NULL OR (captured_cents > 0 AND captured_cents <= amount_cents))),
    -- The promise of refunds, kept by the database whatever writes: never more given back (or
    -- promised back) than was captured, also when two refunds race (both update this row, so
    -- the second sees the first).
    ADD CONSTRAINT payments_refunds_within_capture CHECK (
        refunded_cents >= 0 AND refunded_cents <= refund_reserved_cents
        AND refund_reserved_cents <= coalesce(captured_cents, 0));

ALTER TABLE payments DROP CONSTRAINT payments_status_check;
ALTER TABLE payments ADD CONSTRAINT payments_status_check
    CHECK (status IN ('CREATED', 'RISK_REVIEW', 'APPROVED', 'AUTHORIZED', 'CAPTURED', 'SETTLED',
                      'FAILED', 'REVERSED', 'PARTIALLY_REFUNDED', 'REFUNDED'));

-- The sweeper voids manual authorizations left uncaptured past the capture window.
CREATE INDEX ix_payments_awaiting_capture ON payments (updated_at)
    WHERE status = 'AUTHORIZED' AND capture_method = 'manual' AND capture_amount_cents IS NULL;

CREATE TABLE refunds (
    refund_id           uuid PRIMARY KEY,
    payment_id          uuid NOT NULL REFERENCES payments (payment_id),
    amount_cents        bigint NOT NULL CHECK (amount_cents > 0),
    currency            char(3) NOT NULL,
    reason              text NOT NULL,
    idempotency_key     text NOT NULL,
    request_fingerprint text NOT NULL,
    status              text NOT NULL DEFAULT 'PENDING'
        CHECK (status IN ('PENDING', 'SUCCEEDED', 'FAILED')),
    failure_reason      text,
    trace_id            text NOT NULL,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT uq_refunds_payment_idempotency UNIQUE (payment_id, idempotency_key)
);
CREATE INDEX ix_refunds_payment ON refunds (payment_id, created_at);
CREATE INDEX ix_refunds_pending ON refunds (updated_at) WHERE status = 'PENDING';

-- A refund reserves its amount on the payment when it is inserted (the CHECK above refuses the
-- insert that would exceed the capture), is counted as refunded when it SUCCEEDS and frees the
-- reservation when it FAILS. A status moves once, from PENDING; amounts never change.
CREATE FUNCTION refunds_track_payment() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF NEW.status <> 'PENDING' THEN
            RAISE EXCEPTION 'refund % must start PENDING', NEW.refund_id
                USING ERRCODE = 'check_violation';
        END IF;
        UPDATE payments SET refund_reserved_cents = refund_reserved_cents + NEW.amount_cents
         WHERE payment_id = NEW.payment_id;
        RETURN NEW;
    END IF;
    IF NEW.amount_cents <> OLD.amount_cents OR NEW.payment_id <> OLD.payment_id
       OR NEW.currency <> OLD.currency THEN
        RAISE EXCEPTION 'refund % amount, currency and payment never change', OLD.refund_id
            USING ERRCODE = 'check_violation';
    END IF;
    IF NEW.status = OLD.status THEN
        RETURN NEW;
    END IF;
    IF OLD.status <> 'PENDING' THEN
        RAISE EXCEPTION 'refund % is % already; it cannot become %', OLD.refund_id, OLD.status,
            NEW.status USING ERRCODE = 'check_violation';
    END IF;
    IF NEW.status = 'SUCCEEDED' THEN
        UPDATE payments SET refunded_cents = refunded_cents + NEW.amount_cents
         WHERE payment_id = NEW.payment_id;
    ELSE
        UPDATE payments SET refund_reserved_cents = refund_reserved_cents - NEW.amount_cents
         WHERE payment_id = NEW.payment_id;
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER trg_refunds_track_payment BEFORE INSERT OR UPDATE ON refunds
    FOR EACH ROW EXECUTE FUNCTION refunds_track_payment();

CREATE FUNCTION refunds_no_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'refunds are kept: % is not allowed', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER trg_refunds_no_delete BEFORE DELETE ON refunds
    FOR EACH ROW EXECUTE FUNCTION refunds_no_delete();
CREATE TRIGGER trg_refunds_no_truncate BEFORE TRUNCATE ON refunds
    FOR EACH STATEMENT EXECUTE FUNCTION refunds_no_delete();
