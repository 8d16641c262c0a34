-- Payments, their timeline and provider attempts. Money is bigint minor units; the pair
-- (customer_id, idempotency_key) is unique per customer, never globally.
CREATE TABLE payments (
    payment_id          uuid PRIMARY KEY,
    customer_id         text NOT NULL,
    amount_cents        bigint NOT NULL CHECK (amount_cents > 0),
    currency            char(3) NOT NULL,
    status              text NOT NULL CHECK (status IN ('CREATED', 'RISK_REVIEW', 'APPROVED',
                            'AUTHORIZED', 'CAPTURED', 'SETTLED', 'FAILED', 'REVERSED')),
    state_version       integer NOT NULL DEFAULT 0,
    idempotency_key     text NOT NULL,
    request_fingerprint text NOT NULL,
    trace_id            text NOT NULL,
    redrive_count       integer NOT NULL DEFAULT 0,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT uq_payments_customer_idempotency UNIQUE (customer_id, idempotency_key)
);

-- The sweeper's scan: only payments still waiting on a service.
CREATE INDEX ix_payments_waiting ON payments (updated_at)
    WHERE status IN ('CREATED', 'APPROVED', 'AUTHORIZED', 'CAPTURED');
CREATE INDEX ix_payments_customer_created ON payments (customer_id, created_at);

CREATE TABLE payment_timeline (
    timeline_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    payment_id  uuid NOT NULL REFERENCES payments (payment_id),
    from_state  text,
    to_state    text NOT NULL,
    reason      text NOT NULL,
    event_id    text,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ix_payment_timeline_payment ON payment_timeline (payment_id, timeline_id);
