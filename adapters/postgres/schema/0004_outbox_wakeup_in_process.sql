-- The relay of a service runs in the same process as everything that writes that service's
-- outbox, so a committed append wakes it in-process (postgres::AppendOutbox registers the wake-up
-- on the transaction's commit). The NOTIFY trigger of 0001 cost a nested statement per insert
-- and, at commit, a lock that PostgreSQL holds across the WAL flush for every notifying
-- transaction of the database, serialising commits. Writers from outside a service process may
-- still run NOTIFY sagapay_outbox; the relays keep listening, and poll as a fallback.
-- Shared by every service database; numbered after the services' own 0002/0003.
DROP TRIGGER outbox_events_notify ON outbox_events;
DROP FUNCTION outbox_events_notify();
