-- Nothing in the orchestrator reads payments by (customer_id, created_at): lookups by customer go
-- through uq_payments_customer_idempotency. Every state change rewrites the payment row into all
-- of its indexes (status and updated_at are indexed by ix_payments_waiting, so no update is HOT),
-- so an unused index costs on every hop.
DROP INDEX ix_payments_customer_created;
