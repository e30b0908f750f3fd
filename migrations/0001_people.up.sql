-- People, their roles, and the sessions and secrets that let them in.

CREATE TABLE users (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email          text        NOT NULL CHECK (email <> ''),
    name           text        NOT NULL CHECK (name <> ''),
    password_hash  text        NOT NULL,
    is_admin       boolean     NOT NULL DEFAULT false,
    is_auditor     boolean     NOT NULL DEFAULT false,
    active         boolean     NOT NULL DEFAULT true,
    created_at     timestamptz NOT NULL DEFAULT now(),
    deactivated_at timestamptz
);
CREATE UNIQUE INDEX users_email_key ON users (lower(email));

-- The role catalog: the accountable roles that sign a deployment's slots.
CREATE TABLE roles (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name       text        NOT NULL CHECK (name <> ''),
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX roles_name_key ON roles (lower(name));

INSERT INTO roles (name) VALUES
    ('Deployment Engineer'),
    ('Database Administrator'),
    ('Security Engineer'),
    ('DevOps Lead'),
    ('Product Manager'),
    ('Engineering Manager'),
    ('Operations Manager'),
    ('CTO/Technical Director');

CREATE TABLE user_roles (
    user_id    bigint      NOT NULL REFERENCES users (id),
    role_id    bigint      NOT NULL REFERENCES roles (id),
    granted_at timestamptz NOT NULL DEFAULT now(),
    granted_by bigint      REFERENCES users (id),
    PRIMARY KEY (user_id, role_id)
);
CREATE INDEX user_roles_role_idx ON user_roles (role_id);

-- Sessions are keyed by the SHA-256 of the id in the cookie, so a copy of
-- this table does not let anyone in.
CREATE TABLE sessions (
    id_hash      bytea       PRIMARY KEY,
    user_id      bigint      REFERENCES users (id),
    data         bytea       NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL
);
CREATE INDEX sessions_user_idx ON sessions (user_id);
CREATE INDEX sessions_expires_idx ON sessions (expires_at);

-- One-time links: the first admin's setup, and invitations that let a new
-- person choose their password.
CREATE TABLE setup_tokens (
    token_hash bytea       PRIMARY KEY,
    purpose    text        NOT NULL DEFAULT 'first_admin' CHECK (purpose IN ('first_admin', 'invite')),
    user_id    bigint      REFERENCES users (id),
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    used_at    timestamptz
);

-- Failed password attempts, shared by every app instance, for rate limiting
-- logins and signature ceremonies.
CREATE TABLE auth_failures (
    id   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    key  text        NOT NULL,
    at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX auth_failures_key_at_idx ON auth_failures (key, at);

-- Secrets the instances share (the session cookie key), generated once.
CREATE TABLE app_secrets (
    name       text        PRIMARY KEY,
    value      bytea       NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
