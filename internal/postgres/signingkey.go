package postgres

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
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

// LegacyPublished reports whether the published key is the one kept in
// the database before issue 14 (app_secrets), which a server retires.
func (k SigningKeys) LegacyPublished() bool {
	if len(k.Seed) != ed25519.SeedSize || k.Published == nil {
		return false
	}
	return ed25519.NewKeyFromSeed(k.Seed).Public().(ed25519.PublicKey).Equal(ed25519.PublicKey(k.Published))
}

// PublishSigningKey records pub as the key exports and checkpoints are
// signed with from now on, and adds it to the keys that ever signed.
func (db *DB) PublishSigningKey(ctx context.Context, pub []byte) error {
	_, err := db.pool.Exec(ctx, `
		WITH history AS (
		    INSERT INTO audit_signing_keys (public_key) VALUES ($2)
		    ON CONFLICT (public_key) DO NOTHING
		)
		INSERT INTO app_secrets (name, value) VALUES ($1, $2)
		ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value`, publishedKeyName, pub)
	if err != nil {
		return fmt.Errorf("publish signing key: %w", err)
	}
	return nil
}

// ForgetLegacySigningSeed deletes the private key kept in the database
// before issue 14, once a server has retired it.
func (db *DB) ForgetLegacySigningSeed(ctx context.Context) error {
	if _, err := db.pool.Exec(ctx, `DELETE FROM app_secrets WHERE name = $1`, SigningKeySecret); err != nil {
		return fmt.Errorf("delete the retired signing key: %w", err)
	}
	return nil
}

// PublishedKey is a key that signed exports or checkpoints.
type PublishedKey struct {
	PublicKey   ed25519.PublicKey
	PublishedAt time.Time // first published
}

// SigningKeyHistory lists every key that ever signed, oldest first.
func (db *DB) SigningKeyHistory(ctx context.Context) ([]PublishedKey, error) {
	rows, err := db.pool.Query(ctx, `SELECT public_key, published_at FROM audit_signing_keys ORDER BY n`)
	if err != nil {
		return nil, fmt.Errorf("read signing keys: %w", err)
	}
	keys, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (PublishedKey, error) {
		var k PublishedKey
		var pub []byte
		err := row.Scan(&pub, &k.PublishedAt)
		k.PublicKey = pub
		return k, err
	})
	if err != nil {
		return nil, fmt.Errorf("read signing keys: %w", err)
	}
	return keys, nil
}
