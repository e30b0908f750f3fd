package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/signoff/signoff/internal/audit"
	"github.com/signoff/signoff/internal/config"
	"github.com/signoff/signoff/internal/transparency"
)

const exportUsage = "usage: signoff export ID [--format json|csv|pdf|md] [-o FILE]"

// cmdExport writes one deployment's export to stdout or a file.
func cmdExport(ctx context.Context, cfg *config.Config, logger *slog.Logger, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("export", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	format := fs.String("format", "json", "json, csv, pdf or md")
	out := fs.String("o", "", "file to write (default: standard output)")
	if err := fs.Parse(reorder(args)); err != nil || fs.NArg() != 1 {
		return usageError(exportUsage)
	}
	id, err := strconv.ParseInt(fs.Arg(0), 10, 64)
	if err != nil || id <= 0 {
		return usageError(fmt.Sprintf("%q is not a deployment id; %s", fs.Arg(0), exportUsage))
	}
	switch *format {
	case "json", "csv", "pdf", "md":
	default:
		return usageError(fmt.Sprintf("unknown format %q: use json, csv, pdf or md", *format))
	}
	app, err := openApp(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer app.Close()
	signer, err := app.Signer(ctx)
	if err != nil {
		return err
	}
	read := app.DB.DeploymentRecord
	if *format == "json" {
		if err := app.openLog(ctx, signer); err != nil {
			return err
		}
		read = app.DB.SignedRecord // with its proof in the transparency log
	}
	rec, err := read(ctx, id)
	if err != nil {
		return errors.New(messageOf(err))
	}
	now := time.Now()
	var buf bytes.Buffer
	switch *format {
	case "json":
		var b []byte
		if b, err = audit.JSON(rec, signer, now); err == nil {
			buf.Write(b)
		}
	case "csv":
		err = audit.CSV(&buf, rec)
	case "pdf":
		err = audit.PDF(&buf, rec, now, audit.PDFOptions{Fingerprint: signer.Fingerprint()})
	case "md":
		err = audit.Markdown(&buf, rec, now)
	}
	if err != nil {
		return err
	}
	if *out == "" || *out == "-" {
		_, err = buf.WriteTo(stdout)
		return err
	}
	n := buf.Len()
	if err := writeFileAtomic(*out, buf.Bytes()); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s: %s export of deployment %d (%s), %d audit events, %d bytes\n",
		*out, *format, id, rec.Deployment.Name(), len(rec.Events), n)
	return nil
}

// writeFileAtomic writes a file whole or not at all.
func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, errors.Unwrap(err))
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return os.Rename(tmp.Name(), path)
}

const verifyUsage = "usage: signoff verify FILE.json [--key PUBLIC_KEY_BASE64_OR_FILE] [--witness WITNESS_KEY ...]"

// cmdVerify checks an export offline. It reads no configuration and opens
// no database: an auditor runs it anywhere.
func cmdVerify(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("verify", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	keyArg := fs.String("key", "", "the server's public key: base64, PEM, or a file holding either")
	var witnessArgs stringList
	fs.Var(&witnessArgs, "witness", "a witness's verifier key (or a file holding it) whose cosignature the record's log checkpoint must carry; repeatable")
	if err := fs.Parse(reorder(args)); err != nil || fs.NArg() != 1 {
		return usageError(verifyUsage)
	}
	var witnesses []note.Verifier
	for _, arg := range witnessArgs {
		if b, err := os.ReadFile(arg); err == nil {
			arg = string(b)
		}
		v, err := transparency.ParseWitnessKey(arg)
		if err != nil {
			return usageError(fmt.Sprintf("--witness: %v", err))
		}
		witnesses = append(witnesses, v)
	}
	file := fs.Arg(0)
	data, err := os.ReadFile(file)
	if err != nil {
		return fmt.Errorf("verify %s: %w", file, errors.Unwrap(err))
	}
	var key []byte
	if *keyArg != "" {
		k, err := readPublicKey(*keyArg)
		if err != nil {
			return usageError(fmt.Sprintf("--key: %v", err))
		}
		key = k
	}
	res, err := audit.Verify(data, key, witnesses...)
	if err != nil {
		return fmt.Errorf("verify %s: FAILED: %w", file, err)
	}
	fmt.Fprintln(stdout, res.Summary())
	return nil
}

// readPublicKey takes a key given on the command line, or the name of a
// file holding one.
func readPublicKey(arg string) ([]byte, error) {
	if b, err := os.ReadFile(arg); err == nil {
		return audit.ParsePublicKey(string(b))
	}
	k, err := audit.ParsePublicKey(arg)
	if err != nil {
		return nil, fmt.Errorf("%q is neither a readable file nor a public key (base64 or PEM)", arg)
	}
	return k, nil
}

// cmdKeys prints the public half of the audit signing key: what the
// well-known URL serves, for auditors to keep. It resolves the key as
// export does, so it refuses where export would.
func cmdKeys(ctx context.Context, cfg *config.Config, logger *slog.Logger, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("keys", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	asJSON := fs.Bool("json", false, "print JSON")
	if err := fs.Parse(args); err != nil || fs.NArg() != 0 {
		return usageError("usage: signoff keys [--json]")
	}
	app, err := openApp(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer app.Close()
	signer, err := app.Signer(ctx)
	if err != nil {
		return err
	}
	history, err := app.DB.SigningKeyHistory(ctx)
	if err != nil {
		return err
	}
	var earlier []earlierKey
	for _, k := range history {
		if !k.PublicKey.Equal(signer.Public()) {
			earlier = append(earlier, earlierKey{PublicKey: base64.StdEncoding.EncodeToString(k.PublicKey),
				Fingerprint: audit.Fingerprint(k.PublicKey), PublishedAt: k.PublishedAt.UTC().Format(time.RFC3339)})
		}
	}
	// The transparency log's name and key, for witnesses (none before a
	// server first named the log).
	var logOrigin, logKey string
	if origin, err := app.DB.LogOrigin(ctx); err == nil {
		if logKey, err = transparency.LogVerifierKey(origin, signer.Public()); err != nil {
			return err
		}
		logOrigin = origin
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(keysJSON{PublicKeyJSON: audit.PublicKeyInfo(signer.Public()), LogOrigin: logOrigin, LogKey: logKey, Earlier: earlier})
	}
	if _, err = io.WriteString(stdout, audit.PublicKeyText(signer.Public())); err != nil {
		return err
	}
	if logKey != "" {
		fmt.Fprintf(stdout, "\n# Transparency log %s; its key, for witnesses (signoff witness --log-key):\n# %s\n", logOrigin, logKey)
	}
	if len(earlier) > 0 {
		fmt.Fprintln(stdout, "\n# Earlier keys: each verifies what it signed before it was replaced.")
	}
	for _, k := range earlier {
		fmt.Fprintf(stdout, "# %s, first published %s\n%s\n", k.Fingerprint, k.PublishedAt, k.PublicKey)
	}
	return nil
}

// keysJSON is `signoff keys --json`: the current key, and the earlier keys
// that still verify what they signed.
type keysJSON struct {
	audit.PublicKeyJSON
	LogOrigin string       `json:"log_origin,omitempty"` // the transparency log's name
	LogKey    string       `json:"log_key,omitempty"`    // its verifier key, for witnesses
	Earlier   []earlierKey `json:"earlier"`
}

type earlierKey struct {
	PublicKey   string `json:"public_key"`
	Fingerprint string `json:"fingerprint"`
	PublishedAt string `json:"published_at"`
}
