-- One decision per payment: a re-requested payment gets the decision it had, never a new one.
CREATE TABLE risk_decisions (
    payment_id      uuid PRIMARY KEY,
    customer_id     text NOT NULL,
    amount_cents    bigint NOT NULL,
    currency        char(3) NOT NULL,
    decision        text NOT NULL CHECK (decision IN ('APPROVE', 'REVIEW', 'DENY')),
    reason          text NOT NULL,
    payments_last_hour bigint NOT NULL,
    failed_attempts bigint NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE risk_reviews (
    review_id         uuid PRIMARY KEY,
    payment_id        uuid NOT NULL UNIQUE,
    customer_id       text NOT NULL,
    amount_cents      bigint NOT NULL,
    currency          char(3) NOT NULL,
    reason            text NOT NULL,
    status            text NOT NULL CHECK (status IN ('PENDING', 'APPROVED', 'DENIED')),
    reviewed_by       text,
    reviewed_at       timestamptz,
    decision_event_id text,
    trace_id          text NOT NULL,
    created_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ix_risk_reviews_status_created ON risk_reviews (status, created_at, review_id);
