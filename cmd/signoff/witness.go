package main

// signoff witness: an independent witness of a Signoff server's
// transparency log (docs/audit.md, "Witnesses"). It runs apart from the
// server, on an auditor's or a second team's machine, with its own key and
// state. Every interval it reads the log's newest checkpoint, checks that
// it extends the last one it cosigned (a consistency proof), reads the new
// entries (verified against the checkpoint) and checks that every chain
// only grew (each entry the next of its chain, linked to the last hash)
// and that the checkpoint's chain heads are those entries' heads. Then it
// records the new state and cosigns (c2sp.org/tlog-cosignature), posting
// the cosignature to the server. Anything else is a fork: it cosigns
// nothing, logs an error, counts it in signoff_witness_refused_total,
// writes the evidence into its state folder, and exits with status 3; it
// refuses to start again on that log until an operator looks.

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"filippo.io/torchwood"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/signoff/signoff/internal/audit"
	"github.com/signoff/signoff/internal/transparency"
)

const witnessUsage = `usage: signoff witness --log URL --log-key KEY [--state DIR] [--name NAME] [--interval 10s] [--once] [--listen ADDR]
       signoff witness key [--state DIR] [--name NAME]   print this witness's verifier key`

// errFork is a refusal: the log is not an extension of what was cosigned.
var errFork = errors.New("the log forked")

// forkExit is the exit status of a witness that refused a checkpoint.
const forkExit = 3

// witnessState is what a witness keeps between polls (state.json).
type witnessState struct {
	Name       string `json:"name"`
	Origin     string `json:"origin,omitempty"`
	Size       int64  `json:"size"`
	Root       string `json:"root,omitempty"`       // base64
	Checkpoint string `json:"checkpoint,omitempty"` // the last signed note cosigned
	// Heads is every chain's head as of Size: chain -> "<seq> <sha256 hex>".
	Heads map[int64]string `json:"heads"`
	// Fork, once set, says why the witness refused the log: it cosigns it
	// no more.
	Fork string `json:"fork,omitempty"`
}

type witness struct {
	dir     string
	state   witnessState
	signer  *torchwood.CosignatureSigner
	logKey  note.Verifier
	logURL  string // …/.well-known/signoff-log/
	client  *http.Client
	logger  *slog.Logger
	metrics *witnessMetrics
}

type witnessMetrics struct {
	reg      *prometheus.Registry
	cosigned prometheus.Counter
	refused  prometheus.Counter
	size     prometheus.Gauge
}

func newWitnessMetrics() *witnessMetrics {
	m := &witnessMetrics{reg: prometheus.NewRegistry(),
		cosigned: prometheus.NewCounter(prometheus.CounterOpts{Name: "signoff_witness_cosigned_total", Help: "Checkpoints this witness cosigned."}),
		refused:  prometheus.NewCounter(prometheus.CounterOpts{Name: "signoff_witness_refused_total", Help: "Checkpoints this witness refused: the log forked."}),
		size:     prometheus.NewGauge(prometheus.GaugeOpts{Name: "signoff_witness_log_size", Help: "Size of the last checkpoint cosigned."}),
	}
	m.reg.MustRegister(m.cosigned, m.refused, m.size)
	return m
}

// cmdWitness runs a witness, or prints its key.
func cmdWitness(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	printKey := len(args) > 0 && args[0] == "key"
	if printKey {
		args = args[1:]
	}
	fs := flag.NewFlagSet("witness", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	logURL := fs.String("log", "", "the Signoff server's base URL")
	logKey := fs.String("log-key", "", "the log's verifier key, as `signoff keys` prints it")
	dir := fs.String("state", "signoff-witness", "folder of the witness's key and state")
	name := fs.String("name", "", "the witness's name (first run only), e.g. witness.example.com/signoff")
	interval := fs.Duration("interval", 10*time.Second, "how often to poll the log")
	once := fs.Bool("once", false, "poll once and exit")
	listen := fs.String("listen", "", "serve /metrics on this address")
	if err := fs.Parse(args); err != nil || fs.NArg() != 0 || *interval <= 0 {
		return usageError(witnessUsage)
	}
	logger := slog.New(slog.NewJSONHandler(stderr, nil))
	w, err := openWitness(*dir, *name, logger)
	if err != nil {
		return err
	}
	if printKey {
		fmt.Fprintln(stdout, w.signer.Verifier().String())
		return nil
	}
	if *logURL == "" || *logKey == "" {
		return usageError(witnessUsage)
	}
	if w.logKey, err = note.NewVerifier(strings.TrimSpace(*logKey)); err != nil {
		return usageError(fmt.Sprintf("--log-key: %v", err))
	}
	w.logURL = strings.TrimSuffix(*logURL, "/") + "/.well-known/signoff-log/"
	w.client = &http.Client{Timeout: 30 * time.Second}
	if *listen != "" {
		ln, err := net.Listen("tcp", *listen)
		if err != nil {
			return fmt.Errorf("--listen: %w", err)
		}
		srv := &http.Server{Handler: promhttp.HandlerFor(w.metrics.reg, promhttp.HandlerOpts{}), ReadHeaderTimeout: 10 * time.Second}
		go srv.Serve(ln)
		defer srv.Close()
	}
	return w.run(ctx, *interval, *once)
}

// run polls until ctx ends (or once); a fork ends it with exit status 3.
func (w *witness) run(ctx context.Context, interval time.Duration, once bool) error {
	if w.state.Fork != "" {
		return w.refuse(fmt.Errorf("%w earlier: %s (see %s)", errFork, w.state.Fork, filepath.Join(w.dir, "fork-evidence.txt")), nil)
	}
	w.logger.Info("witness started", "name", w.state.Name, "log", w.logKey.Name(), "size", w.state.Size, "key", w.signer.Verifier().String())
	for {
		err := w.poll(ctx)
		if errors.Is(err, errFork) {
			return err
		}
		if err != nil && ctx.Err() == nil {
			w.logger.Warn("witness: poll failed; trying again", "err", err)
		}
		w.writeMetrics()
		if once {
			return err
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(interval):
		}
	}
}

// poll reads the newest checkpoint and cosigns it if it extends the last.
func (w *witness) poll(ctx context.Context) error {
	signed, err := w.get(ctx, "checkpoint")
	if err != nil {
		return err
	}
	c, n, err := transparency.Open(signed, w.logKey)
	if err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	switch {
	case w.state.Origin != "" && c.Origin != w.state.Origin:
		return w.refuse(fmt.Errorf("%w: the log's origin changed from %s to %s", errFork, w.state.Origin, c.Origin), signed)
	case c.Size < w.state.Size:
		return w.refuse(fmt.Errorf("%w: the log shrank from %d to %d leaves", errFork, w.state.Size, c.Size), signed)
	case c.Size == w.state.Size:
		if base64.StdEncoding.EncodeToString(c.Root[:]) != w.state.Root {
			return w.refuse(fmt.Errorf("%w: two different trees of %d leaves", errFork, c.Size), signed)
		}
		if w.state.Checkpoint != "" && !strings.HasPrefix(w.state.Checkpoint, n.Text) {
			return w.refuse(fmt.Errorf("%w: checkpoint %d signed again with other chain heads", errFork, c.Size), signed)
		}
		if hasSignature(n, w.signer) {
			return nil
		}
		return w.cosign(ctx, n, c)
	}
	if err := w.checkGrowth(ctx, c); err != nil {
		if errors.Is(err, errFork) {
			return w.refuse(err, signed)
		}
		return err
	}
	w.state.Origin, w.state.Size = c.Origin, c.Size
	w.state.Root = base64.StdEncoding.EncodeToString(c.Root[:])
	w.state.Checkpoint = string(signed)
	// The state is saved before the cosignature leaves: a witness that
	// crashed after cosigning never cosigns a conflicting tree.
	if err := w.save(); err != nil {
		return err
	}
	return w.cosign(ctx, n, c)
}

// checkGrowth checks that c extends the state: a consistency proof from
// the last size, then every new entry the next of its chain, then the
// chain heads the checkpoint commits to. It updates w.state.Heads.
func (w *witness) checkGrowth(ctx context.Context, c transparency.Checkpoint) error {
	if w.state.Size > 0 {
		body, err := w.get(ctx, fmt.Sprintf("proof/consistency?old=%d&new=%d", w.state.Size, c.Size))
		if err != nil {
			return err
		}
		proof, err := transparency.ParseProof(body)
		if err != nil {
			return err
		}
		old, err := tlog.ParseHash(w.state.Root)
		if err != nil {
			return fmt.Errorf("state: root: %w", err)
		}
		if err := tlog.CheckTree(tlog.TreeProof(proof), c.Size, c.Root, w.state.Size, old); err != nil {
			return fmt.Errorf("%w: checkpoint %d is not an extension of checkpoint %d this witness cosigned: %v", errFork, c.Size, w.state.Size, err)
		}
	}
	heads, err := w.readEntries(ctx, c)
	if err != nil {
		return err
	}
	root, err := heads.Root()
	if err != nil {
		return err
	}
	if int64(len(heads)) != c.Chains || root != c.Heads {
		return fmt.Errorf("%w: checkpoint %d names %d chain heads with root %s, but its entries give %d with root %s",
			errFork, c.Size, c.Chains, c.Heads, len(heads), root)
	}
	return nil
}

// readEntries reads the entries from the state's size to c's, verified
// against c's tree, and checks each extends its chain. It returns the
// chain heads as of c (and keeps them in the state).
func (w *witness) readEntries(ctx context.Context, c transparency.Checkpoint) (transparency.Heads, error) {
	client, err := torchwood.NewClient(witnessTiles{w})
	if err != nil {
		return nil, err
	}
	heads := map[int64]transparency.Head{}
	for chain, h := range w.state.Heads {
		if heads[chain], err = parseStateHead(chain, h); err != nil {
			return nil, err
		}
	}
	tree := tlog.Tree{N: c.Size, Hash: c.Root}
	for next := w.state.Size; next < c.Size; {
		for i, b := range client.Entries(ctx, tree, next) {
			e, err := transparency.ParseEntry(b)
			if err != nil {
				return nil, fmt.Errorf("%w: leaf %d: %v", errFork, i, err)
			}
			if !e.Follows(heads[e.Chain]) {
				return nil, fmt.Errorf("%w: leaf %d is %s event %d, which does not extend that chain (its head was event %d): a chain was rewritten",
					errFork, i, transparency.ChainName(e.Chain), e.Seq, heads[e.Chain].Seq)
			}
			heads[e.Chain] = transparency.HeadOf(e)
			next = i + 1
		}
		if err := client.Err(); errors.Is(err, errMissingTile) {
			return nil, fmt.Errorf("%w: the log cannot serve the entries of checkpoint %d it signed: %v", errFork, c.Size, err)
		} else if err != nil {
			return nil, fmt.Errorf("read the log's entries: %w", err)
		}
	}
	out := make(transparency.Heads, 0, len(heads))
	w.state.Heads = make(map[int64]string, len(heads))
	for _, h := range heads {
		out = append(out, h)
		w.state.Heads[h.Chain] = strconv.FormatInt(h.Seq, 10) + " " + hex.EncodeToString(h.Hash[:])
	}
	slices.SortFunc(out, func(a, b transparency.Head) int { return int(min(max(a.Chain-b.Chain, -1), 1)) })
	return out, nil
}

// cosign signs the checkpoint and posts the cosignature to the server.
func (w *witness) cosign(ctx context.Context, n *note.Note, c transparency.Checkpoint) error {
	cosigned, err := note.Sign(n, w.signer)
	if err != nil {
		return fmt.Errorf("cosign: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.logURL+"cosignature", bytes.NewReader(cosigned))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "text/plain; charset=utf-8")
	res, err := w.client.Do(req)
	if err != nil {
		return fmt.Errorf("post cosignature: %w", err)
	}
	defer res.Body.Close()
	if res.StatusCode/100 != 2 {
		body, _ := io.ReadAll(io.LimitReader(res.Body, 512))
		return fmt.Errorf("post cosignature: %s: %s", res.Status, bytes.TrimSpace(body))
	}
	w.metrics.cosigned.Inc()
	w.metrics.size.Set(float64(c.Size))
	w.logger.Info("witness: cosigned", "log", c.Origin, "size", c.Size, "root", c.Root.String())
	return nil
}

// refuse records a fork: the state says so, the evidence is written, the
// metric counts it, the log says it, and the witness exits with status 3.
func (w *witness) refuse(err error, signed []byte) error {
	w.metrics.refused.Inc()
	w.writeMetrics()
	w.logger.Error("witness: REFUSED the log's checkpoint: the log is not an extension of what this witness cosigned",
		"log", w.logKey.Name(), "cosigned_size", w.state.Size, "err", err)
	if w.state.Fork == "" {
		w.state.Fork = err.Error()
		evidence := "refused: " + err.Error() + "\n\nlast cosigned checkpoint:\n" + w.state.Checkpoint + "\nrefused checkpoint:\n" + string(signed)
		if werr := writeFileAtomic(filepath.Join(w.dir, "fork-evidence.txt"), []byte(evidence)); werr != nil {
			w.logger.Error("witness: cannot write the evidence", "err", werr)
		}
		if serr := w.save(); serr != nil {
			w.logger.Error("witness: cannot save the state", "err", serr)
		}
	}
	return exitError{code: forkExit, err: err}
}

// errMissingTile is a tile the log says it does not have (404): one of a
// checkpoint it signed is a log that cannot back what it signed.
var errMissingTile = errors.New("the log has no such tile")

// witnessTiles reads the log's tiles (c2sp.org/tlog-tiles paths) for
// torchwood's client, telling a missing tile from a failure.
type witnessTiles struct{ w *witness }

func (t witnessTiles) ReadTiles(ctx context.Context, tiles []tlog.Tile) ([][]byte, error) {
	data := make([][]byte, len(tiles))
	for i, tile := range tiles {
		b, err := t.w.get(ctx, torchwood.TilePath(tile))
		if err != nil {
			return nil, err
		}
		data[i] = b
	}
	return data, nil
}

func (witnessTiles) SaveTiles([]tlog.Tile, [][]byte) {}

func (t witnessTiles) ReadEndpoint(ctx context.Context, path string) ([]byte, error) {
	return t.w.get(ctx, path)
}

func (w *witness) get(ctx context.Context, path string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, w.logURL+path, nil)
	if err != nil {
		return nil, err
	}
	res, err := w.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", path, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", path, err)
	}
	switch res.StatusCode {
	case http.StatusOK:
	case http.StatusNotFound:
		return nil, fmt.Errorf("get %s: %w: %s", path, errMissingTile, bytes.TrimSpace(body))
	default:
		return nil, fmt.Errorf("get %s: %s", path, res.Status)
	}
	return body, nil
}

func (w *witness) writeMetrics() {
	if err := prometheus.WriteToTextfile(filepath.Join(w.dir, "witness.prom"), w.metrics.reg); err != nil {
		w.logger.Warn("witness: cannot write witness.prom", "err", err)
	}
}

// openWitness reads (or, the first time, creates) the witness's key and
// state in dir.
func openWitness(dir, name string, logger *slog.Logger) (*witness, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("witness state: %w", err)
	}
	w := &witness{dir: dir, logger: logger, metrics: newWitnessMetrics(), state: witnessState{Heads: map[int64]string{}}}
	b, err := os.ReadFile(filepath.Join(dir, "state.json"))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if name == "" {
			host, _ := os.Hostname()
			name = host + "/signoff-witness"
		}
		w.state.Name = name
		if err := w.save(); err != nil {
			return nil, err
		}
	case err != nil:
		return nil, fmt.Errorf("witness state: %w", err)
	default:
		if err := json.Unmarshal(b, &w.state); err != nil {
			return nil, fmt.Errorf("witness state %s: %w", filepath.Join(dir, "state.json"), err)
		}
		if w.state.Heads == nil {
			w.state.Heads = map[int64]string{}
		}
	}
	if name != "" && name != w.state.Name {
		return nil, fmt.Errorf("this witness is named %s; its name cannot change", w.state.Name)
	}
	key, err := witnessKey(filepath.Join(dir, "witness.key"))
	if err != nil {
		return nil, err
	}
	if w.signer, err = transparency.NewWitnessSigner(w.state.Name, key); err != nil {
		return nil, fmt.Errorf("witness key: %w", err)
	}
	w.metrics.size.Set(float64(w.state.Size))
	return w, nil
}

// witnessKey reads the witness's Ed25519 key, generating it (mode 0600)
// the first time.
func witnessKey(path string) (ed25519.PrivateKey, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		seed := make([]byte, ed25519.SeedSize)
		rand.Read(seed) // never fails (crypto/rand)
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return nil, fmt.Errorf("witness key: %w", err)
		}
		_, err = f.WriteString(base64.StdEncoding.EncodeToString(seed) + "\n")
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return nil, fmt.Errorf("witness key: %w", err)
		}
		return ed25519.NewKeyFromSeed(seed), nil
	}
	if err != nil {
		return nil, fmt.Errorf("witness key: %w", err)
	}
	return audit.ParsePrivateKey(string(b))
}

func (w *witness) save() error {
	b, err := json.MarshalIndent(w.state, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(w.dir, "state.json"), append(b, '\n'))
}

func parseStateHead(chain int64, s string) (transparency.Head, error) {
	seq, hash, ok := strings.Cut(s, " ")
	h := transparency.Head{Chain: chain}
	n, err := strconv.ParseInt(seq, 10, 64)
	b, herr := hex.DecodeString(hash)
	if !ok || err != nil || herr != nil || len(b) != transparency.HashSize {
		return h, fmt.Errorf("witness state: bad head of chain %d", chain)
	}
	h.Seq = n
	copy(h.Hash[:], b)
	return h, nil
}

func hasSignature(n *note.Note, s note.Signer) bool {
	for _, sig := range append(n.Sigs, n.UnverifiedSigs...) {
		if sig.Name == s.Name() && sig.Hash == s.KeyHash() {
			return true
		}
	}
	return false
}

// exitError makes main exit with a status of its own.
type exitError struct {
	code int
	err  error
}

func (e exitError) Error() string { return e.err.Error() }
func (e exitError) Unwrap() error { return e.err }
