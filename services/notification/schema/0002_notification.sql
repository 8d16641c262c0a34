-- One notification per payment outcome, however often the outcome's event is delivered.
CREATE TABLE notification_logs (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    payment_id uuid NOT NULL,
    outcome    text NOT NULL CHECK (outcome IN ('SETTLED', 'FAILED', 'REVERSED')),
    channel    text NOT NULL DEFAULT 'webhook',
    message    text NOT NULL,
    event_id   text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT uq_notification_outcome UNIQUE (payment_id, outcome)
);
