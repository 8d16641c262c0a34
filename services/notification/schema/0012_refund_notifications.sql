-- Refunds (issue 18): a notification per refund as well as per payment outcome. A refund's row
-- names its refund: PARTIALLY_REFUNDED or REFUNDED (the refund succeeded; the payment's status
-- after it), REFUND_FAILED (the PSP refused it). A payment has any number of refunds, so the
-- one-per-(payment, outcome) rule holds for the payment's own outcomes only, and a refund's
-- outcome is recorded once per refund.
ALTER TABLE notification_logs ADD COLUMN refund_id uuid;

ALTER TABLE notification_logs DROP CONSTRAINT notification_logs_outcome_check;
ALTER TABLE notification_logs ADD CONSTRAINT notification_logs_outcome_check CHECK (
    (refund_id IS NULL AND outcome IN ('SETTLED', 'FAILED', 'REVERSED'))
    OR (refund_id IS NOT NULL
        AND outcome IN ('PARTIALLY_REFUNDED', 'REFUNDED', 'REFUND_FAILED')));

ALTER TABLE notification_logs DROP CONSTRAINT uq_notification_outcome;
CREATE UNIQUE INDEX uq_notification_outcome ON notification_logs (payment_id, outcome)
    WHERE refund_id IS NULL;
CREATE UNIQUE INDEX uq_notification_refund ON notification_logs (refund_id, outcome)
    WHERE refund_id IS NOT NULL;
