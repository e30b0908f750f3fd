-- A history no one can rewrite (issue 14): the keys that signed, and one
-- append-only Merkle log (RFC 9162 hashing) over every audit event of every
-- chain, whose signed checkpoints independent witnesses cosign. See
-- docs/audit.md, "The transparency log".

-- Every key that ever signed exports or checkpoints, public halves only, in
-- the order they were first published: the last one is the current key, the
-- others verify what they signed before a rotation. Nothing here is secret.
CREATE TABLE audit_signing_keys (
    n            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    public_key   bytea       NOT NULL UNIQUE CHECK (length(public_key) = 32),
    published_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO audit_signing_keys (public_key)
    SELECT value FROM app_secrets
    WHERE name = 'audit_signing_public_key' AND length(value) = 32;

-- Events waiting to enter the log. A trigger, not the application, fills
-- it, so every event any statement appends, of any kind, now or later, is
-- logged; ticks on different deployments never wait for each other here
-- (no shared row is touched), and the integrator (internal/postgres/
-- transparency.go) sequences them afterwards, as transparency logs do.
CREATE TABLE audit_log_pending (
    event_id bigint PRIMARY KEY REFERENCES audit_events (id)
);

CREATE FUNCTION audit_log_enqueue() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO audit_log_pending (event_id) SELECT id FROM added;
    RETURN NULL;
END;
$$;

CREATE TRIGGER audit_events_enqueue
    AFTER INSERT ON audit_events
    REFERENCING NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_enqueue();

-- The events recorded so far enter the log first, in the order they were
-- written.
INSERT INTO audit_log_pending (event_id) SELECT id FROM audit_events;

-- The log's leaves: leaf idx is event event_id. Its entry (the bytes whose
-- RFC 9162 leaf hash the tree holds) is "<chain> <seq> <prev hex> <sha256
-- hex>\n", made from the event's row; chain is 0 for the system chain, else
-- the deployment's id. One leaf per place in a chain: a second event
-- claiming a (chain, seq) already logged, as a rewrite would need, is
-- refused here.
CREATE TABLE audit_log_entries (
    idx      bigint PRIMARY KEY CHECK (idx >= 0),
    event_id bigint NOT NULL UNIQUE REFERENCES audit_events (id),
    chain    bigint NOT NULL CHECK (chain >= 0),
    seq      bigint NOT NULL CHECK (seq > 0),
    UNIQUE (chain, seq)
);
-- A chain's first event names the chain (the chain heads of a checkpoint).
CREATE INDEX audit_log_entries_chains ON audit_log_entries (chain, idx) WHERE seq = 1;

-- The tree's stored hashes, indexed as golang.org/x/mod/sumdb/tlog stores
-- them (StoredHashIndex): about two per leaf.
CREATE TABLE audit_log_hashes (
    idx  bigint PRIMARY KEY CHECK (idx >= 0),
    hash bytea  NOT NULL CHECK (length(hash) = 32)
);

-- Every signed checkpoint (a C2SP tlog-checkpoint in a signed note), and
-- the witnesses' cosignatures of them (C2SP tlog-cosignature note lines).
CREATE TABLE audit_log_checkpoints (
    size      bigint      PRIMARY KEY CHECK (size > 0),
    note      text        NOT NULL,
    signed_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE audit_log_cosignatures (
    size        bigint      NOT NULL REFERENCES audit_log_checkpoints (size),
    witness     text        NOT NULL, -- the witness's verifier key
    line        text        NOT NULL, -- "— <name> <base64>\n"
    received_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (size, witness)
);

-- The log's name (its checkpoints' origin line), chosen once.
CREATE TABLE audit_log_origin (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    origin    text    NOT NULL CHECK (origin <> '' AND origin !~ '[[:space:]+]')
);

-- Append-only, like audit_events, for whoever is not their owner; the app
-- role cannot change or delete them either (no privilege; see
-- docs/audit.md, "Running with a database role that cannot rewrite
-- history").
CREATE FUNCTION audit_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;

CREATE TRIGGER audit_log_entries_append_only BEFORE UPDATE OR DELETE ON audit_log_entries
    FOR EACH ROW EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_log_hashes_append_only BEFORE UPDATE OR DELETE ON audit_log_hashes
    FOR EACH ROW EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_log_checkpoints_append_only BEFORE UPDATE OR DELETE ON audit_log_checkpoints
    FOR EACH ROW EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_log_cosignatures_append_only BEFORE UPDATE OR DELETE ON audit_log_cosignatures
    FOR EACH ROW EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_log_origin_append_only BEFORE UPDATE OR DELETE ON audit_log_origin
    FOR EACH ROW EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_signing_keys_append_only BEFORE UPDATE OR DELETE ON audit_signing_keys
    FOR EACH ROW EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log_entries
    FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_log_hashes_no_truncate BEFORE TRUNCATE ON audit_log_hashes
    FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_log_checkpoints_no_truncate BEFORE TRUNCATE ON audit_log_checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();
