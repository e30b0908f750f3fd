-- Requests that must be done at most once (issue 16).
--
-- An API write sent with an Idempotency-Key, and a web form carrying its
-- form key, claims its key in the transaction that makes its change: the
-- key and the change commit together or not at all, so a retry (after a
-- lost answer, a crash, a restart of PostgreSQL) finds the key exactly
-- when the change was made, and is answered without doing it again. A
-- second request with the key waits on the primary key until the first
-- commits or rolls back.
--
-- scope is who sent the key ('token:<id>' for the API, 'user:<id>' for
-- the web), so two pipelines cannot collide; request_hash is the SHA-256
-- of the request (method, path and body): a key sent again with another
-- request is refused. deployment_id is what the request created or
-- changed. The first answer (status, Location, body) is recorded just
-- after the commit, for the API; when that fails, a retry builds the
-- answer afresh from what the key says was done. Keys are deleted
-- IDEMPOTENCY_KEY_TTL after they were made (the hourly sweep).
CREATE TABLE idempotency_keys (
    scope          text        NOT NULL,
    key            text        NOT NULL,
    request_hash   bytea       NOT NULL,
    deployment_id  bigint,
    created_at     timestamptz NOT NULL DEFAULT now(),
    answer_status  int,
    answer_location text,
    answer_body    bytea,
    PRIMARY KEY (scope, key)
);

CREATE INDEX idempotency_keys_created_at_idx ON idempotency_keys (created_at);

-- The readiness probe writes a row here in a transaction it rolls back:
-- it holds no committed row, ever. A database that refuses writes (a
-- standby, a read-only transaction default, a full disk) fails the probe
-- as it would fail a change.
CREATE TABLE readiness_probe (
    at timestamptz NOT NULL DEFAULT now()
);
