-- The transactional outbox and the consumer inbox. Every service database applies this as its
-- first migration (sagapay::MessagingMigrations(), adapters/postgres/messaging_schema.hpp).

-- One row per event to publish, written in the same transaction as the business change.
-- payload holds the whole envelope; topic is the envelope's event_type.
CREATE TABLE outbox_events (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    seq bigint GENERATED ALWAYS AS IDENTITY,
    aggregate_type text NOT NULL DEFAULT 'payment',
    aggregate_id text NOT NULL,
    event_type text NOT NULL,
    topic text NOT NULL,
    payload jsonb NOT NULL,
    status text NOT NULL DEFAULT 'PENDING'
        CHECK (status IN ('PENDING', 'PROCESSING', 'SENT')),
    created_at timestamptz NOT NULL DEFAULT now(),
    claimed_at timestamptz,
    sent_at timestamptz
);

-- The relay's claim scans unsent rows in insertion order; SENT rows only wait for the purge.
CREATE INDEX outbox_events_unsent_seq_idx ON outbox_events (seq) WHERE status <> 'SENT';
CREATE INDEX outbox_events_aggregate_id_idx ON outbox_events (aggregate_id);

-- Wakes the relays (LISTEN sagapay_outbox) when a transaction that appended events commits;
-- one notification per statement, and identical ones in a transaction are folded into one.
CREATE FUNCTION outbox_events_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('sagapay_outbox', '');
    RETURN NULL;
END;
$$;

CREATE TRIGGER outbox_events_notify
    AFTER INSERT ON outbox_events
    FOR EACH STATEMENT EXECUTE FUNCTION outbox_events_notify();

-- Events a consumer has handled, recorded in the transaction of its side effects: a redelivered
-- event finds its row and is skipped.
CREATE TABLE inbox_events (
    event_id text NOT NULL,
    consumed_by_service text NOT NULL,
    consumed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (event_id, consumed_by_service)
);
