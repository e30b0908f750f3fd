// Command signoff is the whole of Signoff in one binary: the web server
// (the default) and the commands that manage it from a shell.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/signoff/signoff/internal/config"
)

const usage = `Usage: signoff [command]

Commands:
  serve                          run the web app (the default)
  migrate up|down|status         manage the database schema
  template import FILE [--name SLUG] [--new-version]
                                 import a Markdown checklist; an existing template's next
                                 version only with --new-version (or --name naming it)
  template export NAME           print a template's Markdown (title or slug), byte for byte
  user add --email E --name N [--admin] [--auditor] [--role R ...]
                                 create a person (password from SIGNOFF_PASSWORD or stdin)
  demo                           fill an empty database with demo people and deployments
  fill -n N [--seed S] [--span D] [--log=false]
                                 add N realistic deployments of the seed template (for scale tests)
  bench-scale [--runs N]         time every list, search, the deployment page and an export
  export ID [--format json|csv|pdf|md] [-o FILE]
                                 export one deployment (JSON: the signed audit record)
  verify FILE.json [--key KEY] [--witness WKEY ...]
                                 check an exported record offline (no database, no configuration);
                                 --witness requires that witness's cosignature of its log checkpoint
  witness --log URL --log-key KEY [--state DIR] [--once]
                                 witness a server's transparency log: cosign what extends it, refuse forks
  witness key [--state DIR]      print this witness's verifier key (for WITNESS_KEYS and verify --witness)
  keys [--json]                  print the public key that signs audit exports
  token create --name NAME --user EMAIL
                                 issue an API token acting as a person (prints its secret once)
  token list                     list API tokens (never their secrets)
  token revoke ID                revoke an API token at once
  healthcheck                    exit 0 if the server on ADDR answers /readyz (for containers)

Configuration comes from environment variables; see the README.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr); err != nil {
		// One line naming the problem; details are in the log for serve.
		msg := strings.ReplaceAll(err.Error(), "\n", " ")
		fmt.Fprintln(os.Stderr, "signoff: "+msg)
		var ue usageError
		var ee exitError
		switch {
		case errors.As(err, &ue):
			os.Exit(2)
		case errors.As(err, &ee):
			os.Exit(ee.code)
		}
		os.Exit(1)
	}
}

// usageError is a mistake in the command line (exit status 2).
type usageError string

func (e usageError) Error() string { return string(e) }

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 0 {
		cmd, args = args[0], args[1:]
	}
	if cmd == "help" || cmd == "-h" || cmd == "--help" {
		fmt.Fprint(stdout, usage)
		return nil
	}
	switch cmd {
	case "verify":
		// Offline: no configuration, no database.
		return cmdVerify(args, stdout)
	case "witness":
		// Apart from the server: its own key and state, no configuration.
		return cmdWitness(ctx, args, stdout, stderr)
	}
	// Every setting is checked before any command creates or starts
	// anything.
	cfg, err := config.FromEnv()
	if err != nil {
		return err
	}
	if cmd == "healthcheck" {
		return cmdHealthcheck(ctx, cfg, stdout)
	}
	logger := newLogger(cfg, stderr, cmd != "serve")
	switch cmd {
	case "serve":
		return cmdServe(ctx, cfg, logger)
	case "migrate":
		return cmdMigrate(ctx, cfg, logger, args, stdout)
	case "template":
		return cmdTemplate(ctx, cfg, logger, args, stdout, stderr)
	case "user":
		return cmdUser(ctx, cfg, logger, args, stdin, stdout)
	case "demo":
		return cmdDemo(ctx, cfg, logger, stdout)
	case "fill":
		return cmdFill(ctx, cfg, logger, args, stdout, stderr)
	case "bench-scale":
		return cmdBenchScale(ctx, cfg, logger, args, stdout)
	case "export":
		return cmdExport(ctx, cfg, logger, args, stdout)
	case "keys":
		return cmdKeys(ctx, cfg, logger, args, stdout)
	case "token":
		return cmdToken(ctx, cfg, logger, args, stdout, stderr)
	case "sign":
		return cmdSign()
	}
	return usageError(fmt.Sprintf("unknown command %q (try `signoff help`)", cmd))
}

// newLogger logs at LOG_LEVEL; shell commands other than serve only say
// something when it matters (warnings), so their output stays readable.
func newLogger(cfg *config.Config, w io.Writer, quiet bool) *slog.Logger {
	var level slog.Level
	level.UnmarshalText([]byte(cfg.LogLevel))
	if quiet && level < slog.LevelWarn {
		level = slog.LevelWarn
	}
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

func cmdServe(ctx context.Context, cfg *config.Config, logger *slog.Logger) error {
	app := NewApp(cfg, logger)
	app.Hosting = true
	defer app.Close()
	// The port first: a taken ADDR then costs nothing (no cluster started,
	// no setup link printed that would never work).
	if err := app.Listen(); err != nil {
		return err
	}
	if err := app.OpenDB(ctx, true); err != nil {
		return err
	}
	return app.Serve(ctx)
}

// cmdHealthcheck asks the local server whether it is ready: container
// images have no curl, so the binary checks itself.
func cmdHealthcheck(ctx context.Context, cfg *config.Config, stdout io.Writer) error {
	host, port, err := net.SplitHostPort(cfg.Addr) // checked by config.Load
	if err != nil {
		return fmt.Errorf("ADDR %q: %w", cfg.Addr, err)
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+net.JoinHostPort(host, port)+"/readyz", nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("not ready: %w", err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("not ready: /readyz answered %s", res.Status)
	}
	fmt.Fprintln(stdout, "ready")
	return nil
}
