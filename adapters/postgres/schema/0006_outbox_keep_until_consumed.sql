-- The outbox stays the source of truth until every consumer group has consumed an event
-- (runtime/outbox_relay.cpp): the relay records the stream entry id each row got when published
-- (stream_ms-stream_seq), keeps SENT rows until every consumer group of the topic has acked past
-- that id, and re-publishes the kept rows a Redis data loss took from the stream. Rows SENT
-- before this migration have no id: only the age cap (OUTBOX_RETENTION_SECONDS) removes them.
-- Shared by every service database; numbered after the services' own 0002/0003/0005.
ALTER TABLE outbox_events ADD COLUMN stream_ms bigint, ADD COLUMN stream_seq bigint;

-- Per topic: the highest recorded id (loss detection), the rows after an id (re-publish) and the
-- rows before one (purge of consumed rows).
CREATE INDEX outbox_events_sent_position_idx ON outbox_events (topic, stream_ms, stream_seq)
    WHERE status = 'SENT';

-- The inbox is purged by age (INBOX_RETENTION_SECONDS).
CREATE INDEX inbox_events_consumed_at_idx ON inbox_events (consumed_at);
