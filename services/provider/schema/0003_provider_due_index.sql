-- The workers' claim order: first attempts, then retries, each by due time.
DROP INDEX ix_provider_payments_due;
CREATE INDEX ix_provider_payments_due_first ON provider_payments ((attempts > 0), next_attempt_at)
    WHERE next_attempt_at IS NOT NULL;
