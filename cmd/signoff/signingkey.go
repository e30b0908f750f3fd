package main

// The audit signing key. The server and every command find it the same
// way (resolveKey):
//
//  1. SIGNING_KEY or SIGNING_KEY_FILE (parsed by config.Load);
//  2. DATA_DIR/signing.key, generated on first use: outside the database,
//     whichever database it is, so that whoever can read the database
//     cannot sign.
//
// The database records the public key the server signs with: each server
// publishes its key there as it starts, and every key that ever signed is
// kept (audit_signing_keys), so `signoff keys` lists the earlier ones that
// verify what they signed before a rotation. That record is what keeps
// everyone on one key. A key is generated only for a database that records
// none, so no process ever makes a second key beside the server's. A
// command whose key is not the published one is refused, since nobody
// could verify what it signs. A server may publish another key only if an
// operator chose it (configured, or a key file put in DATA_DIR): that is a
// key rotation, and it is logged.
//
// Before issue 14 a server with DATABASE_URL and no key kept its key in the
// database (app_secrets). A server that finds such a key retires it: it
// signs from then on with a new key in DATA_DIR (or the configured one),
// deletes the old seed, and the old public key stays listed as an earlier
// key. Commands may still sign with it until a server has retired it.

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/signoff/signoff/internal/audit"
	"github.com/signoff/signoff/internal/postgres"
)

// signingKeyFile is where the embedded default keeps its generated key.
const signingKeyFile = "signing.key"

// signingKey is a process's audit signing key and where it came from.
type signingKey struct {
	*audit.Signer
	source string // for messages: SIGNING_KEY, SIGNING_KEY_FILE, the key file's path, or "the database"
	// chosen: the key is configured or kept in DATA_DIR, rather than the
	// legacy one kept in the database (which only a command still uses,
	// until a server retires it).
	chosen bool
}

// Signer returns the key a command signs with: the key the server
// publishes, or an error saying why this process does not hold it.
func (a *App) Signer(ctx context.Context) (*audit.Signer, error) {
	stored, err := a.DB.SigningKeys(ctx)
	if err != nil {
		return nil, err
	}
	k, err := a.resolveKey(stored, false)
	if err != nil {
		return nil, err
	}
	if stored.Published != nil && !k.Public().Equal(ed25519.PublicKey(stored.Published)) {
		return nil, fmt.Errorf("%s holds signing key %s, but the server signs with key %s (the one it publishes), so what this command signs would not verify against it; "+
			"give it the server's key: the same SIGNING_KEY_FILE, or, with the embedded database, the server's DATA_DIR and no DATABASE_URL",
			k.source, k.Fingerprint(), audit.Fingerprint(stored.Published))
	}
	a.warnIfInDatabase(k)
	return k.Signer, nil
}

// serverSigner is Serve's Signer: the key the server signs with is the
// one it publishes, in the database as at /.well-known/signoff-signing-key.
func (a *App) serverSigner(ctx context.Context) (*audit.Signer, error) {
	stored, err := a.DB.SigningKeys(ctx)
	if err != nil {
		return nil, err
	}
	k, err := a.resolveKey(stored, true)
	if err != nil {
		return nil, err
	}
	switch {
	case stored.LegacyPublished():
		a.Logger.Warn("retiring the audit signing key kept in the database, where whoever could read the database could sign: exports and checkpoints are signed with the key outside it from now on; those signed before verify with the old key, which `signoff keys` lists",
			"old_key_fingerprint", audit.Fingerprint(stored.Published), "key_fingerprint", k.Fingerprint(), "key_source", k.source)
	case stored.Published != nil && !k.Public().Equal(ed25519.PublicKey(stored.Published)):
		a.Logger.Warn("the audit signing key changed: exports are signed with the new key from now on; those signed before verify with the old one",
			"old_key_fingerprint", audit.Fingerprint(stored.Published), "key_fingerprint", k.Fingerprint(), "key_source", k.source)
	}
	if err := a.DB.PublishSigningKey(ctx, k.Public()); err != nil {
		return nil, err
	}
	if stored.Seed != nil {
		if err := a.DB.ForgetLegacySigningSeed(ctx); err != nil {
			return nil, err
		}
	}
	return k.Signer, nil
}

// resolveKey finds this process's key (see the top of this file). stored
// is what the database holds; a key is generated only when it records no
// published key, or (for a server) when the published key is the legacy
// one kept in the database, which a server retires.
func (a *App) resolveKey(stored postgres.SigningKeys, server bool) (signingKey, error) {
	cfg := a.Config
	if cfg.SigningKey != nil {
		return signingKey{audit.NewSigner(cfg.SigningKey), cfg.SigningKeySource, true}, nil
	}
	legacy := stored.LegacyPublished()
	if legacy && !server {
		if _, err := os.Stat(filepath.Join(cfg.DataDir, signingKeyFile)); errors.Is(err, fs.ErrNotExist) {
			s, err := audit.SignerFromSeed(stored.Seed)
			if err != nil {
				return signingKey{}, fmt.Errorf("signing key in the database: %w", err)
			}
			return signingKey{s, "the database", false}, nil
		}
	}
	published := stored.Published
	if legacy {
		published = nil // retired: a new key may be made
	}
	return dataDirKey(cfg.DataDir, published)
}

// warnIfInDatabase says, once per process, what signing with a key kept in
// the database costs (a command, until a server retires that key).
func (a *App) warnIfInDatabase(k signingKey) {
	if k.chosen {
		return
	}
	a.Logger.Warn("this command signs with the audit signing key kept in the database, where anyone who can read the database can sign; "+
		"the next server to start retires it (see docs/audit.md)", "key_fingerprint", k.Fingerprint())
}

// dataDirKey reads DATA_DIR/signing.key, creating it (mode 0600) with a new
// key the first time: only while the database publishes no key, since a
// new key would not be the one exports were signed with so far.
func dataDirKey(dir string, published []byte) (signingKey, error) {
	path := filepath.Join(dir, signingKeyFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		if published != nil {
			return signingKey{}, fmt.Errorf("%s is missing, but this database's exports are signed with key %s: restore the file, or set SIGNING_KEY_FILE to the key to sign with from now on",
				path, audit.Fingerprint(published))
		}
		if err := createKeyFile(dir, path); err != nil {
			return signingKey{}, fmt.Errorf("signing key: %w", err)
		}
		b, err = os.ReadFile(path)
	}
	if err != nil {
		return signingKey{}, fmt.Errorf("signing key: %w", err)
	}
	k, err := audit.ParsePrivateKey(string(b))
	if err != nil {
		return signingKey{}, fmt.Errorf("%s: %w", path, err)
	}
	return signingKey{audit.NewSigner(k), path, true}, nil
}

// createKeyFile writes a new base64 Ed25519 seed to path, readable by its
// owner only. If another process created the file first, its key stands.
func createKeyFile(dir, path string) error {
	// Searchable, not listable: the embedded cluster's folder inside it must
	// be reachable by the unprivileged user PostgreSQL runs as; the key file
	// itself is the owner's only.
	if err := os.MkdirAll(dir, 0o711); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	if err != nil {
		return err
	}
	seed := make([]byte, ed25519.SeedSize)
	rand.Read(seed) // never fails (crypto/rand)
	_, err = f.WriteString(base64.StdEncoding.EncodeToString(seed) + "\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
	}
	return err
}
