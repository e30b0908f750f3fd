package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/signoff/signoff/internal/audit"
	"github.com/signoff/signoff/internal/config"
	"github.com/signoff/signoff/internal/postgres"
)

// signingKeyFile is where the embedded default keeps its generated key.
const signingKeyFile = "signing.key"

// configuredSigner returns the audit signing key when it needs no database:
// SIGNING_KEY, SIGNING_KEY_FILE, or (with the embedded database) the key
// generated once in DATA_DIR/signing.key. It returns nil when the key is
// the one kept in the configured database.
func configuredSigner(cfg *config.Config) (*audit.Signer, error) {
	switch {
	case cfg.SigningKey != "" && cfg.SigningKeyFile != "":
		return nil, errors.New("set SIGNING_KEY or SIGNING_KEY_FILE, not both")
	case cfg.SigningKey != "":
		k, err := audit.ParsePrivateKey(cfg.SigningKey)
		if err != nil {
			return nil, fmt.Errorf("SIGNING_KEY: %w", err)
		}
		return audit.NewSigner(k), nil
	case cfg.SigningKeyFile != "":
		b, err := os.ReadFile(cfg.SigningKeyFile)
		if err != nil {
			return nil, fmt.Errorf("SIGNING_KEY_FILE: %w", err)
		}
		k, err := audit.ParsePrivateKey(string(b))
		if err != nil {
			return nil, fmt.Errorf("SIGNING_KEY_FILE %s: %w", cfg.SigningKeyFile, err)
		}
		return audit.NewSigner(k), nil
	case cfg.DatabaseURL == "":
		return dataDirSigner(cfg.DataDir)
	}
	return nil, nil
}

// dataDirSigner reads DATA_DIR/signing.key, creating it (mode 0600) with a
// new key the first time.
func dataDirSigner(dir string) (*audit.Signer, error) {
	path := filepath.Join(dir, signingKeyFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		if err := createKeyFile(dir, path); err != nil {
			return nil, fmt.Errorf("signing key: %w", err)
		}
		b, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, fmt.Errorf("signing key: %w", err)
	}
	k, err := audit.ParsePrivateKey(string(b))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return audit.NewSigner(k), nil
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

// databaseSigner is the key kept in the database, generated the first time
// so that every instance shares it.
func databaseSigner(ctx context.Context, db *postgres.DB, logger *slog.Logger) (*audit.Signer, error) {
	seed, err := db.SigningSeed(ctx)
	if err != nil {
		return nil, fmt.Errorf("signing key: %w", err)
	}
	s, err := audit.SignerFromSeed(seed)
	if err != nil {
		return nil, err
	}
	logger.Warn("the audit signing key is kept in the database, where anyone who can read the database can sign; "+
		"set SIGNING_KEY_FILE to a key kept elsewhere (see docs/audit.md)", "key_fingerprint", s.Fingerprint())
	return s, nil
}

// Signer returns the app's audit signing key (see configuredSigner); with
// DATABASE_URL and no key configured, the one kept in the database.
func (a *App) Signer(ctx context.Context) (*audit.Signer, error) {
	s, err := configuredSigner(a.Config)
	if err != nil || s != nil {
		return s, err
	}
	return databaseSigner(ctx, a.DB, a.Logger)
}
