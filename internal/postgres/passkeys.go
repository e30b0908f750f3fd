package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/signoff/signoff/internal/signoff"
)

const passkeyColumns = `id, user_id, credential_id, public_key, attestation_type, aaguid, sign_count,
	transports, backup_eligible, backup_state, name, created_at, last_used_at`

func scanPasskey(row pgx.Row) (signoff.Passkey, error) {
	var p signoff.Passkey
	var count int64
	err := row.Scan(&p.ID, &p.UserID, &p.CredentialID, &p.PublicKey, &p.AttestationType, &p.AAGUID, &count,
		&p.Transports, &p.BackupEligible, &p.BackupState, &p.Name, &p.CreatedAt, &p.LastUsedAt)
	p.SignCount = uint32(count)
	return p, err
}

// Passkeys lists a person's passkeys, oldest first.
func (db *DB) Passkeys(ctx context.Context, userID int64) ([]signoff.Passkey, error) {
	rows, err := db.pool.Query(ctx, `SELECT `+passkeyColumns+` FROM passkeys WHERE user_id = $1 ORDER BY id`, userID)
	if err != nil {
		return nil, fmt.Errorf("passkeys of user %d: %w", userID, err)
	}
	keys, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (signoff.Passkey, error) { return scanPasskey(r) })
	if err != nil {
		return nil, fmt.Errorf("passkeys of user %d: %w", userID, err)
	}
	return keys, nil
}

// WebAuthnHandle returns a person's WebAuthn user handle, or nil before
// their first passkey.
func (db *DB) WebAuthnHandle(ctx context.Context, userID int64) ([]byte, error) {
	var h []byte
	if err := db.pool.QueryRow(ctx, `SELECT webauthn_handle FROM users WHERE id = $1`, userID).Scan(&h); err != nil {
		return nil, notFound(fmt.Errorf("webauthn handle of user %d: %w", userID, err), "Person %d not found.", userID)
	}
	return h, nil
}

// UserByWebAuthnHandle returns the active person a passkey's user handle
// names (a sign-in with a discoverable passkey).
func (db *DB) UserByWebAuthnHandle(ctx context.Context, handle []byte) (*signoff.User, error) {
	u, err := scanUser(db.pool.QueryRow(ctx, `SELECT `+userColumns+` FROM users u WHERE u.webauthn_handle = $1 AND u.active`, handle))
	if err != nil {
		return nil, notFound(fmt.Errorf("user by webauthn handle: %w", err), "This passkey belongs to nobody who may sign in here.")
	}
	return u, nil
}

// AddPasskey registers a verified passkey for a person (and their user
// handle, the first time) and records it.
func (db *DB) AddPasskey(ctx context.Context, handle []byte, p signoff.Passkey, actor signoff.EventActor) (signoff.Passkey, error) {
	name, err := signoff.ValidatePasskeyName(p.Name)
	if err != nil {
		return p, err
	}
	p.Name = name
	if p.Transports == nil {
		p.Transports = []string{} // pgx writes a nil slice as NULL; an authenticator may report none
	}
	_, err = db.changeSystem(ctx, "add passkey", func(tx pgx.Tx) (*signoff.Change, error) {
		var sameHandle bool
		var count int
		err := tx.QueryRow(ctx, `
			SELECT active AND coalesce(webauthn_handle, $2) = $2,
			       (SELECT count(*) FROM passkeys WHERE user_id = $1)::int
			FROM users WHERE id = $1 FOR UPDATE`, p.UserID, handle).Scan(&sameHandle, &count)
		if err != nil {
			return nil, notFound(fmt.Errorf("add passkey for user %d: %w", p.UserID, err), "Person %d not found.", p.UserID)
		}
		switch {
		case !sameHandle:
			return nil, signoff.Errorf(signoff.ECONFLICT, "This passkey was made for another registration; add it again.")
		case count >= signoff.MaxPasskeys:
			return nil, signoff.Errorf(signoff.ECONFLICT, "You have %d passkeys, the most one person may have; remove one first.", signoff.MaxPasskeys)
		}
		if _, err := tx.Exec(ctx, `UPDATE users SET webauthn_handle = $2 WHERE id = $1 AND webauthn_handle IS NULL`, p.UserID, handle); err != nil {
			return nil, fmt.Errorf("add passkey for user %d: handle: %w", p.UserID, err)
		}
		err = tx.QueryRow(ctx, `
			INSERT INTO passkeys (user_id, credential_id, public_key, attestation_type, aaguid, sign_count,
			                      transports, backup_eligible, backup_state, name)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
			RETURNING id, created_at`, p.UserID, p.CredentialID, p.PublicKey, p.AttestationType, p.AAGUID,
			int64(p.SignCount), p.Transports, p.BackupEligible, p.BackupState, p.Name).Scan(&p.ID, &p.CreatedAt)
		if isUniqueViolation(err, "passkeys_credential_id_key") {
			return nil, signoff.Errorf(signoff.ECONFLICT, "This passkey is registered already.")
		}
		if err != nil {
			return nil, fmt.Errorf("add passkey for user %d: %w", p.UserID, err)
		}
		ch := signoff.NewChange(actor, signoff.UserTarget(p.UserID),
			&signoff.PasskeyRegisterEvent{After: signoff.PasskeyAfter{Credential: p.CredentialName(), Name: p.Name}})
		return &ch, nil
	})
	return p, err
}

// RemovePasskey removes one of a person's passkeys and records it.
func (db *DB) RemovePasskey(ctx context.Context, userID, passkeyID int64, actor signoff.EventActor) error {
	_, err := db.changeSystem(ctx, "remove passkey", func(tx pgx.Tx) (*signoff.Change, error) {
		var cred []byte
		var name string
		err := tx.QueryRow(ctx, `DELETE FROM passkeys WHERE id = $1 AND user_id = $2 RETURNING credential_id, name`,
			passkeyID, userID).Scan(&cred, &name)
		if err != nil {
			return nil, notFound(fmt.Errorf("remove passkey %d: %w", passkeyID, err), "That passkey is not yours, or is gone already.")
		}
		ch := signoff.NewChange(actor, signoff.UserTarget(userID),
			&signoff.PasskeyRemoveEvent{Before: signoff.PasskeyAfter{Credential: signoff.CredentialName(cred), Name: name}})
		return &ch, nil
	})
	return err
}

// PasskeyUsed records a verified assertion: the authenticator's counter
// and whether the passkey is backed up now.
func (db *DB) PasskeyUsed(ctx context.Context, credentialID []byte, signCount uint32, backupState bool) error {
	_, err := db.pool.Exec(ctx, `
		UPDATE passkeys SET sign_count = greatest(sign_count, $2), backup_state = $3, last_used_at = now()
		WHERE credential_id = $1`, credentialID, int64(signCount), backupState)
	if err != nil {
		return fmt.Errorf("record passkey use: %w", err)
	}
	return nil
}
