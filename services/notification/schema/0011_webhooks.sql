-- Signed webhooks (docs/webhooks.md): endpoints registered through the ops API, one event per
-- payment step announced, one delivery per (event, endpoint) created in the transaction that
-- consumed the saga event (the outbox of the webhooks), and every attempt logged.
CREATE TABLE webhook_endpoints (
    endpoint_id                uuid PRIMARY KEY,
    merchant_id                text NOT NULL,
    url                        text NOT NULL,
    event_types                text[] NOT NULL,
    secret                     text NOT NULL,
    previous_secret            text,
    previous_secret_expires_at timestamptz,
    status                     text NOT NULL CHECK (status IN ('ENABLED', 'DISABLED')),
    disabled_reason            text,
    consecutive_failures       integer NOT NULL DEFAULT 0,
    created_at                 timestamptz NOT NULL DEFAULT now(),
    updated_at                 timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE webhook_events (
    event_id        uuid PRIMARY KEY,
    payment_id      uuid NOT NULL,
    event_type      text NOT NULL,
    sequence        integer NOT NULL,
    body            text NOT NULL,  -- the exact bytes signed and sent
    source_event_id text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT uq_webhook_events_sequence UNIQUE (payment_id, sequence),
    CONSTRAINT uq_webhook_events_source UNIQUE (source_event_id, event_type)
);

CREATE TABLE webhook_deliveries (
    delivery_id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id         uuid NOT NULL REFERENCES webhook_events (event_id),
    endpoint_id      uuid NOT NULL REFERENCES webhook_endpoints (endpoint_id),
    status           text NOT NULL CHECK (status IN ('PENDING', 'DELIVERED', 'FAILED')),
    attempts         integer NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    give_up_at       timestamptz NOT NULL,
    delivered_at     timestamptz,
    last_status_code integer,
    last_error       text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT uq_webhook_deliveries UNIQUE (event_id, endpoint_id)
);
CREATE INDEX ix_webhook_deliveries_due ON webhook_deliveries (next_attempt_at)
    WHERE status = 'PENDING';
CREATE INDEX ix_webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, delivery_id);

CREATE TABLE webhook_attempts (
    attempt_id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    delivery_id      bigint NOT NULL REFERENCES webhook_deliveries (delivery_id),
    attempt_number   integer NOT NULL,
    status_code      integer,
    latency_ms       integer NOT NULL,
    error            text,
    response_excerpt text,
    created_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ix_webhook_attempts_delivery ON webhook_attempts (delivery_id, attempt_id);
