-- Manual partial capture and refunds (issue 18).
--
-- capture_amount_cents: what the saga asked to capture (NULL: the whole authorization).
ALTER TABLE provider_payments ADD COLUMN capture_amount_cents bigint
    CHECK (capture_amount_cents IS NULL OR (capture_amount_cents > 0
                                            AND capture_amount_cents <= amount_cents));

-- One row per refund the saga asked for (its refund id is the key, so a redelivered request
-- never makes a second one). Worked like payments: claimed (claim, next_attempt_at as the
-- lease), the PSP called with no transaction open, the outcome recorded with a compare-and-swap.
CREATE TABLE provider_refunds (
    refund_id         uuid PRIMARY KEY,
    payment_id        uuid NOT NULL,
    amount_cents      bigint NOT NULL CHECK (amount_cents > 0),
    currency          char(3) NOT NULL,
    reason            text NOT NULL,
    trace_id          text NOT NULL,
    authorization_key text NOT NULL,
    refund_key        text NOT NULL UNIQUE,
    status            text NOT NULL CHECK (status IN ('REFUNDING', 'SUCCEEDED', 'FAILED')),
    attempts          integer NOT NULL DEFAULT 0,
    retries           integer NOT NULL DEFAULT 0,
    next_attempt_at   timestamptz,
    claim             bigint NOT NULL DEFAULT 0,
    failure_reason    text,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ix_provider_refunds_due ON provider_refunds (next_attempt_at)
    WHERE next_attempt_at IS NOT NULL;
CREATE INDEX ix_provider_refunds_payment ON provider_refunds (payment_id);

ALTER TABLE provider_attempts DROP CONSTRAINT provider_attempts_operation_check;
ALTER TABLE provider_attempts ADD CONSTRAINT provider_attempts_operation_check
    CHECK (operation IN ('AUTHORIZE', 'INQUIRE', 'CAPTURE', 'VOID', 'REFUND', 'INQUIRE_REFUND'));
