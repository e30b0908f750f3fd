package postgres

import (
	"context"
	"fmt"
)

// publishedKeyName names, in app_secrets, the public half of the key the
// server signs audit exports with. It is no secret; it is kept so that a
// process reaching the database by another way than the server (a command
// with DATABASE_URL, say) can tell whether it holds the same key, instead
// of making a second one whose exports would not verify against the key
// the server publishes.
const publishedKeyName = "audit_signing_public_key"

// SigningKeys is what the database holds about the audit signing key.
type SigningKeys struct {
	// Published is the public key the last server to start signs with;
	// nil before any server has started (or before servers recorded it).
	Published []byte
	// Seed is the key kept in the database (see SigningSeed); nil if none
	// was ever generated.
	Seed []byte
}

// SigningKeys reads what the database holds about the signing key, creating
// nothing.
func (db *DB) SigningKeys(ctx context.Context) (SigningKeys, error) {
	var k SigningKeys
	err := db.pool.QueryRow(ctx, `
		SELECT (SELECT value FROM app_secrets WHERE name = $1),
		       (SELECT value FROM app_secrets WHERE name = $2)`,
		publishedKeyName, SigningKeySecret).Scan(&k.Published, &k.Seed)
	if err != nil {
		return SigningKeys{}, fmt.Errorf("read signing keys: %w", err)
	}
	return k, nil
}

// PublishSigningKey records pub as the key exports are signed with from now
// on.
func (db *DB) PublishSigningKey(ctx context.Context, pub []byte) error {
	_, err := db.pool.Exec(ctx, `
		INSERT INTO app_secrets (name, value) VALUES ($1, $2)
		ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value`, publishedKeyName, pub)
	if err != nil {
		return fmt.Errorf("publish signing key: %w", err)
	}
	return nil
}
