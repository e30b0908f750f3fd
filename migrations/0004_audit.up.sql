-- The audit log: one immutable row per change, hash-chained per deployment
-- (deployment_id NULL is the system chain: people, roles, templates).

CREATE TABLE audit_events (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    deployment_id bigint      REFERENCES deployments (id),
    seq           bigint      NOT NULL CHECK (seq > 0),
    at            timestamptz NOT NULL,
    actor_id      bigint      REFERENCES users (id),
    actor_name    text        NOT NULL,
    action        text        NOT NULL,
    target        text        NOT NULL DEFAULT '',
    -- The canonical JSON of the event, byte for byte what was hashed.
    payload       text        NOT NULL,
    prev_hash     bytea       NOT NULL,
    hash          bytea       NOT NULL
);
CREATE UNIQUE INDEX audit_events_chain_key ON audit_events (coalesce(deployment_id, 0), seq);
CREATE INDEX audit_events_at_idx ON audit_events (at);

-- Head of the system chain (deployments keep theirs on their own row).
CREATE TABLE audit_system_chain (
    singleton  boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    seq        bigint      NOT NULL DEFAULT 0,
    head       bytea       NOT NULL DEFAULT '\x',
    at         timestamptz NOT NULL DEFAULT '-infinity'
);
INSERT INTO audit_system_chain DEFAULT VALUES;

-- Append-only, enforced here rather than trusted to the application.
CREATE FUNCTION audit_events_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_events is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;

CREATE TRIGGER audit_events_no_update
    BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
CREATE TRIGGER audit_events_no_truncate
    BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only();
