-- API tokens: bearer credentials that admins issue to pipelines. A token
-- acts as one person (its user) and can do what that person may do through
-- the API, except sign: signatures need the person and their password.
--
-- Only the SHA-256 of the secret is kept, so a copy of this table lets no
-- one in; the prefix (the first characters of the secret) is there so
-- people can tell their tokens apart.

CREATE TABLE api_tokens (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name         text        NOT NULL CHECK (name <> ''),
    user_id      bigint      NOT NULL REFERENCES users (id),
    token_hash   bytea       NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    prefix       text        NOT NULL,
    created_by   bigint      REFERENCES users (id), -- NULL: created from the command line
    created_at   timestamptz NOT NULL DEFAULT now(),
    -- Updated at most once a minute, so authenticating stays a read.
    last_used_at timestamptz,
    revoked_at   timestamptz,
    revoked_by   bigint      REFERENCES users (id)
);
-- A name says which pipeline holds a token: unique among standing tokens.
CREATE UNIQUE INDEX api_tokens_name_key ON api_tokens (lower(name)) WHERE revoked_at IS NULL;
CREATE INDEX api_tokens_user_idx ON api_tokens (user_id);
