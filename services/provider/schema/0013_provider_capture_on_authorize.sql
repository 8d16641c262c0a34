-- Automatic capture in the provider (issue 16): a payment asked with capture_on_authorize is
-- captured by the worker that authorized it, in the same piece of work, with no capture request
-- from the saga (two bus hops fewer). Rows written before this migration only authorize.
ALTER TABLE provider_payments
    ADD COLUMN capture_on_authorize boolean NOT NULL DEFAULT false;
