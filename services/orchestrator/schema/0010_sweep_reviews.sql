-- The sweeper re-drives RISK_REVIEW too (a manual decision whose event was lost): its scan index
-- covers every state that waits on a service or a person.
DROP INDEX ix_payments_waiting;
CREATE INDEX ix_payments_waiting ON payments (updated_at)
    WHERE status IN ('CREATED', 'RISK_REVIEW', 'APPROVED', 'AUTHORIZED', 'CAPTURED');
