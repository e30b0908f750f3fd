-- Accounts a company can trust (issue 13): single sign-on, passkeys,
-- recovery links, and sessions their owners can see and end.

-- A person who signs in only through single sign-on has no password.
ALTER TABLE users ALTER COLUMN password_hash DROP NOT NULL;

-- The identity-provider account a person signs in with: the issuer and
-- the subject its ID tokens carry (never the email, which can change or
-- be reassigned). One provider account is one person.
ALTER TABLE users
    ADD COLUMN oidc_issuer  text,
    ADD COLUMN oidc_subject text,
    ADD CONSTRAINT users_oidc_both CHECK ((oidc_issuer IS NULL) = (oidc_subject IS NULL)),
    -- The WebAuthn user handle: random, so an authenticator never holds
    -- the person's id or email. Set when their first passkey is added.
    ADD COLUMN webauthn_handle bytea UNIQUE;
CREATE UNIQUE INDEX users_oidc_key ON users (oidc_issuer, oidc_subject) WHERE oidc_subject IS NOT NULL;

-- Passkeys (WebAuthn credentials), several per person. The public key
-- and the counters are what verifying an assertion needs; the private
-- key never leaves the authenticator.
CREATE TABLE passkeys (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id          bigint      NOT NULL REFERENCES users (id),
    credential_id    bytea       NOT NULL UNIQUE,
    public_key       bytea       NOT NULL,
    attestation_type text        NOT NULL DEFAULT '',
    aaguid           bytea       NOT NULL DEFAULT '\x',
    sign_count       bigint      NOT NULL DEFAULT 0 CHECK (sign_count >= 0),
    transports       text[]      NOT NULL DEFAULT '{}',
    backup_eligible  boolean     NOT NULL DEFAULT false,
    backup_state     boolean     NOT NULL DEFAULT false,
    name             text        NOT NULL CHECK (name <> ''),
    created_at       timestamptz NOT NULL DEFAULT now(),
    last_used_at     timestamptz
);
CREATE INDEX passkeys_user_idx ON passkeys (user_id);

-- One-time links now also reset a forgotten password.
ALTER TABLE setup_tokens DROP CONSTRAINT setup_tokens_purpose_check;
ALTER TABLE setup_tokens ADD CONSTRAINT setup_tokens_purpose_check
    CHECK (purpose IN ('first_admin', 'invite', 'reset'));

-- Sessions a person can see and end: a public number to name one by (the
-- id in the cookie is never shown or stored), how it was started, from
-- where, and when it was last used.
ALTER TABLE sessions
    ADD COLUMN ref          bigint GENERATED ALWAYS AS IDENTITY,
    ADD COLUMN auth_method  text        NOT NULL DEFAULT 'password',
    ADD COLUMN user_agent   text        NOT NULL DEFAULT '',
    ADD COLUMN client_ip    text        NOT NULL DEFAULT '',
    ADD COLUMN last_seen_at timestamptz NOT NULL DEFAULT now();
CREATE UNIQUE INDEX sessions_ref_key ON sessions (ref);
