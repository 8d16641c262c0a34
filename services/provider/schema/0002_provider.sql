-- The adapter's view of each payment at the PSP. A scheduled retry is a row with
-- next_attempt_at set: it survives a restart and blocks no other payment.
CREATE TABLE provider_payments (
    payment_id        uuid PRIMARY KEY,
    customer_id       text NOT NULL,
    amount_cents      bigint NOT NULL,
    currency          char(3) NOT NULL,
    trace_id          text NOT NULL,
    status            text NOT NULL CHECK (status IN ('AUTHORIZING', 'AUTHORIZED', 'DECLINED',
                          'TIMED_OUT', 'CAPTURED')),
    authorization_key text NOT NULL,
    authorization_id  text,
    attempts          integer NOT NULL DEFAULT 0,
    next_attempt_at   timestamptz,
    source_event      jsonb NOT NULL,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ix_provider_payments_due ON provider_payments (next_attempt_at)
    WHERE next_attempt_at IS NOT NULL;

-- Every call to the PSP, timeouts and inquiries included: the audit trail of what may have happened.
CREATE TABLE provider_attempts (
    attempt_id     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    payment_id     uuid NOT NULL,
    attempt_number integer NOT NULL,
    operation      text NOT NULL CHECK (operation IN ('AUTHORIZE', 'INQUIRE', 'CAPTURE', 'VOID')),
    result         text NOT NULL,
    latency_ms     integer NOT NULL,
    error_code     text,
    created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ix_provider_attempts_payment ON provider_attempts (payment_id, attempt_id);
