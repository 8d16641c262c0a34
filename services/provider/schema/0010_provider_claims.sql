-- Claim, commit, call, record: a worker claims due payments (bumping `claim` and pushing
-- next_attempt_at to the end of its lease), calls the PSP with no transaction open, and records
-- the outcome only if nobody wrote the payment since. Captures and the janitor's checks of failed
-- payments are due work too, so the status gains CAPTURING, VOIDED and REFUNDED.
ALTER TABLE provider_payments
    ADD COLUMN claim   bigint  NOT NULL DEFAULT 0,
    ADD COLUMN fresh   boolean NOT NULL DEFAULT true,
    ADD COLUMN retries integer NOT NULL DEFAULT 0,
    ADD COLUMN checks  integer NOT NULL DEFAULT 0,
    -- The database session of the worker that holds the claim: when it ends (the worker died,
    -- its connection broke) the claim is released at once instead of at the end of the lease.
    ADD COLUMN claimed_pid   integer,
    ADD COLUMN claimed_since timestamptz;
-- Rows written before: retries are those with an attempt made.
UPDATE provider_payments SET fresh = (attempts = 0);
ALTER TABLE provider_payments DROP CONSTRAINT provider_payments_status_check;
ALTER TABLE provider_payments ADD CONSTRAINT provider_payments_status_check
    CHECK (status IN ('AUTHORIZING', 'AUTHORIZED', 'CAPTURING', 'CAPTURED', 'DECLINED',
                      'TIMED_OUT', 'VOIDED', 'REFUNDED'));
ALTER TABLE provider_attempts DROP CONSTRAINT provider_attempts_operation_check;
ALTER TABLE provider_attempts ADD CONSTRAINT provider_attempts_operation_check
    CHECK (operation IN ('AUTHORIZE', 'INQUIRE', 'CAPTURE', 'VOID', 'REFUND'));
DROP INDEX ix_provider_payments_due_first;
CREATE INDEX ix_provider_payments_claim ON provider_payments ((NOT fresh), next_attempt_at)
    WHERE next_attempt_at IS NOT NULL;
CREATE INDEX ix_provider_payments_claimed ON provider_payments (claimed_pid)
    WHERE claimed_pid IS NOT NULL;
