-- The ops console's audit log: every change an operator makes through the console, with what it
-- was before and after. Append-only (the triggers refuse UPDATE, DELETE and TRUNCATE).
CREATE TABLE console_audit (
    audit_id  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at        timestamptz NOT NULL DEFAULT now(),
    operator  text NOT NULL,
    action    text NOT NULL,
    target    text NOT NULL,
    outcome   text NOT NULL,
    before    jsonb,
    after     jsonb
);

CREATE FUNCTION console_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'console_audit is append-only';
END;
$$;
CREATE TRIGGER trg_console_audit_immutable BEFORE UPDATE OR DELETE ON console_audit
    FOR EACH ROW EXECUTE FUNCTION console_audit_append_only();
CREATE TRIGGER trg_console_audit_no_truncate BEFORE TRUNCATE ON console_audit
    FOR EACH STATEMENT EXECUTE FUNCTION console_audit_append_only();
