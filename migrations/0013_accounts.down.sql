DROP INDEX sessions_ref_key;
ALTER TABLE sessions
    DROP COLUMN ref,
    DROP COLUMN auth_method,
    DROP COLUMN user_agent,
    DROP COLUMN client_ip,
    DROP COLUMN last_seen_at;

DELETE FROM setup_tokens WHERE purpose = 'reset';
ALTER TABLE setup_tokens DROP CONSTRAINT setup_tokens_purpose_check;
ALTER TABLE setup_tokens ADD CONSTRAINT setup_tokens_purpose_check
    CHECK (purpose IN ('first_admin', 'invite'));

DROP TABLE passkeys;

DROP INDEX users_oidc_key;
ALTER TABLE users
    DROP CONSTRAINT users_oidc_both,
    DROP COLUMN oidc_issuer,
    DROP COLUMN oidc_subject,
    DROP COLUMN webauthn_handle;
-- People without a password get one nobody knows (an admin can send them
-- a new invitation).
UPDATE users SET password_hash = 'none' WHERE password_hash IS NULL;
ALTER TABLE users ALTER COLUMN password_hash SET NOT NULL;
